// Usage meters (quotad/admission/meters.h): what every admitted request
// charged, per tier and integration and UTC day, written with the admission
// and given back with its refund, for as long as the policy keeps them.
#include "quotad/admission/meters.h"

#include <array>
#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "quotad/admin/admin_service.h"
#include "quotad/admin/usage_report.h"
#include "tests/testing/await.h"
#include "tests/testing/loopback_transport.h"
#include "tests/unit/admission_fixture.h"

namespace quotad {
namespace {

class MeterTest : public AdmissionTest {
 protected:
  // A meter's net count in today's day bucket.
  int64_t Metered(MeterKind kind, const std::string& name) {
    const uint32_t today = BucketOf(BucketUnit::kDay, clock_.Now());
    auto buckets = rocks_->ReadBuckets(MeterId(kind, name), today);
    EXPECT_TRUE(buckets.ok()) << buckets.status();
    int64_t sum = 0;
    for (const HourCount& b : buckets.value_or(std::vector<HourCount>{})) sum += b.count;
    return sum;
  }
  // Every day bucket the meter still has, from `days` days ago.
  std::vector<HourCount> MeterDays(MeterKind kind, const std::string& name, int days) {
    const uint32_t from = BucketOf(BucketUnit::kDay, clock_.Now() - absl::Hours(24 * days));
    return rocks_->ReadBuckets(MeterId(kind, name), from).value_or(std::vector<HourCount>{});
  }
  static v1::AcquireRequest FromIntegration(const std::string& ip, const std::string& integration) {
    auto r = Req(ip);
    r.set_integration_id(integration);
    return r;
  }
};

TEST_F(MeterTest, AnAdmissionChargesItsTierAndItsIntegrationByItsCost) {
  ASSERT_TRUE(Acquire(FromIntegration("192.0.2.7", "acme-probe")).allowed());
  auto costly = FromIntegration("192.0.2.8", "acme-probe");
  costly.set_cost(3);
  ASSERT_TRUE(Acquire(costly).allowed());
  ASSERT_TRUE(Acquire(Req("192.0.2.9")).allowed());  // no integration: its tier only
  EXPECT_EQ(Metered(MeterKind::kIntegration, "acme-probe"), 4);
  EXPECT_EQ(Metered(MeterKind::kTier, "interactive"), 5);
  EXPECT_EQ(Metered(MeterKind::kIntegration, "other"), 0);
  // A name is a tier's or an integration's, never both.
  EXPECT_NE(MeterId(MeterKind::kTier, "x"), MeterId(MeterKind::kIntegration, "x"));
}

TEST_F(MeterTest, DenialsChecksAndReplaysMeterNothing) {
  auto req = FromIntegration("192.0.2.7", "fleet-7");
  req.set_client_name("murakami");  // automated: 4 a day
  for (int i = 0; i < 6; ++i) {
    req.set_request_id(absl::StrCat("test-", i));
    Acquire(req);
  }
  ASSERT_TRUE(admission_->Check(req).ok());
  req.set_request_id("test-0");
  EXPECT_TRUE(Acquire(req).replayed());
  EXPECT_EQ(Metered(MeterKind::kTier, "automated"), 4);
  EXPECT_EQ(Metered(MeterKind::kIntegration, "fleet-7"), 4);
}

TEST_F(MeterTest, ARefundGivesTheMetersBack) {
  auto req = FromIntegration("192.0.2.7", "acme-probe");
  req.set_request_id("token-1");
  req.set_cost(2);
  ASSERT_TRUE(Acquire(req).allowed());
  ASSERT_EQ(Metered(MeterKind::kIntegration, "acme-probe"), 2);
  v1::RefundRequest refund;
  refund.set_request_id("token-1");
  ASSERT_TRUE(admission_->Refund(refund).ok());
  EXPECT_EQ(Metered(MeterKind::kIntegration, "acme-probe"), 0);
  EXPECT_EQ(Metered(MeterKind::kTier, "interactive"), 0);
}

TEST_F(MeterTest, ConcurrentAdmissionsGroupCommittedTogetherAreMeteredExactly) {
  // Many writers at once: the committer sums a batch's meter deltas into one.
  std::vector<std::thread> threads;
  std::atomic<int> admitted{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = admission_->Acquire(FromIntegration(absl::StrCat("10.", t, ".", i, ".1"), "acme"));
        if (r.ok() && r->allowed()) admitted.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(admitted.load(), 400);
  EXPECT_EQ(Metered(MeterKind::kIntegration, "acme"), 400);
  EXPECT_EQ(Metered(MeterKind::kTier, "interactive"), 400);
}

TEST_F(MeterTest, AFailedWriteMetersNothing) {
  store_->FailCommits(true);
  EXPECT_FALSE(admission_->Acquire(FromIntegration("192.0.2.7", "acme-probe")).ok());
  store_->FailCommits(false);
  EXPECT_EQ(Metered(MeterKind::kIntegration, "acme-probe"), 0);
  EXPECT_EQ(Metered(MeterKind::kTier, "interactive"), 0);
}

TEST_F(MeterTest, MetersDoNotDependOnTheIdentityKey) {
  ASSERT_TRUE(Acquire(FromIntegration("192.0.2.7", "acme-probe")).allowed());
  // The same store under another identity key (a key rotation): the client
  // counts anew, the meter carries on.
  hasher_ = std::move(IdentityHasher::Create(std::string(32, 'k')).value());
  MakeController({});
  ASSERT_TRUE(Acquire(FromIntegration("192.0.2.7", "acme-probe")).allowed());
  EXPECT_EQ(Metered(MeterKind::kIntegration, "acme-probe"), 2);
}

TEST_F(MeterTest, MetersAreKeptForThePolicysRetentionThenDropped) {
  ASSERT_TRUE(Acquire(FromIntegration("192.0.2.7", "acme-probe")).allowed());
  rocks_->SetRetention(policy_->Current()->retention());  // as the node does at start
  clock_.Advance(absl::Hours(24 * 399));
  ASSERT_EQ(MeterDays(MeterKind::kIntegration, "acme-probe", 400).size(), 1u);
  clock_.Advance(absl::Hours(24));
  EXPECT_TRUE(MeterDays(MeterKind::kIntegration, "acme-probe", 401).empty());
  // A shorter retention takes effect on reload.
  SetPolicy(absl::StrCat(kPolicy, "meter_retention_days: 35"));
  rocks_->SetRetention(policy_->Current()->retention());
  ASSERT_TRUE(Acquire(FromIntegration("192.0.2.7", "acme-probe")).allowed());
  clock_.Advance(absl::Hours(24 * 34));
  EXPECT_EQ(MeterDays(MeterKind::kIntegration, "acme-probe", 35).size(), 1u);
  clock_.Advance(absl::Hours(24));
  EXPECT_TRUE(MeterDays(MeterKind::kIntegration, "acme-probe", 36).empty());
}

// Two regions on one fake clock, replicating over a loopback network: a
// month of one integration's usage, reported alike by both, kept through a
// restart and rebuilt on a node whose data was wiped.
class MeterMonthTest : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<RocksDbCounterStore> store;
    std::unique_ptr<AdmissionController> admission;
    std::unique_ptr<Replicator> replicator;
    std::unique_ptr<NodeAnnouncer> announcer;
    std::unique_ptr<AdminServiceImpl> admin;
  };

