// Replicators wired over real loopback gRPC inside one process, with an
// injected clock: last-writer-wins records and counter anti-entropy.
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "quotad/replication/gossip_service.h"
#include "quotad/replication/replicator.h"
#include "quotad/server/listeners.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/await.h"
#include "tests/testing/fault_proxy.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::FaultProxy;

constexpr int kNodes = 3;

class MiniCluster : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<RocksDbCounterStore> store;
    std::unique_ptr<AdmissionController> admission;
    std::unique_ptr<Replicator> replicator;
    std::unique_ptr<GossipServiceImpl> service;
    std::unique_ptr<grpc::Server> server;
  };

  void SetUp() override {
    policy_ = std::make_unique<PolicyHolder>(
        CompiledPolicy::FromText("tiers { name: \"interactive\" daily_limit: 40 }", "t").value());
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 'k')).value());
    for (int i = 0; i < kNodes; ++i) {
      for (int j = 0; j < kNodes; ++j) {
        proxies_[i][j] = i == j ? nullptr : std::make_unique<FaultProxy>();
      }
    }
    for (int i = 0; i < kNodes; ++i) {
      Node& n = nodes_[i];
      RocksDbOptions options;
      options.path = dir_.Sub(absl::StrCat("n", i));
      options.clock = &clock_;
      options.elapsed_clock = &clock_;  // the fake clock models real time: compaction may delete
      n.store = std::move(RocksDbCounterStore::Open(options).value());
      n.admission = std::make_unique<AdmissionController>(n.store.get(), policy_.get(),
                                                          hasher_.get(), &clock_, nullptr,
                                                          AdmissionOptions{});
      ReplicatorOptions ro;
      ro.node_id = Name(i);
      ro.gossip_interval = absl::Milliseconds(20);
      ro.anti_entropy_interval = absl::Seconds(3600);  // tests call it explicitly
      for (int j = 0; j < kNodes; ++j) {
        if (j != i) ro.peers.push_back({Name(j), absl::StrCat("127.0.0.1:", proxies_[i][j]->port())});
      }
      n.replicator = std::make_unique<Replicator>(n.admission.get(), n.store.get(), n.store.get(),
                                                  policy_.get(), &clock_, ro);
      n.replicator->AddRecordKind("");  // these tests write records of any kind
      n.service = std::make_unique<GossipServiceImpl>(n.replicator.get());
      // The production peer listener (same limits as main()).
      auto listener = StartListener(ListenerKind::kPeer, "127.0.0.1:0", {n.service.get()});
      ASSERT_TRUE(listener.ok()) << listener.status();
      n.server = std::move(listener->server);
      const int port = listener->port;
      for (int j = 0; j < kNodes; ++j) {
        if (j != i) proxies_[j][i]->SetTarget(port);
      }
    }
  }

  void TearDown() override {
    for (Node& n : nodes_) {
      n.replicator->Stop();
      n.server->Shutdown();
    }
  }

  static std::string Name(int i) { return absl::StrCat("n", i + 1); }
  void StartGossip() {
    for (Node& n : nodes_) n.replicator->Start();
  }
  void Partition(int i, bool cut) {
    for (int j = 0; j < kNodes; ++j) {
      if (j == i) continue;
      proxies_[i][j]->SetPartitioned(cut);
      proxies_[j][i]->SetPartitioned(cut);
    }
  }
  std::optional<std::string> Read(int i, const std::string& key) {
    auto r = nodes_[i].replicator->GetRecord(key);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || !r->has_value()) return std::nullopt;
    return (*r)->value();
  }
  // Polls until every node in `nodes` (default: all) reads `expected` for `key`.
  bool AwaitRecord(const std::string& key, std::optional<std::string> expected,
                   std::vector<int> nodes = {0, 1, 2}) {
    absl::Status s = testing::Await(absl::StrCat("record ", key), absl::Seconds(10), [&] {
      for (int i : nodes) {
        if (Read(i, key) != expected) {
          return absl::UnavailableError(absl::StrCat(Name(i), " reads ", Read(i, key).value_or("nothing")));
        }
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return s.ok();
  }
  int64_t Used(int i, const std::string& ip) {
    v1::AcquireRequest req;
    req.set_ip(ip);
    return nodes_[i].admission->Check(req)->limits(0).used();
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::Now()};
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::unique_ptr<FaultProxy> proxies_[kNodes][kNodes];
  Node nodes_[kNodes];
};

TEST_F(MiniCluster, ARecordWrittenOnOneNodeIsReadOnAll) {
  StartGossip();
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("ban/cidr/203.0.113.0/24", "banned",
                                              absl::InfiniteFuture()).ok());
  EXPECT_TRUE(AwaitRecord("ban/cidr/203.0.113.0/24", "banned"));
  int listed = 0;
  ASSERT_TRUE(nodes_[2].replicator->ListRecords("ban/", [&](const v1::ReplicatedRecord& r) {
    ++listed;
    EXPECT_EQ(r.node_id(), "n1");
    return true;
  }).ok());
  EXPECT_EQ(listed, 1);
}

TEST_F(MiniCluster, ConcurrentWritesConvergeOnTheLastWriter) {
  StartGossip();
  Partition(0, true);
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("tier/integration/acme", "registered-1",
                                              absl::InfiniteFuture()).ok());
  clock_.Advance(absl::Milliseconds(5));
  auto later = nodes_[1].replicator->PutRecord("tier/integration/acme", "registered-3",
                                               absl::InfiniteFuture());
  ASSERT_TRUE(later.ok());
  // The connected side gossips the later write; the island keeps its own.
  ASSERT_TRUE(AwaitRecord("tier/integration/acme", "registered-3", {1, 2}));
  EXPECT_EQ(Read(0, "tier/integration/acme"), "registered-1");
  Partition(0, false);
  EXPECT_TRUE(AwaitRecord("tier/integration/acme", "registered-3"));
}

