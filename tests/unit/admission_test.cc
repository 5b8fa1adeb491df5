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

namespace quotad {
namespace {

using ::testing::HasSubstr;
using testing::FaultInjectingStore;
using testing::TempDir;

constexpr char kPolicy[] = R"pb(
  tiers { name: "interactive" daily_limit: 40 group_daily_limit: 100 }
  tiers { name: "automated" daily_limit: 4 automated: true integration_daily_limit: 50 }
  tiers { name: "daily" daily_limit: 3 window: CALENDAR_DAY_UTC }
  tiers { name: "small-group" daily_limit: 10 group_daily_limit: 3 }
  tiers { name: "shadow" daily_limit: 2 enforce: false }
  tiers { name: "registered-2" daily_limit: 6 claimable: true claim_aliases: "2" }
  tiers { name: "banned" banned: true }
  overrides { cidr: "203.0.113.0/24" tier: "banned" }
  overrides { client_name: "calendar" tier: "daily" }
  overrides { client_name: "groupy" tier: "small-group" }
  overrides { client_name: "shady" tier: "shadow" }
  rules { client_name: "murakami" tier: "automated" }
  integration_caps { client_name: "fleet" daily_limit: 5 }
  rules { client_name: "fleet" tier: "automated" }
  max_cost: 5
  denial_jitter_seconds: 600
  burst_jitter_seconds: 30
)pb";

absl::Time At(const char* text) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &err)) << err;
  return t;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

v1::AcquireRequest Req(const std::string& ip, const std::string& ua = "Mozilla/5.0",
                       const std::string& client_name = "") {
  v1::AcquireRequest r;
  r.set_ip(ip);
  r.set_user_agent(ua);
  r.set_client_name(client_name);
  r.set_service("ndt/ndt7");
  return r;
}

const v1::LimitStatus* FindLimit(const v1::AcquireResponse& r, const std::string& name) {
  for (const auto& l : r.limits()) {
    if (l.name() == name) return &l;
  }
  return nullptr;
}

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest() : clock_(At("2026-11-26T10:30:00Z")) {
    RocksDbOptions options;
    options.path = dir_.Sub("db");
    options.node_id = "n1";
    options.clock = &clock_;
    options.file_system = disk_;
    options.recovery_retry = absl::Milliseconds(5);
    rocks_ = std::move(RocksDbCounterStore::Open(options).value());
    store_ = std::make_unique<FaultInjectingStore>(rocks_.get());
    SetPolicy(kPolicy);
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 's')).value());
    MakeController({});
  }

  void SetPolicy(const std::string& text) {
    auto p = CompiledPolicy::FromText(text, "test");
    ASSERT_TRUE(p.ok()) << p.status();
    if (!policy_) {
      policy_ = std::make_unique<PolicyHolder>(*p);
    } else {
      policy_->Set(*p);
    }
  }

  void MakeController(AdmissionOptions options) {
    options.node_id = "n1";
    options.region = "eu";
    admission_ = std::make_unique<AdmissionController>(store_.get(), policy_.get(), hasher_.get(),
                                                       &clock_, nullptr, options);
  }

  v1::AcquireResponse Acquire(const v1::AcquireRequest& r) {
    auto resp = admission_->Acquire(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::AcquireResponse();
  }
  int64_t Used(const v1::AcquireRequest& r, const std::string& limit = "client_daily") {
    auto resp = admission_->Check(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    const v1::LimitStatus* l = FindLimit(*resp, limit);
    return l ? l->used() : -1;
  }

  TempDir dir_;
  FakeClock clock_;
  std::shared_ptr<testing::FaultInjectingFileSystem> disk_ =
      std::make_shared<testing::FaultInjectingFileSystem>();
  std::unique_ptr<RocksDbCounterStore> rocks_;
  std::unique_ptr<FaultInjectingStore> store_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::unique_ptr<AdmissionController> admission_;
};

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

TEST_F(AdmissionTest, IntegrationCapIsAnAggregateOverItsClients) {
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Acquire(Req(absl::StrCat("10.0.", i, ".1"), "ua", "fleet")).allowed());
  }
  auto denied = Acquire(Req("10.0.99.1", "ua", "fleet"));
  EXPECT_FALSE(denied.allowed());
  EXPECT_EQ(denied.reason(), v1::REASON_INTEGRATION_LIMIT);
  EXPECT_EQ(FindLimit(denied, "integration_daily")->limit(), 5);
  // The tier default cap (50) applies to another integration.
  auto other = Acquire(Req("10.0.99.1", "ua", "murakami"));
  EXPECT_TRUE(other.allowed());
  EXPECT_EQ(FindLimit(other, "integration_daily")->limit(), 50);
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
  // Globally: enforce: false puts every tier in shadow mode.
  SetPolicy(absl::StrCat("enforce: false\n", kPolicy));
  auto banned = Acquire(Req("203.0.113.5"));
  EXPECT_TRUE(banned.allowed());
  EXPECT_TRUE(banned.shadow_denied());
  EXPECT_EQ(banned.reason(), v1::REASON_BANNED);
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

