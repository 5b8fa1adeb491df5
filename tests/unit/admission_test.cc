#include "quotad/admission/admission_controller.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/await.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/fault_injecting_store.h"
#include "tests/testing/temp_dir.h"
#include "tests/unit/admission_fixture.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjectingStore;
using testing::TempDir;

TEST_F(AdmissionTest, InteractiveClientGetsFortyThenDailyLimitWithJitteredRetry) {
  const auto req = Req("192.0.2.7");
  for (int i = 1; i <= 40; ++i) {
    auto r = Acquire(req);
    ASSERT_TRUE(r.allowed()) << i;
    EXPECT_EQ(r.tier(), "interactive");
    EXPECT_EQ(FindLimit(r, "client_daily")->used(), i);
    EXPECT_EQ(FindLimit(r, "client_daily")->remaining(), 40 - i);
  }
  auto denied = Acquire(req);
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.reason(), v1::REASON_DAILY_LIMIT);
  EXPECT_TRUE(FindLimit(denied, "client_daily")->exceeded());
  EXPECT_EQ(FindLimit(denied, "client_daily")->used(), 40);
  // All 40 were charged in the 10:00 bucket, which leaves the rolling window
  // at 10:00 tomorrow; the client is told to come back then plus jitter.
  const absl::Time frees = At("2026-11-27T10:00:00Z");
  EXPECT_EQ(FromProto(FindLimit(denied, "client_daily")->reset_time()), frees);
  const absl::Time next = FromProto(denied.next_request());
  EXPECT_GE(next, frees);
  EXPECT_LT(next, frees + absl::Seconds(600));
  EXPECT_EQ(clock_.Now() + FromProto(denied.retry_after()), next);
  EXPECT_EQ(denied.node_id(), "n1");
  EXPECT_EQ(denied.region(), "eu");
}

TEST_F(AdmissionTest, TheAdmissionThatFillsTheWindowIsToldASpreadTimeNotTheBoundary) {
  const auto req = Req("192.0.2.9");
  for (int i = 1; i < 40; ++i) {
    auto r = Acquire(req);  // room left: come back any time
    ASSERT_TRUE(r.allowed());
    EXPECT_EQ(FromProto(r.next_request()), clock_.Now());
  }
  auto last = Acquire(req);
  ASSERT_TRUE(last.allowed());
  const absl::Time frees = At("2026-11-27T10:00:00Z");
  EXPECT_GE(FromProto(last.next_request()), frees);
  EXPECT_LT(FromProto(last.next_request()), frees + absl::Seconds(600));
}

TEST_F(AdmissionTest, RollingWindowFreesCapacityWhenTheOldestHourLeaves) {
  const auto req = Req("192.0.2.7");
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Acquire(req).allowed());
  clock_.Set(At("2026-11-27T09:59:59Z"));
  EXPECT_FALSE(Acquire(req).allowed());
  clock_.Set(At("2026-11-27T10:00:00Z"));
  auto r = Acquire(req);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(FindLimit(r, "client_daily")->used(), 1);
}

TEST_F(AdmissionTest, CalendarDayTierResetsAtUtcMidnight) {
  clock_.Set(At("2026-11-26T23:10:00Z"));
  const auto req = Req("192.0.2.7", "ua", "calendar");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire(req).allowed());
  auto denied = Acquire(req);
  ASSERT_FALSE(denied.allowed());
  EXPECT_EQ(denied.tier(), "daily");
  EXPECT_EQ(FromProto(FindLimit(denied, "client_daily")->reset_time()), At("2026-11-27T00:00:00Z"));
  clock_.Set(At("2026-11-26T23:59:59Z"));
  EXPECT_FALSE(Acquire(req).allowed());
  clock_.Set(At("2026-11-27T00:00:00Z"));
  EXPECT_TRUE(Acquire(req).allowed());
}