TEST_F(MiniCluster, DeletesAreTombstonesAndExpiredRecordsReadAsAbsent) {
  StartGossip();
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("ban/ip/x", "1", absl::InfiniteFuture()).ok());
  ASSERT_TRUE(AwaitRecord("ban/ip/x", "1"));
  ASSERT_TRUE(nodes_[1].replicator->DeleteRecord("ban/ip/x").ok());
  EXPECT_TRUE(AwaitRecord("ban/ip/x", std::nullopt));
  // A temporary record lifts itself everywhere when it expires.
  ASSERT_TRUE(nodes_[2].replicator->PutRecord("ban/ip/y", "1", clock_.Now() + absl::Hours(24)).ok());
  ASSERT_TRUE(AwaitRecord("ban/ip/y", "1"));
  clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  EXPECT_TRUE(AwaitRecord("ban/ip/y", std::nullopt));
}

TEST_F(MiniCluster, ADeletedBanNeverComesBackFromAPeerThatWasAwayForMonths) {
  // No gossip threads: explicit anti-entropy rounds only. Peer indexes: n1's
  // are {n2, n3}, n3's are {n1, n2}.
  const auto deadline = [] { return absl::Now() + absl::Seconds(10); };
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("ban/ip/x", "1", absl::InfiniteFuture()).ok());
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("ban/ip/t", "1", clock_.Now() + absl::Hours(1)).ok());
  ASSERT_TRUE(nodes_[2].replicator->AntiEntropyWith(0, deadline()).ok());
  ASSERT_EQ(Read(2, "ban/ip/x"), "1");
  ASSERT_EQ(Read(2, "ban/ip/t"), "1");
  // n3 goes away; the ban is deleted meanwhile and seen by n2.
  ASSERT_TRUE(nodes_[0].replicator->DeleteRecord("ban/ip/x").ok());
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, deadline()).ok());
  ASSERT_EQ(Read(1, "ban/ip/x"), std::nullopt);
  // Four hundred days later, after compactions everywhere but on n3.
  clock_.Advance(absl::Hours(24 * 400));
  ASSERT_TRUE(nodes_[0].store->CompactAll().ok());
  ASSERT_TRUE(nodes_[1].store->CompactAll().ok());
  auto tombstone = nodes_[0].store->GetRecord("ban/ip/x");
  ASSERT_TRUE(tombstone.ok() && tombstone->has_value() && (*tombstone)->deleted())
      << "the tombstone is kept";
  auto expired = nodes_[0].store->GetRecord("ban/ip/t");
  ASSERT_TRUE(expired.ok() && !expired->has_value()) << "a long-expired record is dropped";
  // n3 comes back with its old live copy: every pull, both ways, keeps the delete.
  ASSERT_TRUE(nodes_[0].replicator->AntiEntropyWith(1, deadline()).ok());
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(1, deadline()).ok());
  ASSERT_TRUE(nodes_[2].replicator->AntiEntropyWith(0, deadline()).ok());
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(Read(i, "ban/ip/x"), std::nullopt) << Name(i);
    EXPECT_EQ(Read(i, "ban/ip/t"), std::nullopt) << Name(i);
  }
  // And the expired record n3 still holds was not written back on n1.
  expired = nodes_[0].store->GetRecord("ban/ip/t");
  EXPECT_TRUE(expired.ok() && !expired->has_value());
}

