// Limits as rows, through the admission controller: rows evaluated together,
// service-scoped data quotas in units or requests, windows (hour, UTC day,
// minute, calendar month), shadow rows, shared counters, refunds per row,
// and a row added by a reload.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/admission_fixture.h"

namespace quotad {
namespace {

constexpr char kRows[] = R"pb(
  tiers { name: "interactive" }
  tiers { name: "data" claimable: true }
  limits {
    name: "client_daily"
    counts: [ PART_IP, PART_USER_AGENT ]
    tiers: "interactive"
    limit: 3
  }
  limits { name: "ip_daily" counts: PART_IP tiers: "interactive" limit: 5 }
  limits {
    name: "data_units_daily"
    counts: PART_INTEGRATION
    tiers: "data"
    service: "data/*"
    window: CALENDAR_DAY_UTC
    limit: 10
  }
  limits {
    name: "data_requests_hourly"
    counts: PART_INTEGRATION
    tiers: "data"
    service: "data/*"
    window: HOUR_UTC
    limit: 4
    cost: COST_REQUESTS
  }
  limits {
    name: "tests_daily"
    counts: [ PART_IP, PART_USER_AGENT ]
    tiers: "data"
    service: "!data/*"
    limit: 2
  }
  max_cost: 5
)pb";

class LimitRowsTest : public AdmissionTest {
 protected:
  LimitRowsTest() { SetPolicy(kRows); }