TEST_F(AdmissionTest, AutomatedClientGetsFourAndARandomizedNextRequest) {
  const auto req = Req("192.0.2.8", "python-requests", "murakami");
  for (int i = 0; i < 3; ++i) {  // the 4th is covered below: no capacity after it
    auto r = Acquire(req);
    ASSERT_TRUE(r.allowed());
    EXPECT_EQ(r.tier(), "automated");
    const absl::Duration wait = FromProto(r.next_request()) - clock_.Now();
    EXPECT_GE(wait, absl::Minutes(36));
    EXPECT_LE(wait, absl::Hours(15));
  }
  ASSERT_TRUE(Acquire(req).allowed());
  // Capacity is exhausted: never earlier than when it frees.
  auto denied = Acquire(req);
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.reason(), v1::REASON_DAILY_LIMIT);
  EXPECT_GE(FromProto(denied.next_request()), At("2026-11-27T10:00:00Z"));
}

TEST_F(AdmissionTest, AutomatedNextRequestNeverPrecedesFreedCapacity) {
  const auto req = Req("192.0.2.8", "x", "murakami");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire(req).allowed());
  auto last = Acquire(req);  // the 4th: no capacity left until tomorrow
  ASSERT_TRUE(last.allowed());
  EXPECT_GE(FromProto(last.next_request()), At("2026-11-27T10:00:00Z"));
}

TEST_F(AdmissionTest, ClientIsIpPlusUserAgentUnlessPolicySaysIpOnly) {
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Acquire(Req("192.0.2.7", "ua-one")).allowed());
  EXPECT_FALSE(Acquire(Req("192.0.2.7", "ua-one")).allowed());
  EXPECT_TRUE(Acquire(Req("192.0.2.7", "ua-two")).allowed());
  SetPolicy(absl::StrCat(kPolicy, "identity { client_key: IP_ONLY }"));
  EXPECT_EQ(Used(Req("192.0.2.9", "a")), 0);
  ASSERT_TRUE(Acquire(Req("192.0.2.9", "a")).allowed());
  EXPECT_EQ(Used(Req("192.0.2.9", "b")), 1);
}

TEST_F(AdmissionTest, GroupLimitCapsAnAddressGroup) {
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Acquire(Req(absl::StrCat("198.51.100.", i), "ua", "groupy")).allowed());
  }
  auto denied = Acquire(Req("198.51.100.77", "ua", "groupy"));
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.reason(), v1::REASON_GROUP_LIMIT);
  EXPECT_TRUE(FindLimit(denied, "group_daily")->exceeded());
  EXPECT_FALSE(FindLimit(denied, "client_daily")->exceeded());
  EXPECT_TRUE(Acquire(Req("198.51.101.1", "ua", "groupy")).allowed());  // another /24
  // IPv6: one /48 is one group.
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Acquire(Req(absl::StrCat("2001:db8:1:", i, "::1"), "ua", "groupy")).allowed());
  }
  EXPECT_EQ(Acquire(Req("2001:db8:1:ffff::9", "ua", "groupy")).reason(), v1::REASON_GROUP_LIMIT);
  EXPECT_TRUE(Acquire(Req("2001:db8:2::1", "ua", "groupy")).allowed());
}

TEST_F(AdmissionTest, RotatingPrivacyAddressesInsideOneSlash64IsOneClient) {
  for (int i = 0; i < 40; ++i) {  // a fresh address from the same /64 each time
    ASSERT_TRUE(Acquire(Req(absl::StrCat("2001:db8:7:1:", i, "::", i + 1))).allowed()) << i;
  }
  EXPECT_EQ(Acquire(Req("2001:db8:7:1:ffff::9")).reason(), v1::REASON_DAILY_LIMIT);
  EXPECT_TRUE(Acquire(Req("2001:db8:7:2::1")).allowed());  // the next /64: another client
  SetPolicy(absl::StrCat(kPolicy, "identity { ipv6_client_prefix: 128 }"));
  EXPECT_TRUE(Acquire(Req("2001:db8:7:1:ffff::9")).allowed());  // full address: a new client
}