TEST_F(MiniCluster, AntiEntropyAloneRepairsCountersAndRecordsAndThenMovesNothing) {
  // No gossip threads: only explicit anti-entropy rounds move data.
  for (int c = 0; c < 500; ++c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.", c / 256, ".", c % 256, ".1"));
    ASSERT_TRUE(nodes_[0].admission->Acquire(req)->allowed());
  }
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("note", "x", absl::InfiniteFuture()).ok());
  EXPECT_EQ(Used(1, "10.1.7.1"), 0);
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(Used(1, "10.1.7.1"), 1);
  EXPECT_EQ(Read(1, "note"), "x");
  auto status = nodes_[1].replicator->Status();
  const uint64_t repaired = status.peers(0).ranges_repaired();
  EXPECT_GT(repaired, 0u);
  // A second round finds equal digests and pulls nothing.
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(nodes_[1].replicator->Status().peers(0).ranges_repaired(), repaired);
  // One more charge differs in exactly the ranges of its counters: its
  // client's and its tier's usage meter's (meters.h).
  v1::AcquireRequest req;
  req.set_ip("10.1.7.1");
  ASSERT_TRUE(nodes_[0].admission->Acquire(req)->allowed());
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(Used(1, "10.1.7.1"), 2);
  EXPECT_LE(nodes_[1].replicator->Status().peers(0).ranges_repaired(), repaired + 2);
}

TEST_F(MiniCluster, AWriteRightAfterARestartWinsEvenWithTheClockSteppedBack) {
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("override/x", "old", absl::InfiniteFuture()).ok());
  // The node restarts with its wall clock an hour behind.
  nodes_[0].replicator->Stop();
  FakeClock behind(clock_.Now() - absl::Hours(1));
  ReplicatorOptions ro;
  ro.node_id = Name(0);
  Replicator restarted(nodes_[0].admission.get(), nodes_[0].store.get(), nodes_[0].store.get(),
                       policy_.get(), &behind, ro);
  restarted.AddRecordKind("");
  ASSERT_TRUE(restarted.RestoreRecordClock().ok());
  auto written = restarted.PutRecord("override/x", "new", absl::InfiniteFuture());
  ASSERT_TRUE(written.ok()) << written.status();
  auto read = restarted.GetRecord("override/x");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->value(), "new");
}

TEST_F(MiniCluster, AntiEntropyPullsOnlyTheHoursThatDiffer) {
  auto charge = [&](int node, int first, int count) {
    for (int c = first; c < first + count; ++c) {
      v1::AcquireRequest req;
      req.set_ip(absl::StrCat("10.", c / 65536, ".", c / 256 % 256, ".", c % 256));
      ASSERT_TRUE(nodes_[node].admission->Acquire(req)->allowed());
    }
  };
  charge(0, 0, 5000);
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(30)).ok());
  // Every client's slot, and the day slot of their tier's usage meter.
  const uint64_t first = nodes_[1].replicator->Status().peers(0).slots_pulled();
  EXPECT_EQ(first, 5000u + 1);
  // Three hours later 10 more clients: every range they touch also holds
  // ~20 older slots, but only the 10 new ones move (and the meter's).
  clock_.Advance(absl::Hours(3));
  charge(0, 5000, 10);
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(30)).ok());
  EXPECT_EQ(nodes_[1].replicator->Status().peers(0).slots_pulled() - first, 10u + 1);
  EXPECT_EQ(Used(1, "10.0.19.140"), 1);  // client 5004
}

