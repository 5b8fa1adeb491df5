// Envoy RLS v3 <-> quotad translation (quotad/service/envoy_rls.h): which
// descriptor entries fill which request fields, what is refused, and what
// an answer looks like to Envoy.
#include "quotad/service/envoy_rls.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

rls::RateLimitRequest Request(
    const std::string& domain,
    std::vector<std::vector<std::pair<std::string, std::string>>> descriptors, uint32_t hits = 0) {
  rls::RateLimitRequest r;
  r.set_domain(domain);
  r.set_hits_addend(hits);
  for (const auto& d : descriptors) {
    auto* descriptor = r.add_descriptors();
    for (const auto& [k, v] : d) {
      auto* e = descriptor->add_entries();
      e->set_key(k);
      e->set_value(v);
    }
  }
  return r;
}

std::string Header(const rls::RateLimitResponse& r, const std::string& key) {
  for (const auto& h : r.response_headers_to_add()) {
    if (h.key() == key) return h.value();
  }
  return "<absent>";
}

TEST(EnvoyRlsTest, EntriesOfEveryDescriptorMakeOneRequest) {
  auto req = ToAcquireRequest(Request(
      "ndt",
      {{{"remote_address", "192.0.2.7"}, {"user_agent", "ndt7-js/1.0"}},
       {{"generic_key", "ndt7"}},
       {{"integration_id", "lab-1"}, {"integration_tier", "2"}, {"client_name", "murakami"}},
       {{"request_id", "r-9"}, {"remote_address", "192.0.2.7"}}},
      3));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->ip(), "192.0.2.7");
  EXPECT_EQ(req->user_agent(), "ndt7-js/1.0");
  EXPECT_EQ(req->service(), "ndt/ndt7");
  EXPECT_EQ(req->integration_id(), "lab-1");
  EXPECT_EQ(req->integration_tier(), "2");
  EXPECT_EQ(req->client_name(), "murakami");
  EXPECT_EQ(req->request_id(), "r-9");
  EXPECT_EQ(req->cost(), 3);
}

TEST(EnvoyRlsTest, TheDomainIsTheServiceWithoutAServiceEntryAndZeroHitsCountOne) {
  auto req = ToAcquireRequest(Request("data", {{{"remote_address", "2001:db8::1"}}}));
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->service(), "data");
  EXPECT_EQ(req->cost(), 1);
  auto with_service =
      ToAcquireRequest(Request("data", {{{"remote_address", "2001:db8::1"}, {"service", "gcs"}}}));
  EXPECT_EQ(with_service->service(), "data/gcs");
}

TEST(EnvoyRlsTest, ADescriptorsOwnHitsAddendOverridesTheRequestsAndMustAgree) {
  auto r = Request("ndt", {{{"remote_address", "192.0.2.7"}}, {{"generic_key", "x"}}}, 2);
  r.mutable_descriptors(1)->mutable_hits_addend()->set_value(5);
  EXPECT_EQ(ToAcquireRequest(r)->cost(), 5);
  r.mutable_descriptors(0)->mutable_hits_addend()->set_value(4);
  const auto disagree = ToAcquireRequest(r);
  EXPECT_EQ(disagree.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(disagree.status().message()), HasSubstr("descriptors[1].hits_addend"));
}

TEST(EnvoyRlsTest, UnmappableRequestsAreRefusedNamingTheField) {
  struct Case {
    rls::RateLimitRequest request;
    const char* expected;
  };
  auto limited = Request("ndt", {{{"remote_address", "192.0.2.7"}}});
  limited.mutable_descriptors(0)->mutable_limit()->set_requests_per_unit(10);
  const Case cases[] = {
      {Request("", {{{"remote_address", "192.0.2.7"}}}), "domain: required"},
      {Request("ndt", {}), "descriptors: at least one"},
      {Request("ndt", {{{"remote_address", "192.0.2.7"}, {"destination_cluster", "x"}}}),
       "unknown key 'destination_cluster'"},
      {Request("ndt", {{{"remote_address", "192.0.2.7"}}, {{"remote_address", "192.0.2.8"}}}),
       "'remote_address' given twice with different values"},
      {Request("ndt", {{{"generic_key", "a"}, {"service", "b"}, {"remote_address", "192.0.2.7"}}}),
       "'service' given twice"},
      {Request("ndt", {{{"user_agent", "x"}}}), "no remote_address entry"},
      {limited, "descriptors[0].limit"},
  };
  for (const Case& c : cases) {
    const auto r = ToAcquireRequest(c.request);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.expected));
  }
}

