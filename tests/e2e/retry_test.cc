// Safe retries across regions (three real nodes): an admitted request_id
// travels with its charge, so a retry of it on another node replays the
// first answer and charges nothing, a Refund on any node gives the charge
// back everywhere, a replay after it says so, and a request_id replayed by
// another client is refused.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::LocalCluster;
using testing::TempDir;

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.StartAll().ok()); }

  static v1::AcquireRequest Req(const std::string& ip, const std::string& request_id) {
    v1::AcquireRequest req;
    req.set_ip(ip);
    req.set_user_agent("locate-retry/1");
    req.set_request_id(request_id);
    return req;
  }
  int64_t Used(int node, const v1::AcquireRequest& req) {
    auto r = cluster_.Client(node).Check(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->limits(0).used() : -1;
  }
  absl::Status AwaitUsedEverywhere(const v1::AcquireRequest& req, int64_t expected) {
    return testing::Await(
        absl::StrCat("every node counts ", expected), absl::Seconds(20), [&]() -> absl::Status {
          for (int i = 0; i < 3; ++i) {
            const int64_t used = Used(i, req);
            if (used != expected) {
              return absl::UnavailableError(absl::StrCat(LocalCluster::Name(i), " counts ", used));
            }
          }
          return absl::OkStatus();
        });
  }

  TempDir dir_;
  LocalCluster cluster_{dir_, 3, absl::Milliseconds(100)};
};

TEST_F(RetryTest, ARetryOnAnotherNodeReplaysAndARefundAnywhereGivesTheChargeBack) {
  const auto req = Req("198.51.100.61", "locate-7f3a");
  auto first = cluster_.Client(0).Acquire(req);
  ASSERT_TRUE(first.ok() && first->allowed()) << first.status();
  ASSERT_TRUE(AwaitUsedEverywhere(req, 1).ok());

  // Failover: the same request_id on n2 is the first answer, charged once.
  auto retry = cluster_.Client(1).Acquire(req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed());
  EXPECT_EQ(retry->node_id(), first->node_id());
  EXPECT_EQ(retry->next_request().seconds(), first->next_request().seconds());
  EXPECT_EQ(Used(1, req), 1);

  // Another client replaying it is refused, on any node.
  auto stolen = cluster_.Client(2).Acquire(Req("198.51.100.62", "locate-7f3a"));
  EXPECT_EQ(stolen.status().code(), absl::StatusCode::kInvalidArgument) << stolen.status();

  // The token was not handed out: Refund on n3.
  v1::RefundRequest refund;
  refund.set_request_id("locate-7f3a");
  auto refunded = cluster_.Client(2).Refund(refund);
  ASSERT_TRUE(refunded.ok()) << refunded.status();
  EXPECT_TRUE(refunded->refunded());
  EXPECT_EQ(refunded->refunded_cost(), 1);
  ASSERT_TRUE(AwaitUsedEverywhere(req, 0).ok());

  // n1, which admitted it, learns it was refunded: a replay says so and a
  // second Refund there gives nothing back twice.
  ASSERT_TRUE(testing::Await("n1 replays the refund", absl::Seconds(20), [&]() -> absl::Status {
                auto r = cluster_.Client(0).Acquire(req);
                if (!r.ok()) return r.status();
                if (r->replayed() && r->refunded()) return absl::OkStatus();
                return absl::UnavailableError(
                    absl::StrCat("replayed=", r->replayed(), " refunded=", r->refunded()));
              }).ok());
  auto again = cluster_.Client(0).Refund(refund);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->refunded());
  EXPECT_EQ(Used(0, req), 0);
}

}  // namespace
}  // namespace quotad
