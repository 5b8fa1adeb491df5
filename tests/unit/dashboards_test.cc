// The dashboards' aggregates: UsageTracker (the usage distribution kept from
// counter changes) against a brute-force model and a real store, and
// NearLimitTracker; both fed by a real AdmissionController.
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "quotad/admin/cluster_stats.h"
#include "quotad/observability/near_limit.h"
#include "quotad/observability/usage_tracker.h"
#include "tests/unit/admission_fixture.h"

namespace quotad {
namespace {

CounterId Client(uint8_t n, KeySpace space = KeySpace::kClient) {
  CounterId id;
  id.space = space;
  id.hash.fill(0);
  id.hash[0] = n;
  id.hash[9] = 0x5a;  // beyond the tracker's 8 bytes: ignored
  return id;
}

std::map<int64_t, int64_t> AsMap(const UsageTracker::Distribution& d) {
  return std::map<int64_t, int64_t>(d.buckets.begin(), d.buckets.end());
}

class UsageTrackerTest : public ::testing::Test {
 protected:
  FakeClock clock_{At("2026-11-26T10:30:00Z")};
  UsageTracker tracker_{&clock_};
  const uint32_t now_ = HourOf(clock_.Now());
};

TEST_F(UsageTrackerTest, CountsNetUsagePerClientOverTheWindow) {
  tracker_.OnUsageChanged(Client(1), now_, 2);
  tracker_.OnUsageChanged(Client(1), now_ - 5, 1);
  tracker_.OnUsageChanged(Client(2), now_, 3);
  tracker_.OnUsageChanged(Client(3), now_ - 1, 1);
  tracker_.OnUsageChanged(Client(3), now_ - 1, -1);  // refunded: 0, not counted
  const auto d = tracker_.Read();
  EXPECT_EQ(AsMap(d), (std::map<int64_t, int64_t>{{3, 2}}));
  EXPECT_EQ(d.clients, 2);
}

TEST_F(UsageTrackerTest, IgnoresOtherSpacesUnitsAndHoursOutsideTheWindow) {
  tracker_.OnUsageChanged(Client(1, KeySpace::kCount), now_, 5);
  tracker_.OnUsageChanged(Client(2), MakeBucket(BucketUnit::kMinute, 1), 5);
  tracker_.OnUsageChanged(Client(3), MakeBucket(BucketUnit::kDay, now_ / 24), 5);
  tracker_.OnUsageChanged(Client(4), now_ - 24, 5);  // left the window
  tracker_.OnUsageChanged(Client(5), now_ + 3, 5);   // further ahead than 2 h
  EXPECT_EQ(tracker_.Read().clients, 0);
  tracker_.OnUsageChanged(Client(6), now_ + 2, 1);   // a peer's clock ahead: counted
  tracker_.OnUsageChanged(Client(6), now_ - 23, 1);  // the window's first hour
  EXPECT_EQ(AsMap(tracker_.Read()), (std::map<int64_t, int64_t>{{2, 1}}));
}

TEST_F(UsageTrackerTest, HoursLeaveTheWindowOneByOne) {
  tracker_.OnUsageChanged(Client(1), now_ - 23, 1);
  tracker_.OnUsageChanged(Client(1), now_ - 1, 2);
  tracker_.OnUsageChanged(Client(2), now_, 4);
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(AsMap(tracker_.Read()), (std::map<int64_t, int64_t>{{2, 1}, {4, 1}}));
  clock_.Advance(absl::Hours(22));  // now_ - 1 has left; now_ is the first hour
  EXPECT_EQ(AsMap(tracker_.Read()), (std::map<int64_t, int64_t>{{4, 1}}));
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(tracker_.Read().clients, 0);
  // A change in a slot whose hour left, with no Advance in between.
  clock_.Advance(absl::Hours(30));
  tracker_.OnUsageChanged(Client(3), HourOf(clock_.Now()), 1);
  EXPECT_EQ(AsMap(tracker_.Read()), (std::map<int64_t, int64_t>{{1, 1}}));
}

TEST_F(UsageTrackerTest, AClockSteppedBackDoesNotMixHours) {
  tracker_.OnUsageChanged(Client(1), now_ + 2, 3);
  clock_.Advance(-absl::Hours(30));  // now_ + 2 is now far ahead
  // now_ - 50 is in the window again and shares now_ + 2's slot (26 slots)
  // in client 1's shard (16 shards by the hash's first byte).
  tracker_.OnUsageChanged(Client(17), now_ + 2 - 52, 1);
  // The slot held an hour too far ahead: taken out, not merged with back + 2.
  EXPECT_EQ(AsMap(tracker_.Read()), (std::map<int64_t, int64_t>{{1, 1}}));
}

// Random changes and clock moves against a model that keeps every amount
// per client and hour and sums the window on every read.
TEST_F(UsageTrackerTest, MatchesABruteForceModel) {
  std::mt19937 gen(7);
  std::map<std::pair<uint8_t, uint32_t>, int64_t> model;  // (client, hour) -> amount
  for (int step = 0; step < 20000; ++step) {
    const int op = std::uniform_int_distribution<int>(0, 99)(gen);
    const uint32_t now = HourOf(clock_.Now());
    if (op < 2) {
      clock_.Advance(absl::Minutes(std::uniform_int_distribution<int>(1, 300)(gen)));
      continue;
    }
    const uint8_t client = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, 60)(gen));
    const uint32_t hour =
        now - 26 + static_cast<uint32_t>(std::uniform_int_distribution<int>(0, 30)(gen));
    const int64_t delta = op < 80 ? std::uniform_int_distribution<int>(1, 3)(gen) : -1;
    tracker_.OnUsageChanged(Client(client), hour, delta);
    if (hour + 23 >= now && hour <= now + 2) model[{client, hour}] += delta;
    if (step % 97 != 0) continue;
    const uint32_t read_now = HourOf(clock_.Now());
    std::map<uint8_t, int64_t> used;
    for (const auto& [key, amount] : model) {
      if (key.second + 23 >= read_now && key.second <= read_now + 2) used[key.first] += amount;
    }
    std::map<int64_t, int64_t> expected;
    for (const auto& [c, u] : used) {
      if (u > 0) ++expected[u];
    }
    ASSERT_EQ(AsMap(tracker_.Read()), expected) << "step " << step;
  }
}