TEST_F(AdmissionTest, IntegrationCapIsAnAggregateOverItsClients) {
  auto fleet = [](const std::string& ip) {
    auto req = Req(ip, "ua", "fleet");
    req.set_integration_id("fleet-7");
    return req;
  };
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(Acquire(fleet(absl::StrCat("10.0.", i, ".1"))).allowed());
  auto denied = Acquire(fleet("10.0.99.1"));
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.reason(), v1::REASON_INTEGRATION_LIMIT);
  EXPECT_EQ(FindLimit(denied, "integration_daily")->limit(), 5);
  // The tier default cap (50) applies to another integration.
  auto other = Req("10.0.99.1", "ua", "murakami");
  other.set_integration_id("murakami-org");
  EXPECT_TRUE(Acquire(other).allowed());
  EXPECT_EQ(FindLimit(Acquire(other), "integration_daily")->limit(), 50);
}

TEST_F(AdmissionTest, ASelfDeclaredClientNameSelectsATierButSpendsNoIntegrationsPool) {
  // "fleet" names the automated tier, but without the integration's id its
  // clients spend nothing of fleet-7's pool of 5.
  for (int i = 1; i <= 8; ++i) {
    auto r = Acquire(Req(absl::StrCat("10.2.", i, ".1"), "ua", "fleet"));
    ASSERT_TRUE(r.allowed()) << i;
    EXPECT_EQ(r.tier(), "automated");
    EXPECT_EQ(FindLimit(r, "integration_daily"), nullptr);
  }
  auto real = Req("10.3.0.1", "ua", "fleet");
  real.set_integration_id("fleet-7");
  EXPECT_EQ(FindLimit(Acquire(real), "integration_daily")->used(), 1);
}

TEST_F(AdmissionTest, RegisteredIntegrationClaimSelectsItsTier) {
  auto req = Req("192.0.2.50");
  req.set_integration_id("partner-42");
  req.set_integration_tier("2");
  auto r = Acquire(req);
  EXPECT_TRUE(r.allowed());
  EXPECT_EQ(r.tier(), "registered-2");
  EXPECT_EQ(FindLimit(r, "client_daily")->limit(), 6);
}

TEST_F(AdmissionTest, BannedPrefixIsDeniedWithNoComeBackTime) {
  auto r = Acquire(Req("203.0.113.5"));
  EXPECT_FALSE(r.allowed());
  EXPECT_EQ(r.reason(), v1::REASON_BANNED);
  EXPECT_EQ(r.tier(), "banned");
  EXPECT_FALSE(r.has_next_request());
  EXPECT_FALSE(r.has_retry_after());
  EXPECT_TRUE(Acquire(Req("203.0.114.5")).allowed());
}

TEST_F(AdmissionTest, ShadowModeAllowsAndChargesButReportsWouldDeny) {
  const auto req = Req("192.0.2.7", "ua", "shady");
  ASSERT_TRUE(Acquire(req).allowed());
  ASSERT_TRUE(Acquire(req).allowed());
  auto r = Acquire(req);
  EXPECT_TRUE(r.allowed());
  EXPECT_TRUE(r.shadow_denied());
  EXPECT_EQ(r.reason(), v1::REASON_DAILY_LIMIT);
  EXPECT_EQ(FindLimit(r, "client_daily")->used(), 3);
  // Globally: enforce: false puts every tier in shadow mode but bans.
  SetPolicy(absl::StrCat("enforce: false\n", kPolicy));
  for (int i = 0; i < 41; ++i) ASSERT_TRUE(Acquire(Req("192.0.2.8")).allowed());
  EXPECT_TRUE(Acquire(Req("192.0.2.8")).shadow_denied());
  auto banned = Acquire(Req("203.0.113.5"));
  EXPECT_FALSE(banned.allowed());
  EXPECT_FALSE(banned.shadow_denied());
  EXPECT_EQ(banned.reason(), v1::REASON_BANNED);
}