v1::LimitStatus Limit(const std::string& name, int64_t limit, int64_t used, v1::Window window,
                      bool exceeded, absl::Time reset) {
  v1::LimitStatus l;
  l.set_name(name);
  l.set_limit(limit);
  l.set_used(used);
  l.set_remaining(std::max<int64_t>(limit - used, 0));
  l.set_window(window);
  l.set_exceeded(exceeded);
  rpc::SetTimestamp(reset, l.mutable_reset_time());
  return l;
}

TEST(EnvoyRlsTest, ARefusalIsOverLimitOnEveryDescriptorWithTheRefusingRowAndRetryAfter) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  v1::AcquireResponse resp;
  resp.set_allowed(false);
  resp.set_reason(v1::REASON_DAILY_LIMIT);
  *resp.add_limits() = Limit("ip_daily", 400, 12, v1::ROLLING_24H, false, now + absl::Hours(3));
  *resp.add_limits() = Limit("client_daily", 40, 40, v1::ROLLING_24H, true, now + absl::Hours(5));
  rpc::SetDuration(absl::Seconds(90) + absl::Milliseconds(1), resp.mutable_retry_after());
  rpc::SetTimestamp(now + absl::Hours(5), resp.mutable_next_request());
  const auto out = ToRateLimitResponse(resp, 3, now);
  EXPECT_EQ(out.overall_code(), rls::RateLimitResponse::OVER_LIMIT);
  ASSERT_EQ(out.statuses_size(), 3);
  for (const auto& s : out.statuses()) {
    EXPECT_EQ(s.code(), rls::RateLimitResponse::OVER_LIMIT);
    EXPECT_EQ(s.current_limit().name(), "client_daily");
    EXPECT_EQ(s.current_limit().requests_per_unit(), 40u);
    EXPECT_EQ(s.current_limit().unit(), rls::RateLimitResponse::RateLimit::DAY);
    EXPECT_EQ(s.limit_remaining(), 0u);
    EXPECT_EQ(rpc::FromDuration(s.duration_until_reset()), absl::Hours(5));
  }
  EXPECT_EQ(Header(out, "retry-after"), "91");
  EXPECT_EQ(Header(out, "x-quotad-reason"), "REASON_DAILY_LIMIT");
  EXPECT_EQ(Header(out, "ratelimit-limit"), "40");
  EXPECT_EQ(Header(out, "ratelimit-remaining"), "0");
  EXPECT_EQ(Header(out, "ratelimit-reset"), "18000");
  EXPECT_EQ(Header(out, "x-quotad-next-request"), "2027-01-15T13:00:00Z");
}

TEST(EnvoyRlsTest, AnAdmissionReportsTheTightestLimitInItsUnit) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  v1::AcquireResponse resp;
  resp.set_allowed(true);
  *resp.add_limits() = Limit("data_units_daily", 500, 10, v1::CALENDAR_DAY_UTC, false, now);
  *resp.add_limits() = Limit("data_per_minute", 120, 119, v1::MINUTE_UTC, false, now);
  *resp.add_limits() = Limit("data_monthly", 9000, 10, v1::CALENDAR_MONTH_UTC, false, now);
  const auto out = ToRateLimitResponse(resp, 1, now);
  EXPECT_EQ(out.overall_code(), rls::RateLimitResponse::OK);
  ASSERT_EQ(out.statuses_size(), 1);
  EXPECT_EQ(out.statuses(0).current_limit().name(), "data_per_minute");
  EXPECT_EQ(out.statuses(0).current_limit().unit(), rls::RateLimitResponse::RateLimit::MINUTE);
  EXPECT_EQ(out.statuses(0).limit_remaining(), 1u);
  EXPECT_EQ(Header(out, "retry-after"), "<absent>");
  // Units of the other windows.
  resp.mutable_limits()->DeleteSubrange(1, 1);
  resp.mutable_limits(0)->set_remaining(10000);
  EXPECT_EQ(ToRateLimitResponse(resp, 1, now).statuses(0).current_limit().unit(),
            rls::RateLimitResponse::RateLimit::MONTH);
}

}  // namespace
}  // namespace quotad