TEST(UsageTrackerSeed, SeedsEveryOriginAndKindFromTheStore) {
  testing::TempDir dir;
  FakeClock clock(At("2026-11-26T10:30:00Z"));
  RocksDbOptions options;
  options.path = dir.Sub("db");
  options.node_id = "n1";
  options.clock = &clock;
  auto store = std::move(RocksDbCounterStore::Open(options).value());
  const uint32_t now = HourOf(clock.Now());
  ASSERT_TRUE(store
                  ->Commit({{Client(1), now, CountKind::kCharged, 3},
                            {Client(1), now - 2, CountKind::kRefunded, 1},
                            {Client(2), now - 30, CountKind::kCharged, 9},  // left the window
                            {Client(3, KeySpace::kCount), now, CountKind::kCharged, 7}},
                           nullptr)
                  .ok());
  ASSERT_TRUE(store
                  ->PutSlots({{SlotKey{Client(1), now - 2, 4242, CountKind::kCharged}, 2},
                              {SlotKey{Client(2), now, 4242, CountKind::kCharged}, 1}})
                  .ok());
  UsageTracker tracker(&clock);
  ASSERT_TRUE(tracker.Seed(store.get()).ok());
  // Client 1: 3 + 2 - 1 = 4 (two origins, a refund); client 2: 1.
  EXPECT_EQ(AsMap(tracker.Read()), (std::map<int64_t, int64_t>{{1, 1}, {4, 1}}));
}