  static v1::AcquireRequest Data(const std::string& service, int64_t cost,
                                 const std::string& integration = "lab-1") {
    v1::AcquireRequest r = Req("198.51.100.9", "data-client/1");
    r.set_integration_id(integration);
    r.set_integration_tier("data");
    r.set_service(service);
    r.set_cost(cost);
    return r;
  }
};

TEST_F(LimitRowsTest, AnIpCapAndAnIpPlusUserAgentCapAreEvaluatedTogether) {
  // Three a day per User-Agent, five per address whatever the User-Agent:
  // rotating the UA string buys no more than the address cap.
  int admitted = 0;
  for (int ua = 0; ua < 4; ++ua) {
    for (int i = 0; i < 3; ++i) {
      const auto r = Acquire(Req("192.0.2.50", absl::StrCat("agent/", ua)));
      admitted += r.allowed();
      if (!r.allowed()) {
        EXPECT_EQ(r.reason(), v1::REASON_DAILY_LIMIT);
        EXPECT_TRUE(r.has_retry_after());
      }
    }
  }
  EXPECT_EQ(admitted, 5);
  const auto denied = Acquire(Req("192.0.2.50", "agent/9"));
  ASSERT_FALSE(denied.allowed());
  ASSERT_NE(FindLimit(denied, "ip_daily"), nullptr);
  EXPECT_TRUE(FindLimit(denied, "ip_daily")->exceeded());
  EXPECT_FALSE(FindLimit(denied, "client_daily")->exceeded());
  // Another address is untouched.
  EXPECT_TRUE(Acquire(Req("192.0.2.51", "agent/0")).allowed());
}

TEST_F(LimitRowsTest, ADataQuotaCountsUnitsPerDayAndRequestsPerHourForDataServicesOnly) {
  // Units: 4 + 3 fit in 10, another 4 does not.
  EXPECT_TRUE(Acquire(Data("data/bigquery", 4)).allowed());
  EXPECT_TRUE(Acquire(Data("data/gcs", 3)).allowed());
  const auto over = Acquire(Data("data/bigquery", 4));
  EXPECT_FALSE(over.allowed());
  EXPECT_EQ(over.reason(), v1::REASON_SERVICE_QUOTA);
  EXPECT_TRUE(FindLimit(over, "data_units_daily")->exceeded());
  EXPECT_EQ(FindLimit(over, "data_units_daily")->used(), 7);
  // Requests: 2 so far; two more of cost 1 fill the hour's 4.
  EXPECT_TRUE(Acquire(Data("data/gcs", 1)).allowed());
  EXPECT_TRUE(Acquire(Data("data/gcs", 1)).allowed());
  const auto hourly = Acquire(Data("data/gcs", 1));
  EXPECT_FALSE(hourly.allowed());
  EXPECT_TRUE(FindLimit(hourly, "data_requests_hourly")->exceeded());
  EXPECT_FALSE(FindLimit(hourly, "data_units_daily")->exceeded());  // 9 of 10
  EXPECT_EQ(FindLimit(hourly, "data_requests_hourly")->used(), 4);
  // The hour frees on the hour (10:30 -> 11:00), the units at midnight.
  EXPECT_EQ(FromProto(FindLimit(hourly, "data_requests_hourly")->reset_time()),
            At("2026-11-26T11:00:00Z"));
  clock_.Advance(absl::Minutes(30));
  EXPECT_TRUE(Acquire(Data("data/gcs", 1)).allowed());
  EXPECT_FALSE(Acquire(Data("data/gcs", 2)).allowed());  // 10 units used
  // A test by the same data user counts against tests_daily, not the data rows.
  const auto test = Acquire(Data("ndt/ndt7", 1));
  ASSERT_TRUE(test.allowed());
  ASSERT_EQ(test.limits_size(), 1);
  EXPECT_EQ(test.limits(0).name(), "tests_daily");
  // Another integration has its own quota.
  EXPECT_TRUE(Acquire(Data("data/gcs", 4, "lab-2")).allowed());
}

TEST_F(LimitRowsTest, ARowThatCountsTheIntegrationDoesNotApplyWithoutOne) {
  v1::AcquireRequest r = Data("data/gcs", 1);
  r.clear_integration_id();
  r.clear_integration_tier();
  r.set_client_name("lab-1");  // self-declared: spends no integration's quota
  const auto resp = Acquire(r);
  ASSERT_TRUE(resp.allowed());
  EXPECT_EQ(resp.tier(), "interactive");
  EXPECT_EQ(FindLimit(resp, "data_units_daily"), nullptr);
}

TEST_F(LimitRowsTest, RowsOverTheSameCountShareOneCounterAndEachRefundGivesItsOwnAmount) {
  SetPolicy(absl::StrCat(kRows, R"pb(
    limits {
      name: "client_hourly"
      counts: [ PART_USER_AGENT, PART_IP ]
      tiers: "interactive"
      window: HOUR_UTC
      limit: 2
    }
  )pb"));
  auto first = Req("192.0.2.60", "x/1");
  first.set_request_id("r-1");
  first.set_cost(2);
  const auto r = Acquire(first);
  ASSERT_TRUE(r.allowed());
  // The day row and the hour row read one counter: both say 2.
  EXPECT_EQ(FindLimit(r, "client_daily")->used(), 2);
  EXPECT_EQ(FindLimit(r, "client_hourly")->used(), 2);
  EXPECT_FALSE(Acquire(Req("192.0.2.60", "x/1")).allowed());  // the hour is full
  auto explained = admission_->Explain(Req("192.0.2.60", "x/1"));
  ASSERT_TRUE(explained.ok());
  ASSERT_EQ(explained->counters.size(), 3u);
  EXPECT_EQ(explained->counters[0].id, explained->counters[2].id);
  EXPECT_EQ(explained->counters[0].id.space, KeySpace::kClient);
  EXPECT_EQ(explained->counters[1].id.space, KeySpace::kCount);

  // A data request of cost 3 charged 3 units and 1 request; its refund gives
  // back exactly that.
  auto data = Data("data/gcs", 3);
  data.set_request_id("d-1");
  ASSERT_TRUE(Acquire(data).allowed());
  auto refund = admission_->Refund([] {
    v1::RefundRequest q;
    q.set_request_id("d-1");
    return q;
  }());
  ASSERT_TRUE(refund.ok()) << refund.status();
  EXPECT_EQ(refund->refunded_cost(), 3);
  EXPECT_EQ(Used(Data("data/gcs", 1), "data_units_daily"), 0);
  EXPECT_EQ(Used(Data("data/gcs", 1), "data_requests_hourly"), 0);
}

TEST_F(LimitRowsTest, AShadowRowReportsButNeitherRefusesNorDelays) {
  SetPolicy(absl::StrCat(kRows, R"pb(
    limits { name: "ip_trial" counts: PART_IP tiers: "interactive" limit: 1 enforce: false }
  )pb"));
  EXPECT_TRUE(Acquire(Req("192.0.2.70", "y")).allowed());
  const auto r = Acquire(Req("192.0.2.70", "y"));
  EXPECT_TRUE(r.allowed());
  EXPECT_TRUE(r.shadow_denied());
  EXPECT_EQ(r.reason(), v1::REASON_DAILY_LIMIT);
  EXPECT_TRUE(FindLimit(r, "ip_trial")->exceeded());
  // Room is left in every enforced row, so an interactive client may come
  // back at once.
  EXPECT_EQ(FromProto(r.next_request()), clock_.Now());
  // An enforced row that refuses names its own reason, not the shadow row's.
  const auto third = Acquire(Req("192.0.2.70", "y"));
  EXPECT_TRUE(third.allowed());
  const auto fourth = Acquire(Req("192.0.2.70", "y"));
  EXPECT_FALSE(fourth.allowed());
  EXPECT_FALSE(fourth.shadow_denied());
  EXPECT_TRUE(FindLimit(fourth, "client_daily")->exceeded());
}

TEST_F(LimitRowsTest, ARowAddedByAReloadKeepsEveryExistingCounter) {
  ASSERT_TRUE(Acquire(Req("192.0.2.80", "z")).allowed());
  ASSERT_TRUE(Acquire(Req("192.0.2.80", "z")).allowed());
  auto before = admission_->Explain(Req("192.0.2.80", "z"));
  ASSERT_TRUE(before.ok());
  SetPolicy(absl::StrCat(kRows, R"pb(
    limits { name: "group_daily" counts: PART_ADDRESS_GROUP tiers: "interactive" limit: 100 }
  )pb"));
  auto after = admission_->Explain(Req("192.0.2.80", "z"));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->counters.size(), 3u);
  EXPECT_EQ(after->counters[0].id, before->counters[0].id);
  EXPECT_EQ(after->counters[1].id, before->counters[1].id);
  EXPECT_EQ(Used(Req("192.0.2.80", "z")), 2);
  EXPECT_EQ(Used(Req("192.0.2.80", "z"), "ip_daily"), 2);
  EXPECT_EQ(Used(Req("192.0.2.80", "z"), "group_daily"), 0);  // counts from now on
}

constexpr char kMinuteAndMonth[] = R"pb(
  tiers { name: "interactive" daily_limit: 40 }
  tiers { name: "data" claimable: true }
  limits {
    name: "data_per_minute"
    counts: PART_INTEGRATION
    tiers: "data"
    service: "data/*"
    window: MINUTE_UTC
    limit: 2
    cost: COST_REQUESTS
  }
  limits {
    name: "data_monthly"
    counts: PART_INTEGRATION
    tiers: "data"
    service: "data/*"
    window: CALENDAR_MONTH_UTC
    limit: 12
  }
  limits {
    name: "data_hourly"
    counts: PART_INTEGRATION
    tiers: "data"
    service: "data/*"
    window: HOUR_UTC
    limit: 100
    cost: COST_REQUESTS
  }
  max_cost: 5
)pb";

TEST_F(LimitRowsTest, AMinuteWindowFreesOnTheMinuteAndAMonthWindowOnTheFirst) {
  SetPolicy(kMinuteAndMonth);
  // 10:30: two requests a minute.
  EXPECT_TRUE(Acquire(Data("data/gcs", 1)).allowed());
  EXPECT_TRUE(Acquire(Data("data/gcs", 1)).allowed());
  const auto fast = Acquire(Data("data/gcs", 1));
  EXPECT_FALSE(fast.allowed());
  EXPECT_EQ(fast.reason(), v1::REASON_SERVICE_QUOTA);
  EXPECT_TRUE(FindLimit(fast, "data_per_minute")->exceeded());
  EXPECT_EQ(FromProto(FindLimit(fast, "data_per_minute")->reset_time()),
            At("2026-11-26T10:31:00Z"));
  clock_.Advance(absl::Seconds(59));
  EXPECT_FALSE(Acquire(Data("data/gcs", 1)).allowed());
  clock_.Advance(absl::Seconds(1));  // 10:31:00
  const auto next = Acquire(Data("data/gcs", 5));
  ASSERT_TRUE(next.allowed());
  EXPECT_EQ(FindLimit(next, "data_per_minute")->used(), 1);
  EXPECT_EQ(FindLimit(next, "data_monthly")->used(), 7);
  // The month: 7 of 12 units, then 12; more fits again on 2026-12-01 00:00
  // UTC, days later.
  clock_.Advance(absl::Minutes(1));
  const auto full = Acquire(Data("data/gcs", 5));
  EXPECT_TRUE(full.allowed());
  clock_.Advance(absl::Minutes(1));
  const auto over = Acquire(Data("data/gcs", 1));
  EXPECT_FALSE(over.allowed());
  EXPECT_TRUE(FindLimit(over, "data_monthly")->exceeded());
  EXPECT_EQ(FromProto(FindLimit(over, "data_monthly")->reset_time()), At("2026-12-01T00:00:00Z"));
  clock_.Set(At("2026-11-30T23:59:59Z"));
  EXPECT_EQ(Used(Data("data/gcs", 1), "data_monthly"), 12);
  EXPECT_FALSE(Acquire(Data("data/gcs", 1)).allowed());
  clock_.Set(At("2026-12-01T00:00:00Z"));
  EXPECT_TRUE(Acquire(Data("data/gcs", 1)).allowed());
  // Another integration never shared any of it.
  EXPECT_TRUE(Acquire(Data("data/gcs", 1, "lab-2")).allowed());
}

TEST_F(LimitRowsTest, RowsOverTheSamePartsInDifferentBucketUnitsUseDifferentCounters) {
  SetPolicy(kMinuteAndMonth);
  auto explained = admission_->Explain(Data("data/gcs", 1));
  ASSERT_TRUE(explained.ok()) << explained.status();
  ASSERT_EQ(explained->counters.size(), 3u);
  EXPECT_NE(explained->counters[0].id, explained->counters[1].id);  // minute vs day buckets
  EXPECT_NE(explained->counters[0].id, explained->counters[2].id);  // minute vs hour buckets
  EXPECT_NE(explained->counters[1].id, explained->counters[2].id);
}

}  // namespace
}  // namespace quotad
