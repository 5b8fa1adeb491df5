// Envoy's rate limit service on a real node's quota listener, called with
// the generated C++ stub of proto/envoy (the Python client in tests/envoy/
// checks the same wire format from Envoy's field numbers alone): the same
// decision, counters and idempotency as Acquire.
#include <memory>
#include <string>

#include "client/quota_client.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

namespace rls = ::envoy::service::ratelimit::v3;
using testing::QuotadProcess;
using testing::TempDir;

class RlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<QuotadProcess>(dir_.Sub("node"), dir_.Sub("node.log"),
                                            std::vector<std::string>{});
    ASSERT_TRUE(node_->Start().ok());
    stub_ = rls::RateLimitService::NewStub(
        grpc::CreateChannel(node_->target(), grpc::InsecureChannelCredentials()));
    client_ = std::make_unique<client::QuotaClient>(
        client::MakeQuotaConnection({node_->target(), absl::Seconds(10)}));
  }

  static rls::RateLimitRequest Request(const std::string& ip, const std::string& request_id = "") {
    rls::RateLimitRequest r;
    r.set_domain("ndt");
    auto* who = r.add_descriptors();
    auto* e = who->add_entries();
    e->set_key("remote_address");
    e->set_value(ip);
    e = who->add_entries();
    e->set_key("user_agent");
    e->set_value("ndt7-js/0.0.6");
    e = r.add_descriptors()->add_entries();
    e->set_key("generic_key");
    e->set_value("ndt7");
    if (!request_id.empty()) {
      e = r.add_descriptors()->add_entries();
      e->set_key("request_id");
      e->set_value(request_id);
    }
    return r;
  }

  grpc::Status Call(const rls::RateLimitRequest& req, rls::RateLimitResponse* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->ShouldRateLimit(&ctx, req, resp);
  }

  static std::string Header(const rls::RateLimitResponse& r, const std::string& key) {
    for (const auto& h : r.response_headers_to_add()) {
      if (h.key() == key) return h.value();
    }
    return "<absent>";
  }

  TempDir dir_;
  std::unique_ptr<QuotadProcess> node_;
  std::unique_ptr<rls::RateLimitService::Stub> stub_;
  std::unique_ptr<client::QuotaClient> client_;
};

TEST_F(RlsTest, AnInteractiveClientGetsFortyThenOverLimitOnEveryDescriptor) {
  for (int i = 0; i < 40; ++i) {
    rls::RateLimitResponse resp;
    ASSERT_TRUE(Call(Request("192.0.2.10"), &resp).ok());
    ASSERT_EQ(resp.overall_code(), rls::RateLimitResponse::OK) << i;
  }
  rls::RateLimitResponse over;
  ASSERT_TRUE(Call(Request("192.0.2.10"), &over).ok());
  EXPECT_EQ(over.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(over.statuses_size(), 2);
  for (const auto& s : over.statuses()) {
    EXPECT_EQ(s.code(), rls::RateLimitResponse::OVER_LIMIT);
    EXPECT_EQ(s.current_limit().name(), "client_daily");
    EXPECT_EQ(s.current_limit().requests_per_unit(), 40u);
    EXPECT_EQ(s.current_limit().unit(), rls::RateLimitResponse::RateLimit::DAY);
    EXPECT_EQ(s.limit_remaining(), 0u);
    EXPECT_GT(s.duration_until_reset().seconds(), 0);
  }
  EXPECT_NE(Header(over, "retry-after"), "<absent>");
  EXPECT_EQ(Header(over, "x-quotad-reason"), "REASON_DAILY_LIMIT");
  EXPECT_EQ(Header(over, "ratelimit-remaining"), "0");
}

TEST_F(RlsTest, EnvoyAndAcquireChargeTheSameCountersWithTheSameIdempotency) {
  // Two through Envoy's API (one replayed), one through Acquire.
  rls::RateLimitResponse resp;
  ASSERT_TRUE(Call(Request("192.0.2.20", "req-1"), &resp).ok());
  ASSERT_EQ(resp.overall_code(), rls::RateLimitResponse::OK);
  ASSERT_TRUE(Call(Request("192.0.2.20", "req-1"), &resp).ok());
  ASSERT_EQ(resp.overall_code(), rls::RateLimitResponse::OK);
  v1::AcquireRequest acquire;
  acquire.set_ip("192.0.2.20");
  acquire.set_user_agent("ndt7-js/0.0.6");
  acquire.set_service("ndt/ndt7");
  auto admitted = client_->Acquire(acquire);
  ASSERT_TRUE(admitted.ok()) << admitted.status();
  EXPECT_EQ(admitted->limits(0).name(), "client_daily");
  EXPECT_EQ(admitted->limits(0).used(), 2);
  // The Refund of Envoy's request_id works through QuotaService.
  v1::RefundRequest refund;
  refund.set_request_id("req-1");
  auto refunded = client_->Refund(refund);
  ASSERT_TRUE(refunded.ok()) << refunded.status();
  EXPECT_TRUE(refunded->refunded());
  ASSERT_TRUE(Call(Request("192.0.2.20"), &resp).ok());
  EXPECT_EQ(Header(resp, "ratelimit-remaining"), "38");
}

TEST_F(RlsTest, AnUnmappableRequestIsInvalidArgumentAndChargesNothing) {
  auto req = Request("192.0.2.30");
  auto* e = req.mutable_descriptors(0)->add_entries();
  e->set_key("destination_cluster");
  e->set_value("ndt-backends");
  rls::RateLimitResponse resp;
  const grpc::Status s = Call(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("unknown key 'destination_cluster'"));
  ASSERT_TRUE(Call(Request("192.0.2.30"), &resp).ok());
  EXPECT_EQ(Header(resp, "ratelimit-remaining"), "39");
}

}  // namespace
}  // namespace quotad