  MeterMonthTest() : clock_(At("2026-10-01T12:00:00Z")) {
    policy_ = std::make_unique<PolicyHolder>(CompiledPolicy::FromText(kPolicy, "t").value());
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 'k')).value());
  }
  ~MeterMonthTest() override {
    for (int i = 0; i < 2; ++i) Close(i);
  }

  static std::string Name(int i) { return absl::StrCat("n", i + 1); }
  static std::string Region(int i) { return i == 0 ? "eu-west" : "us-east"; }

  void Open(int i, bool wipe = false) {
    Node& n = nodes_[i];
    RocksDbOptions options;
    options.path = dir_.Sub(wipe ? absl::StrCat(Name(i), "-wiped") : Name(i));
    options.node_id = Name(i);
    options.clock = &clock_;
    options.retention = policy_->Current()->retention();
    n.store = std::move(RocksDbCounterStore::Open(options).value());
    n.admission = std::make_unique<AdmissionController>(n.store.get(), policy_.get(), hasher_.get(),
                                                        &clock_, nullptr, AdmissionOptions{});
    ReplicatorOptions ro;
    ro.node_id = Name(i);
    ro.gossip_interval = absl::Milliseconds(10);
    ro.anti_entropy_interval = absl::Seconds(3600);  // rounds are run by the test
    ro.transport = network_.TransportFor(Name(i));
    ro.peers.push_back({Name(1 - i), "loopback"});
    n.replicator = std::make_unique<Replicator>(n.admission.get(), n.store.get(), n.store.get(),
                                                policy_.get(), &clock_, ro);
    ASSERT_TRUE(n.replicator->RestoreRecordClock().ok());
    ASSERT_TRUE(n.replicator->RebuildDigests().ok());
    AddNodeRecordKinds(n.replicator.get());
    network_.Register(Name(i), n.replicator.get());
    n.announcer = std::make_unique<NodeAnnouncer>(
        n.replicator.get(), policy_.get(), NodeInfo{Name(i), Region(i), "test"}, n.store->origin());
    ASSERT_TRUE(n.announcer->Start().ok());
    n.replicator->Start();
    AdminDeps deps;
    deps.store = n.store.get();
    deps.replicator = n.replicator.get();
    deps.policy = policy_.get();
    deps.clock = &clock_;
    deps.node_id = Name(i);
    deps.region = Region(i);
    n.admin = std::make_unique<AdminServiceImpl>(std::move(deps));
  }
  void Close(int i) {
    Node& n = nodes_[i];
    if (n.replicator == nullptr) return;
    n.replicator->Stop();
    network_.Register(Name(i), nullptr);
    n.admin.reset();
    n.announcer.reset();
    n.replicator.reset();
    n.admission.reset();
    n.store.reset();
  }

  bool Admit(int node, const std::string& ip, const std::string& request_id = "") {
    v1::AcquireRequest r = Req(ip);
    r.set_integration_id("acme-probe");
    r.set_request_id(request_id);
    auto resp = nodes_[node].admission->Acquire(r);
    return resp.ok() && resp->allowed();
  }
  absl::StatusOr<v1::UsageReport> Report(int node, const std::string& from, const std::string& to) {
    v1::UsageReportRequest req;
    req.set_integration_id("acme-probe");
    req.set_from(from);
    req.set_to(to);
    return nodes_[node].admin->DoGetUsageReport(req);
  }
  // day -> units, and region -> {charged, refunded} over the report.
  using Days = std::map<std::string, int64_t>;
  using Regions = std::map<std::string, std::pair<int64_t, int64_t>>;
  static Days DaysOf(const v1::UsageReport& r) {
    Days out;
    for (const auto& d : r.days()) out[d.day()] = d.units();
    return out;
  }
  static Regions RegionsOf(const v1::UsageReport& r) {
    Regions out;
    for (const auto& g : r.regions()) out[g.region()] = {g.charged(), g.refunded()};
    return out;
  }
  absl::Status AwaitReport(int node, const std::string& from, const std::string& to,
                           const Days& days, const Regions& regions) {
    return testing::Await(absl::StrCat(Name(node), "'s report"), absl::Seconds(20),
                          [&]() -> absl::Status {
                            auto r = Report(node, from, to);
                            if (!r.ok()) return r.status();
                            if (DaysOf(*r) != days || RegionsOf(*r) != regions) {
                              return absl::UnavailableError(r->ShortDebugString());
                            }
                            return absl::OkStatus();
                          });
  }

  testing::TempDir dir_;
  FakeClock clock_;
  testing::LoopbackNetwork network_;  // outlives the replicators
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::array<Node, 2> nodes_;
};