TEST_F(AdmissionTest, AStagedRolloutEnforcesAStableShareOfClients) {
  SetPolicy(R"pb(tiers { name: "interactive" daily_limit: 1 enforce_percent: 30 })pb");
  constexpr int kClients = 2000;
  std::vector<bool> enforced(kClients);
  int refused = 0;
  for (int c = 0; c < kClients; ++c) {
    const auto req = Req(absl::StrCat("10.1.", c / 250, ".", c % 250).c_str());
    ASSERT_TRUE(Acquire(req).allowed());
    auto over = Acquire(req);  // over the limit of 1
    enforced[c] = !over.allowed();
    EXPECT_EQ(over.shadow_denied(), over.allowed());  // the rest: shadow mode
    refused += enforced[c];
  }
  EXPECT_NEAR(refused, kClients * 0.30, kClients * 0.04);
  // The same clients, again: the same answer (stable by identity hash).
  for (int c = 0; c < kClients; c += 7) {
    auto again = Acquire(Req(absl::StrCat("10.1.", c / 250, ".", c % 250).c_str()));
    EXPECT_EQ(!again.allowed(), enforced[c]) << c;
  }
}

TEST_F(AdmissionTest, BurstLimitSpreadsAnAutomatedFleet) {
  SetPolicy(absl::StrCat(kPolicy, "automated_burst_per_minute: 3"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Acquire(Req(absl::StrCat("10.1.", i, ".1"), "ua", "murakami")).allowed());
  }
  auto denied = Acquire(Req("10.1.9.1", "ua", "murakami"));
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.reason(), v1::REASON_BURST_LIMIT);
  EXPECT_TRUE(FindLimit(denied, "automated_burst")->exceeded());
  const absl::Duration retry = FromProto(denied.retry_after());
  EXPECT_GE(retry, absl::Seconds(60));
  EXPECT_LT(retry, absl::Seconds(90));
  // A burst denial charges nothing.
  EXPECT_EQ(Used(Req("10.1.9.1", "ua", "murakami")), 0);
  // Interactive clients are not subject to the burst limit.
  EXPECT_TRUE(Acquire(Req("10.1.9.1", "browser")).allowed());
  clock_.Advance(absl::Seconds(60));
  EXPECT_TRUE(Acquire(Req("10.1.9.1", "ua", "murakami")).allowed());
}

TEST_F(AdmissionTest, AFleetExhaustingItsBurstPoolLeavesEveryIntegrationsBudget) {
  SetPolicy(absl::StrCat(kPolicy, "automated_burst_per_minute: 3"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(Acquire(Req(absl::StrCat("10.2.", i, ".1"), "ua", "murakami")).allowed());
  }
  ASSERT_EQ(Acquire(Req("10.2.9.1", "ua", "murakami")).reason(), v1::REASON_BURST_LIMIT);
  // The same tier, but an (authenticated) integration: its own budget.
  for (int i = 1; i <= 4; ++i) {
    auto r = Req(absl::StrCat("10.3.", i, ".1"), "ua", "murakami");
    r.set_integration_id("lab");
    const auto resp = Acquire(r);
    ASSERT_EQ(resp.tier(), "automated");
    EXPECT_EQ(resp.allowed(), i <= 3) << i;
    EXPECT_EQ(FindLimit(resp, "automated_burst")->used(), std::min(i, 3));
  }
}

TEST_F(AdmissionTest, CheckDecidesWithoutCharging) {
  const auto req = Req("192.0.2.7");
  for (int i = 0; i < 5; ++i) {
    auto r = admission_->Check(req);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->allowed());
    EXPECT_EQ(FindLimit(*r, "client_daily")->used(), 0);
  }
  EXPECT_EQ(store_->commits(), 0);
}