TEST(NearLimitTrackerTest, CountsSubjectsWhoseLatestDecisionWasNearForAnHour) {
  FakeClock clock(At("2026-11-26T10:30:00Z"));
  NearLimitTracker near(&clock);
  using S = NearLimitTracker::Subject;
  auto counts = [&] {
    std::map<std::pair<std::string, S>, int64_t> out;
    for (const auto& c : near.Counts()) out[{c.tier, c.subject}] = c.count;
    return out;
  };
  auto count = [&](const std::string& tier, S subject) { return counts()[{tier, subject}]; };
  near.Note(S::kClient, "interactive", 1, false);
  EXPECT_TRUE(counts().empty());  // nothing near yet: no series
  near.Note(S::kClient, "interactive", 1, true);
  near.Note(S::kClient, "interactive", 1, true);  // the same client once
  near.Note(S::kClient, "interactive", 2, true);
  near.Note(S::kIntegration, "interactive", 1, true);  // another subject, same key
  near.Note(S::kClient, "automated", 3, true);
  EXPECT_EQ(count("interactive", S::kClient), 2);
  EXPECT_EQ(count("interactive", S::kIntegration), 1);
  EXPECT_EQ(count("automated", S::kClient), 1);
  near.Note(S::kClient, "interactive", 2, false);  // usage fell (a refund, a new window)
  near.Note(S::kClient, "automated", 1, true);     // reclassified: moves tier
  EXPECT_EQ(count("interactive", S::kClient), 0);
  EXPECT_EQ(count("automated", S::kClient), 2);
  clock.Advance(absl::Minutes(59));
  near.Note(S::kClient, "automated", 3, true);  // refreshed
  EXPECT_EQ(count("automated", S::kClient), 2);
  clock.Advance(absl::Minutes(1));  // client 1's decision is an hour old
  EXPECT_EQ(count("automated", S::kClient), 1);
  EXPECT_EQ(count("interactive", S::kIntegration), 0);
  near.Note(S::kClient, "automated", 1, false);  // a swept subject: nothing to take out
  EXPECT_EQ(count("automated", S::kClient), 1);
}

// Both trackers behind a real controller.
class DashboardAdmissionTest : public AdmissionTest {
 protected:
  DashboardAdmissionTest() {
    admission_->AddUsageObserver(&usage_);
    admission_->AddUsageObserver(&near_);
  }
  int64_t Near(const std::string& tier, NearLimitTracker::Subject subject) {
    for (const auto& c : near_.Counts()) {
      if (c.tier == tier && c.subject == subject) return c.count;
    }
    return 0;
  }
  UsageTracker usage_{&clock_};
  NearLimitTracker near_{&clock_};
};

TEST_F(DashboardAdmissionTest, ChargesRefundsResetsAndMergesReachTheDistribution) {
  v1::AcquireRequest a = Req("192.0.2.1");
  a.set_request_id("r-1");
  ASSERT_TRUE(Acquire(a).allowed());
  ASSERT_TRUE(Acquire(Req("192.0.2.1")).allowed());
  ASSERT_TRUE(Acquire(Req("192.0.2.2")).allowed());
  EXPECT_EQ(AsMap(usage_.Read()), (std::map<int64_t, int64_t>{{1, 1}, {2, 1}}));
  ASSERT_TRUE(Acquire(a).replayed());  // a replay charges nothing
  v1::RefundRequest refund;
  refund.set_request_id("r-1");
  ASSERT_TRUE(admission_->Refund(refund).ok());
  EXPECT_EQ(AsMap(usage_.Read()), (std::map<int64_t, int64_t>{{1, 2}}));
  // A peer's charges for client 2: the same client, not another one.
  const CounterId two = admission_->Explain(Req("192.0.2.2"))->counters[0].id;
  ASSERT_TRUE(
      admission_
          ->MergeRemoteSlots({{SlotKey{two, HourOf(clock_.Now()), 77, CountKind::kCharged}, 3}})
          .ok());
  ASSERT_TRUE(
      admission_
          ->MergeRemoteSlots({{SlotKey{two, HourOf(clock_.Now()), 77, CountKind::kCharged}, 2}})
          .ok());
  EXPECT_EQ(AsMap(usage_.Read()), (std::map<int64_t, int64_t>{{1, 1}, {4, 1}}));
  ASSERT_TRUE(admission_->ResetCounter(two, BucketUnit::kHour).ok());
  EXPECT_EQ(AsMap(usage_.Read()), (std::map<int64_t, int64_t>{{1, 1}}));
  // A denial charges nothing.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(Acquire(Req("192.0.2.9", "bot", "murakami")).allowed());
  ASSERT_FALSE(Acquire(Req("192.0.2.9", "bot", "murakami")).allowed());
  EXPECT_EQ(AsMap(usage_.Read()), (std::map<int64_t, int64_t>{{1, 1}, {4, 1}}));
}