TEST_F(MiniCluster, AMonthCounterIsRepairedAcrossDaysAndOutlivesTheHourRetention) {
  // No gossip threads: explicit anti-entropy rounds only. The 2nd of a month,
  // so the days below stay inside it.
  const absl::CivilMonth month = absl::ToCivilMonth(clock_.Now(), absl::UTCTimeZone());
  clock_.Set(absl::FromCivil(month + 1, absl::UTCTimeZone()) + absl::Hours(25));
  policy_->Set(CompiledPolicy::FromText(R"pb(
                                          tiers { name: "interactive" daily_limit: 40 }
                                          tiers { name: "data" claimable: true }
                                          limits {
                                            name: "monthly"
                                            counts: PART_INTEGRATION
                                            tiers: "data"
                                            service: "data/*"
                                            window: CALENDAR_MONTH_UTC
                                            limit: 1000
                                          }
                                          limits {
                                            name: "per_minute"
                                            counts: PART_INTEGRATION
                                            tiers: "data"
                                            service: "data/*"
                                            window: MINUTE_UTC
                                            limit: 1000
                                          }
                                          meter_retention_days: 35
                                        )pb",
                                        "t")
                   .value());
  v1::AcquireRequest req;
  req.set_ip("192.0.2.1");
  req.set_integration_id("lab-1");
  req.set_integration_tier("data");
  req.set_service("data/gcs");
  auto used = [&](int node, const char* row) -> int64_t {
    auto r = nodes_[node].admission->Check(req);
    EXPECT_TRUE(r.ok()) << r.status();
    for (const auto& l : r->limits()) {
      if (l.name() == row) return l.used();
    }
    return -1;
  };
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(nodes_[0].admission->Acquire(req)->allowed());
  // Three days on (past the 48 h hour retention and the 64-hour digest
  // ring), after compactions: n2 never heard of it, and one round repairs it.
  clock_.Advance(absl::Hours(72));
  ASSERT_TRUE(nodes_[0].store->CompactAll().ok());
  auto explained = nodes_[0].admission->Explain(req);
  ASSERT_TRUE(explained.ok()) << explained.status();
  CounterId id;
  for (const auto& c : explained->counters) {
    if (c.name == "monthly") id = c.id;
  }
  auto kept = nodes_[0].store->ReadCounterSlots(id, MakeBucket(BucketUnit::kDay, 0));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->size(), 1u) << "compaction kept the day bucket";
  EXPECT_EQ(used(0, "monthly"), 10);
  EXPECT_EQ(used(1, "monthly"), 0);
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(used(1, "monthly"), 10);
  // Only the month counter's one day slot moved, with the day slots of the
  // request's two usage meters (tier, integration; minute buckets are never
  // compared), and a second round finds the day sketches equal.
  const auto status = nodes_[1].replicator->Status();
  EXPECT_EQ(status.peers(0).slots_pulled(), 3u);
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(nodes_[1].replicator->Status().peers(0).ranges_repaired(),
            status.peers(0).ranges_repaired());
  // Past the day retention (meter_retention_days: 35, set as a node does on
  // reload) the bucket is no longer read.
  nodes_[1].store->SetRetention(policy_->Current()->retention());
  clock_.Advance(absl::Hours(24 * 36));
  ASSERT_TRUE(nodes_[1].store->CompactAll().ok());
  auto slots = nodes_[1].store->ReadCounterSlots(id, MakeBucket(BucketUnit::kDay, 0));
  ASSERT_TRUE(slots.ok());
  EXPECT_TRUE(slots->empty());
}

TEST_F(MiniCluster, ALinkCutOneWayIsRepairedThroughAThirdNodeAndPushedOriginsAreNotPulled) {
  proxies_[0][2]->SetPartitioned(true);  // n1 -> n3 only
  StartGossip();
  for (int c = 0; c < 20; ++c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.9.0.", c));
    ASSERT_TRUE(nodes_[0].admission->Acquire(req)->allowed());
  }
  absl::Status pushed = testing::Await("n2 counts n1's charges by push", absl::Seconds(10), [&] {
    return Used(1, "10.9.0.19") == 1 ? absl::OkStatus() : absl::UnavailableError("not yet");
  });
  ASSERT_TRUE(pushed.ok()) << pushed;
  EXPECT_EQ(Used(2, "10.9.0.19"), 0);
  // n2 hears n1 by push: comparing with n3 leaves n1's slot out, pulls nothing.
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(1, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(nodes_[1].replicator->Status().peers(1).slots_pulled(), 0u);
  // n3 never heard n1: it compares n1's slot and pulls it from n2.
  ASSERT_TRUE(nodes_[2].replicator->AntiEntropyWith(1, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(Used(2, "10.9.0.19"), 1);
  EXPECT_EQ(nodes_[2].replicator->Status().peers(1).slots_pulled(), 20u + 1);  // + the tier meter
}

}  // namespace
}  // namespace quotad