TEST_F(MeterMonthTest, AMonthOfUsageReplicatesSurvivesARestartAndHealsAWipedNode) {
  Open(0);
  Open(1);
  const std::string first = DayText(BucketOf(BucketUnit::kDay, clock_.Now()));
  Days days;
  Regions regions;
  for (int day = 0; day < 31; ++day) {
    const int in_eu = day % 3 + 1;  // new clients every day
    for (int t = 0; t < in_eu; ++t) ASSERT_TRUE(Admit(0, absl::StrCat("10.0.", day, ".", t)));
    ASSERT_TRUE(Admit(1, absl::StrCat("10.1.", day, ".1")));
    days[DayText(BucketOf(BucketUnit::kDay, clock_.Now()))] = in_eu + 1;
    regions["eu-west"].first += in_eu;
    regions["us-east"].first += 1;
    if (day == 10) {
      // Admitted in eu-west, refunded in us-east once the record got there.
      ASSERT_TRUE(Admit(0, "10.2.0.1", "refund-me"));
      v1::RefundRequest refund;
      refund.set_request_id("refund-me");
      ASSERT_TRUE(testing::AwaitTrue("the refund finds the admission", absl::Seconds(10), [&] {
                    return nodes_[1].admission->Refund(refund).ok();
                  }).ok());
      regions["eu-west"].first += 1;
      regions["us-east"].second += 1;
    }
    clock_.Advance(absl::Hours(24));
  }
  const std::string last = DayText(BucketsBefore(BucketOf(BucketUnit::kDay, clock_.Now()), 1));
  ASSERT_EQ(days.size(), 31u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(AwaitReport(i, first, last, days, regions).ok()) << Name(i);
  }
  auto report = Report(1, first, last);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->total_units(), 31 * 1 + (11 * 1 + 10 * 2 + 10 * 3));
  EXPECT_EQ(report->days(10).regions_size(), 2);

  // A restart (a new incarnation, a new origin) keeps the month.
  Close(1);
  Open(1);
  EXPECT_TRUE(AwaitReport(1, first, last, days, regions).ok());
  // A node whose data is lost gets the month back from its peer, its own
  // earlier charges included (origin records too: regions stay named).
  Close(1);
  Open(1, /*wipe=*/true);
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(20), true).ok());
  EXPECT_TRUE(AwaitReport(1, first, last, days, regions).ok());
}