TEST_F(AdmissionTest, SixtyFourConcurrentAcquiresAdmitExactlyForty) {
  const auto req = Req("192.0.2.7", "ndt7-js/0.1");
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&] {
      auto r = admission_->Acquire(req);
      if (r.ok() && r->allowed()) ++allowed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 40);
  MakeController({});  // cold cache: the store agrees
  EXPECT_EQ(Used(req), 40);
}

TEST_F(AdmissionTest, EvictedCountersAreReloadedFromTheStore) {
  AdmissionOptions options;
  options.shards = 1;
  options.max_cached_counters = 16;
  MakeController(options);
  const auto target = Req("192.0.2.7");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Acquire(target).allowed());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Acquire(Req(absl::StrCat("10.", i, ".0.1"))).allowed());
  EXPECT_EQ(Used(target), 5);
}

TEST_F(AdmissionTest, AClockSteppedForwardAndBackHidesNoCachedCharge) {
  const auto req = Req("192.0.2.7");
  ASSERT_TRUE(Acquire(req).allowed());
  clock_.Advance(absl::Hours(50));
  EXPECT_EQ(Used(req), 0);  // hidden while the clock is wrong
  clock_.Advance(-absl::Hours(50));
  EXPECT_EQ(Used(req), 1);
}

class MergeDuringLoadTest : public AdmissionTest, public ::testing::WithParamInterface<bool> {};

TEST_P(MergeDuringLoadTest, ACounterLoadedWhileAMergeIsWrittenCountsItOnce) {
  const bool write_succeeds = GetParam();
  AdmissionOptions options;
  options.shards = 1;  // every counter shares the merge's shard
  options.max_cached_counters = 16;
  MakeController(options);
  const auto target = Req("192.0.2.7");
  auto explained = admission_->Explain(target);
  ASSERT_TRUE(explained.ok());
  const CounterId id = explained->counters[0].id;
  absl::Notification writing, release;
  store_->SetBeforePutSlots([&]() -> absl::Status {
    writing.Notify();
    release.WaitForNotification();
    return write_succeeds ? absl::OkStatus() : absl::UnavailableError("injected");
  });
  const SlotValue remote{SlotKey{id, HourOf(clock_.Now()), 424242, CountKind::kCharged}, 5};
  std::thread merge([&] {
    auto r = admission_->MergeRemoteSlots({remote});
    EXPECT_EQ(r.ok(), write_succeeds);
  });
  writing.WaitForNotification();
  // Evict the target (a tiny cache) so the next look-up is a load.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Acquire(Req(absl::StrCat("10.", i, ".0.1"))).allowed());
  EXPECT_EQ(Used(target), 5);                  // loaded during the write: counted once
  ASSERT_TRUE(Acquire(target).allowed());      // and charged while the write is open
  EXPECT_EQ(Used(target), 6);
  release.Notify();
  merge.join();
  EXPECT_EQ(Used(target), write_succeeds ? 6 : 1);
  for (int i = 40; i < 80; ++i) ASSERT_TRUE(Acquire(Req(absl::StrCat("10.", i, ".0.1"))).allowed());
  EXPECT_EQ(Used(target), write_succeeds ? 6 : 1);  // and the store agrees after eviction
}

INSTANTIATE_TEST_SUITE_P(WriteOutcome, MergeDuringLoadTest, ::testing::Bool());

struct BadInput {
  const char* name;
  std::function<void(v1::AcquireRequest*)> mutate;
  const char* field;
};

void PrintTo(const BadInput& input, std::ostream* os) { *os << input.name; }

class AdmissionBadInputTest : public AdmissionTest,
                              public ::testing::WithParamInterface<BadInput> {};