TEST_F(DashboardAdmissionTest, ClientsAndPoolsAreNearAtEightyPercent) {
  using S = NearLimitTracker::Subject;
  // Automated: 4 a day; 80% is 3.2, so the 4th test is near, the 3rd not.
  const auto bot = Req("192.0.2.20", "bot", "murakami");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire(bot).allowed());
  EXPECT_EQ(Near("automated", S::kClient), 0);
  ASSERT_TRUE(Acquire(bot).allowed());
  EXPECT_EQ(Near("automated", S::kClient), 1);
  ASSERT_FALSE(Acquire(bot).allowed());  // refused: still near, once
  EXPECT_EQ(Near("automated", S::kClient), 1);
  EXPECT_TRUE(admission_->Check(bot).ok());  // a Check reports nothing
  // fleet-7's pool of 5: near from its 4th test, whoever takes it.
  for (int i = 1; i <= 4; ++i) {
    auto req = Req(absl::StrCat("10.0.", i, ".1"), "ua", "fleet");
    req.set_integration_id("fleet-7");
    ASSERT_TRUE(Acquire(req).allowed());
    EXPECT_EQ(Near("automated", S::kIntegration), i >= 4 ? 1 : 0) << i;
  }
  // Interactive: 40 a day; the 32nd test reaches 80%.
  const auto user = Req("192.0.2.30");
  for (int i = 1; i <= 32; ++i) {
    ASSERT_TRUE(Acquire(user).allowed());
    EXPECT_EQ(Near("interactive", S::kClient), i >= 32 ? 1 : 0) << i;
  }
  clock_.Advance(absl::Hours(25));  // a new window: the next decision is far below
  ASSERT_TRUE(Acquire(user).allowed());
  EXPECT_EQ(Near("interactive", S::kClient), 0);
}

}  // namespace
}  // namespace quotad

namespace quotad {
namespace {

v1::StatsResponse NodeAnswer(const std::string& node, int64_t allowed, int64_t near,
                             int64_t integration_tests) {
  v1::StatsResponse s;
  s.set_node_id(node);
  s.set_region("region-" + node);
  v1::DecisionCount* d = s.add_decisions();
  d->set_tier("interactive");
  d->set_reason(v1::REASON_ALLOWED);
  d->set_last_minute(allowed);
  d->set_last_hour(allowed);
  d->set_last_day(allowed);
  v1::NearLimitCount* n = s.add_near_limit();
  n->set_tier("automated");
  n->set_subject("client");
  n->set_count(near);
  v1::IntegrationCount* i = s.add_top_by_tests();
  i->set_integration("murakami");
  i->set_tests(integration_tests);
  v1::UsageBucket* b = s.add_usage_distribution();
  b->set_tests(3);
  b->set_clients(node == "n1" ? 7 : 99);  // only the answering node's counts
  s.set_active_clients(node == "n1" ? 7 : 99);
  return s;
}

TEST(ClusterStatsMerge, SumsEventsKeepsTheLocalDistributionAndFlagsUnreachablePeers) {
  const v1::StatsResponse local = NodeAnswer("n1", 5, 1, 10);
  std::vector<PeerStats> peers;
  peers.push_back({"n2", "region-n2", NodeAnswer("n2", 2, 3, 4)});
  peers.push_back({"n3", "region-n3", absl::UnavailableError("connection refused")});
  const v1::StatsResponse all = MergeClusterStats(local, peers, 20);
  EXPECT_TRUE(all.cluster());
  EXPECT_EQ(all.node_id(), "n1");
  ASSERT_EQ(all.decisions_size(), 1);
  EXPECT_EQ(all.decisions(0).last_hour(), 7);
  ASSERT_EQ(all.near_limit_size(), 1);
  EXPECT_EQ(all.near_limit(0).count(), 4);
  ASSERT_EQ(all.top_by_tests_size(), 1);
  EXPECT_EQ(all.top_by_tests(0).tests(), 14);
  EXPECT_EQ(all.top_by_denials_size(), 0);
  ASSERT_EQ(all.usage_distribution_size(), 1);
  EXPECT_EQ(all.usage_distribution(0).clients(), 7);  // from merged counters, not added
  EXPECT_EQ(all.active_clients(), 7);
  ASSERT_EQ(all.nodes_size(), 3);
  EXPECT_EQ(all.nodes(0).node_id(), "n1");
  EXPECT_TRUE(all.nodes(1).reachable());
  EXPECT_EQ(all.nodes(1).stats().decisions(0).last_hour(), 2);
  EXPECT_FALSE(all.nodes(2).reachable());
  EXPECT_EQ(all.nodes(2).region(), "region-n3");
  EXPECT_NE(all.nodes(2).error().find("connection refused"), std::string::npos);
  EXPECT_EQ(all.unreachable_nodes(), 1);
}

}  // namespace
}  // namespace quotad