TEST_F(AdmissionTest, ReplayedRequestIdReturnsTheFirstAnswerAndChargesOnce) {
  auto req = Req("192.0.2.7");
  req.set_request_id("token-1");
  auto first = Acquire(req);
  ASSERT_TRUE(first.allowed());
  EXPECT_FALSE(first.replayed());
  clock_.Advance(absl::Minutes(10));  // replays are kept at least 10 minutes
  auto again = Acquire(req);
  EXPECT_TRUE(again.replayed());
  EXPECT_TRUE(again.allowed());
  EXPECT_EQ(again.next_request().seconds(), first.next_request().seconds());
  // The stored answer is the first answer, field for field.
  auto stored = again;
  stored.clear_replayed();
  EXPECT_EQ(stored.SerializeAsString(), first.SerializeAsString());
  ASSERT_EQ(again.limits_size(), first.limits_size());
  EXPECT_EQ(Used(req), 1);
  // Past the TTL (1 h default) the id is forgotten and charges anew.
  clock_.Advance(absl::Minutes(51));
  EXPECT_FALSE(Acquire(req).replayed());
  EXPECT_EQ(Used(req), 2);
}

TEST_F(AdmissionTest, ADenialIsNotRecordedSoItsReplayIsDecidedAgain) {
  const auto plain = Req("192.0.2.7");
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Acquire(plain).allowed());
  const int commits = store_->commits();
  auto req = plain;
  req.set_request_id("late");
  EXPECT_FALSE(Acquire(req).allowed());
  EXPECT_EQ(store_->commits(), commits);  // a denial writes nothing
  auto replay = Acquire(req);
  EXPECT_FALSE(replay.replayed());
  EXPECT_FALSE(replay.allowed());
  // Once capacity frees, the same request_id is admitted and charged once.
  clock_.Advance(absl::Hours(24));
  auto later = Acquire(req);
  EXPECT_TRUE(later.allowed());
  EXPECT_FALSE(later.replayed());
  auto again = Acquire(req);
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(Used(req), 1);
}

TEST_F(AdmissionTest, RefundGivesBackOnceAndNeverBelowZero) {
  auto req = Req("192.0.2.7");
  req.set_request_id("tok");
  req.set_cost(3);
  ASSERT_TRUE(Acquire(req).allowed());
  EXPECT_EQ(Used(req), 3);
  v1::RefundRequest refund;
  refund.set_request_id("tok");
  auto r = admission_->Refund(refund);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->refunded());
  EXPECT_EQ(r->refunded_cost(), 3);
  EXPECT_EQ(Used(req), 0);
  EXPECT_EQ(Used(req, "group_daily"), 0);
  auto again = admission_->Refund(refund);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->refunded());
  EXPECT_EQ(Used(req), 0);
  // The refund survives a cold cache (it is in RocksDB, not just memory).
  MakeController({});
  EXPECT_EQ(Used(req), 0);
}