TEST_P(AdmissionBadInputTest, IsInvalidArgumentNamingTheFieldAndChargesNothing) {
  auto req = Req("192.0.2.7");
  req.set_request_id("bad-input");
  GetParam().mutate(&req);
  for (bool charge : {true, false}) {
    auto r = charge ? admission_->Acquire(req) : admission_->Check(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(GetParam().field));
  }
  EXPECT_EQ(store_->commits(), 0);
  EXPECT_EQ(Used(Req("192.0.2.7")), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AdmissionBadInputTest,
    ::testing::Values(
        BadInput{"MissingIp", [](auto* r) { r->clear_ip(); }, "ip: required"},
        BadInput{"MalformedIp", [](auto* r) { r->set_ip("192.0.2.300"); }, "ip: "},
        BadInput{"HostnameIp", [](auto* r) { r->set_ip("example.com"); }, "ip: "},
        BadInput{"ZeroCost", [](auto* r) { r->set_cost(0); }, "cost: must be >= 1"},
        BadInput{"NegativeCost", [](auto* r) { r->set_cost(-4); }, "cost: must be >= 1"},
        BadInput{"CostAboveMax", [](auto* r) { r->set_cost(6); }, "cost: 6 exceeds max_cost 5"},
        BadInput{"LongIp", [](auto* r) { r->set_ip(std::string(1025, '1')); }, "ip: longer than"},
        BadInput{"LongUserAgent", [](auto* r) { r->set_user_agent(std::string(1025, 'a')); },
                 "user_agent: longer than 1024"},
        BadInput{"LongClientName", [](auto* r) { r->set_client_name(std::string(1025, 'a')); },
                 "client_name: longer than 1024"},
        BadInput{"LongIntegrationId",
                 [](auto* r) { r->set_integration_id(std::string(1025, 'a')); },
                 "integration_id: longer than 1024"},
        BadInput{"LongIntegrationTier",
                 [](auto* r) { r->set_integration_tier(std::string(1025, 'a')); },
                 "integration_tier: longer than 1024"},
        BadInput{"LongService", [](auto* r) { r->set_service(std::string(1025, 'a')); },
                 "service: longer than 1024"},
        BadInput{"LongRequestId", [](auto* r) { r->set_request_id(std::string(1025, 'a')); },
                 "request_id: longer than 1024"},
        BadInput{"UnknownTierClaim",
                 [](auto* r) {
                   r->set_integration_id("p");
                   r->set_integration_tier("platinum");
                 },
                 "integration_tier: unknown or unclaimable tier 'platinum'"},
        BadInput{"UnclaimableTierClaim",
                 [](auto* r) {
                   r->set_integration_id("p");
                   r->set_integration_tier("banned");
                 },
                 "integration_tier: unknown or unclaimable"},
        BadInput{"ClaimWithoutIntegrationId", [](auto* r) { r->set_integration_tier("2"); },
                 "integration_id: required"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST_F(AdmissionTest, StringsOfExactly1KiBAreAccepted) {
  auto req = Req("192.0.2.7", std::string(1024, 'u'), std::string(1024, 'c'));
  req.set_request_id(std::string(1024, 'r'));
  EXPECT_TRUE(Acquire(req).allowed());
}

TEST_F(AdmissionTest, KeyRotationKeepsCountingUsageHashedWithThePreviousKey) {
  const auto req = Req("192.0.2.7");
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(Acquire(req).allowed());
  // Rotate: new key, the old one kept as "previous" for one window.
  auto old_hasher = std::move(hasher_);
  hasher_ = std::move(IdentityHasher::Create(std::string(32, 'n')).value());
  MakeController({});
  admission_->SetPreviousHasher(old_hasher.get());
  EXPECT_EQ(Used(req), 30);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Acquire(req).allowed()) << i;
  EXPECT_FALSE(Acquire(req).allowed());
  // Without the previous key the old usage would be invisible (a reset).
  MakeController({});
  EXPECT_EQ(Used(req), 10);
  hasher_ = std::move(old_hasher);  // the controller must not outlive it
  MakeController({});
}

}  // namespace
}  // namespace quotad