TEST(UsageReportTest, BadRequestsAreRefusedNamingTheField) {
  auto check = [](const std::string& integration, const std::string& tier, const std::string& from,
                  const std::string& to) {
    v1::UsageReportRequest r;
    r.set_integration_id(integration);
    r.set_tier(tier);
    r.set_from(from);
    r.set_to(to);
    return CheckUsageReportRequest(r).status();
  };
  EXPECT_TRUE(check("acme", "", "2026-11-01", "2026-11-30").ok());
  EXPECT_TRUE(check("", "automated", "2026-11-30", "2026-11-30").ok());
  auto refused = [](const absl::Status& s, const std::string& field) {
    return s.code() == absl::StatusCode::kInvalidArgument && absl::StartsWith(s.message(), field);
  };
  EXPECT_TRUE(refused(check("", "", "2026-11-01", "2026-11-30"), "integration_id, tier"));
  EXPECT_TRUE(refused(check("a", "b", "2026-11-01", "2026-11-30"), "integration_id, tier"));
  EXPECT_TRUE(refused(check("a", "", "", "2026-11-30"), "from"));
  EXPECT_TRUE(refused(check("a", "", "2026-11-01", "2026-11-31"), "to"));
  EXPECT_TRUE(refused(check("a", "", "2026-1-01", "2026-11-30"), "from"));
  EXPECT_TRUE(refused(check("a", "", "11/01/2026", "2026-11-30"), "from"));
  EXPECT_TRUE(refused(check("a", "", "1969-12-31", "2026-11-30"), "from"));
  EXPECT_TRUE(refused(check("a", "", "2026-11-30", "2026-11-01"), "from"));
  EXPECT_TRUE(refused(check("a", "", "2020-01-01", "2026-11-30"), "to"));  // > 1830 days
}

TEST(UsageReportTest, EveryDayListedRegionsNamedAndARefundNeverBelowZero) {
  v1::UsageReportRequest req;
  req.set_tier("automated");
  req.set_from("2026-11-01");
  req.set_to("2026-11-04");
  const UsageReportQuery q = CheckUsageReportRequest(req).value();
  const uint32_t nov1 = q.from_day, nov2 = nov1 + 1, nov3 = nov1 + 2;
  const CounterId other = MeterId(MeterKind::kTier, "interactive");
  auto slot = [&](const CounterId& id, uint32_t day, uint64_t origin, CountKind kind, uint64_t v) {
    return SlotValue{SlotKey{id, day, origin, kind}, v};
  };
  const std::vector<SlotValue> slots = {
      slot(q.meter, nov1 - 1, 1, CountKind::kCharged, 50),  // before the range
      slot(q.meter, nov1, 1, CountKind::kCharged, 5),
      slot(q.meter, nov1, 2, CountKind::kCharged, 3),
      slot(q.meter, nov3, 7, CountKind::kCharged, 2),   // an origin no record names
      slot(q.meter, nov3, 2, CountKind::kRefunded, 4),  // more refunded than charged
      slot(other, nov2, 1, CountKind::kCharged, 9),     // another meter
  };
  std::map<std::string, NodeInfo> origins = {{OriginHex(1), {"n1", "eu-west", "v"}},
                                             {OriginHex(2), {"n2", "us-east", "v"}}};
  const v1::UsageReport r = BuildUsageReport(req, q, slots, origins, /*oldest_kept=*/nov2);
  ASSERT_EQ(r.days_size(), 4);
  EXPECT_EQ(r.days(0).day(), "2026-11-01");
  EXPECT_FALSE(r.days(0).retained());  // older than the node keeps
  EXPECT_TRUE(r.days(1).retained());
  EXPECT_EQ(r.days(0).units(), 8);
  EXPECT_EQ(r.days(1).units(), 0);
  EXPECT_EQ(r.days(2).units(), 0);  // 2 charged, 4 refunded: never below 0
  EXPECT_EQ(r.days(3).day(), "2026-11-04");
  EXPECT_EQ(r.total_units(), 8);
  ASSERT_EQ(r.regions_size(), 3);
  EXPECT_EQ(r.regions(0).region(), "eu-west");
  EXPECT_EQ(r.regions(0).charged(), 5);
  EXPECT_EQ(r.regions(1).region(), "unknown");
  EXPECT_EQ(r.regions(2).region(), "us-east");
  EXPECT_EQ(r.regions(2).charged(), 3);
  EXPECT_EQ(r.regions(2).refunded(), 4);
  EXPECT_EQ(r.tier(), "automated");
}

}  // namespace
}  // namespace quotad
