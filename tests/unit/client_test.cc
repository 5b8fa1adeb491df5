#include "client/quota_client.h"

#include "client/mocks/mock_quota_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quotad::client {
namespace {

using ::testing::_;
using ::testing::Return;

TEST(QuotaClientTest, DelegatesToTheConnection) {
  auto mock = std::make_shared<MockQuotaConnection>();
  v1::AcquireResponse allowed;
  allowed.set_allowed(true);
  EXPECT_CALL(*mock, Acquire(_)).WillOnce(Return(allowed));
  EXPECT_CALL(*mock, Refund(_)).WillOnce(Return(absl::UnavailableError("down")));
  QuotaClient client(mock);
  EXPECT_TRUE(client.Acquire(v1::AcquireRequest())->allowed());
  EXPECT_EQ(client.Refund(v1::RefundRequest()).status().code(), absl::StatusCode::kUnavailable);
}

TEST(QuotaClientTest, AnUnreachableNodeFailsFastWithinTheDeadline) {
  // Port 1 on loopback: nothing listens there; the call must end by its
  // deadline with an error the caller can fail open on.
  QuotaClient client(MakeQuotaConnection({"127.0.0.1:1", absl::Milliseconds(300)}));
  v1::AcquireRequest req;
  req.set_ip("192.0.2.1");
  const absl::Time start = absl::Now();
  auto r = client.Acquire(req);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status()) || absl::IsDeadlineExceeded(r.status()))
      << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

}  // namespace
}  // namespace quotad::client