TEST_F(AdmissionTest, RefundOfUnknownOrDeniedRequest) {
  v1::RefundRequest refund;
  refund.set_request_id("never-seen");
  EXPECT_EQ(admission_->Refund(refund).status().code(), absl::StatusCode::kNotFound);
  auto banned = Req("203.0.113.1");
  banned.set_request_id("denied-one");
  ASSERT_FALSE(Acquire(banned).allowed());
  refund.set_request_id("denied-one");
  EXPECT_EQ(admission_->Refund(refund).status().code(), absl::StatusCode::kNotFound);
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

TEST_F(AdmissionTest, ConcurrentReplaysOfOneRequestIdChargeOnce) {
  auto req = Req("192.0.2.7");
  req.set_request_id("same");
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      auto r = admission_->Acquire(req);
      if (r.ok() && !r->replayed()) ++fresh;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(Used(req), 1);
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

TEST_F(AdmissionTest, AcquiresWhileTheDiskIsFullAreUnavailableChargeNothingAndRecover) {
  const auto req = Req("192.0.2.7");
  ASSERT_TRUE(Acquire(req).allowed());
  disk_->SetFault(testing::DiskFault::kNoSpace);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(admission_->Acquire(req).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(Used(req), 1);  // nothing charged, and Check still answers
  disk_->SetFault(testing::DiskFault::kNone);
  ASSERT_TRUE(testing::AwaitTrue("the store heals", absl::Seconds(10), [&] {
                return rocks_->healthy();
              }).ok());
  ASSERT_TRUE(Acquire(req).allowed());
  EXPECT_EQ(Used(req), 2);
}

TEST_F(AdmissionTest, AnAcquireWhoseDeadlineHasPassedIsNotDecidedOrCharged) {
  const auto req = Req("192.0.2.7");
  absl::StatusOr<v1::AcquireResponse> result;
  CallState call;
  call.deadline = clock_.Now() - absl::Milliseconds(1);
  admission_->AcquireAsync(req, [&](absl::StatusOr<v1::AcquireResponse> r) { result = r; }, call);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Used(req), 0);
}

TEST_F(AdmissionTest, ACallCancelledBeforeItsWriteIsNotChargedAndReleasesItsReservation) {
  const auto req = Req("192.0.2.7", "ua", "req-1");
  absl::StatusOr<v1::AcquireResponse> result;
  CallState call;
  call.cancelled = [] { return true; };
  admission_->AcquireAsync(req, [&](absl::StatusOr<v1::AcquireResponse> r) { result = r; }, call);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(Used(req), 0);
  EXPECT_EQ(store_->commits(), 0);
  // The request_id is free again and charges once when retried.
  ASSERT_TRUE(Acquire(req).allowed());
  EXPECT_EQ(Used(req), 1);
}

TEST_F(AdmissionTest, ChargesWaitingPastTheirDeadlineOrPastTheQueueBoundAreNotCharged) {
  AdmissionOptions options;
  options.max_commit_queue = 2;
  MakeController(options);
  absl::Notification writing, release;
  store_->HoldFirstCommit(&writing, &release);
  // The first Acquire becomes the writer and is held inside its write.
  std::thread writer([&] { EXPECT_TRUE(Acquire(Req("10.0.0.1")).allowed()); });
  writing.WaitForNotification();
  std::vector<absl::StatusOr<v1::AcquireResponse>> results(3);
  CallState soon;
  soon.deadline = clock_.Now() + absl::Milliseconds(50);
  admission_->AcquireAsync(Req("10.0.0.2"), [&](auto r) { results[0] = r; }, soon);
  admission_->AcquireAsync(Req("10.0.0.3"), [&](auto r) { results[1] = r; });
  // The queue holds two: the third is refused at once.
  admission_->AcquireAsync(Req("10.0.0.4"), [&](auto r) { results[2] = r; });
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Milliseconds(60));  // the first queued call's deadline passes
  release.Notify();
  writer.join();
  admission_->WaitForIdle();
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(Used(Req("10.0.0.2")), 0);
  EXPECT_EQ(Used(Req("10.0.0.3")), 1);
  EXPECT_EQ(Used(Req("10.0.0.4")), 0);
}

// A merge's write is held open: Acquires keep deciding (no shard lock is
// held across it), and a counter loaded meanwhile counts the merged slot
// exactly once, whether the write then succeeds or fails.
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
  const CounterId id = explained->counters[0].second;
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

TEST_F(AdmissionTest, StorageFailureIsUnavailableAndChargesNothing) {
  SetPolicy(absl::StrCat(kPolicy, "automated_burst_per_minute: 1"));
  auto req = Req("192.0.2.7", "ua", "murakami");
  req.set_request_id("during-outage");
  store_->FailCommits(true);
  auto r = admission_->Acquire(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  store_->FailCommits(false);
  EXPECT_EQ(Used(req), 0);
  // Neither the burst slot nor the request_id were consumed.
  auto retry = Acquire(req);
  EXPECT_TRUE(retry.allowed());
  EXPECT_FALSE(retry.replayed());
  // A read failure on a cache miss is UNAVAILABLE too.
  store_->FailReads(true);
  EXPECT_EQ(admission_->Acquire(Req("192.0.2.99")).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(admission_->Check(Req("192.0.2.98")).status().code(), absl::StatusCode::kUnavailable);
  v1::RefundRequest refund;
  refund.set_request_id("during-outage");
  EXPECT_EQ(admission_->Refund(refund).status().code(), absl::StatusCode::kUnavailable);
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

TEST_F(AdmissionTest, RefundWithoutRequestIdIsInvalid) {
  v1::RefundRequest refund;
  auto r = admission_->Refund(refund);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("request_id: required"));
  refund.set_request_id(std::string(2000, 'x'));
  r = admission_->Refund(refund);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("request_id: longer than"));
}

}  // namespace
}  // namespace quotad
