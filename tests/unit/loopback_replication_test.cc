// Replication driven without sockets: three nodes (real RocksDB stores and
// admission controllers) whose replicators reach each other through a
// LoopbackNetwork. What gRPC adds (limits, listeners) is covered by
// record_replication_test and the e2e cluster tests.
#include <array>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/admin/override_store.h"
#include "quotad/replication/hlc.h"
#include "quotad/replication/peer_limits.h"
#include "quotad/replication/replicator.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/await.h"
#include "tests/testing/loopback_transport.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

constexpr int kNodes = 3;

class LoopbackCluster : public ::testing::Test {
 protected:
  struct Node {
    std::unique_ptr<RocksDbCounterStore> store;
    std::unique_ptr<AdmissionController> admission;
    std::unique_ptr<Replicator> replicator;
  };

  void SetUp() override {
    policy_ = std::make_unique<PolicyHolder>(
        CompiledPolicy::FromText("tiers { name: \"interactive\" daily_limit: 40 }", "t").value());
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 'k')).value());
    for (int i = 0; i < kNodes; ++i) {
      Node& n = nodes_[i];
      RocksDbOptions options;
      options.path = dir_.Sub(Name(i));
      n.store = std::move(RocksDbCounterStore::Open(options).value());
      n.admission = std::make_unique<AdmissionController>(n.store.get(), policy_.get(),
                                                          hasher_.get(), RealClock::Real(),
                                                          nullptr, AdmissionOptions{});
      ReplicatorOptions ro;
      ro.node_id = Name(i);
      ro.gossip_interval = absl::Milliseconds(10);
      ro.anti_entropy_interval = absl::Seconds(3600);  // tests run rounds themselves
      ro.transport = network_.TransportFor(Name(i));
      for (int j = 0; j < kNodes; ++j) {
        if (j != i) ro.peers.push_back({Name(j), "loopback"});
      }
      n.replicator = std::make_unique<Replicator>(n.admission.get(), n.store.get(),
                                                  n.store.get(), policy_.get(),
                                                  RealClock::Real(), ro);
      // The production check of overrides; bans under a test-only kind.
      n.replicator->AddRecordKind(OverrideStore::kRecordPrefix, &OverrideStore::CheckRecord);
      n.replicator->AddRecordKind("ban/");
      network_.Register(Name(i), n.replicator.get());
    }
  }
  void TearDown() override {
    for (Node& n : nodes_) n.replicator->Stop();
  }

  static std::string Name(int i) { return absl::StrCat("n", i + 1); }
  static v1::AcquireRequest Client(int c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.", c / 256, ".", c % 256, ".1"));
    return req;
  }
  int64_t Used(int node, int client) {
    return nodes_[node].admission->Check(Client(client))->limits(0).used();
  }
  absl::Status AwaitUsed(int node, int client, int64_t expected) {
    return testing::Await(absl::StrCat(Name(node), " counts client ", client), absl::Seconds(10),
                          [&]() -> absl::Status {
                            const int64_t used = Used(node, client);
                            if (used == expected) return absl::OkStatus();
                            return absl::UnavailableError(absl::StrCat("used ", used));
                          });
  }

  testing::TempDir dir_;
  testing::LoopbackNetwork network_;  // outlives the replicators (declared first)
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::array<Node, kNodes> nodes_;
};

TEST_F(LoopbackCluster, PushesReachEveryPeerWithoutSockets) {
  for (Node& n : nodes_) n.replicator->Start();
  ASSERT_TRUE(nodes_[0].admission->Acquire(Client(1))->allowed());
  ASSERT_TRUE(nodes_[1].admission->Acquire(Client(1))->allowed());
  for (int i = 0; i < kNodes; ++i) EXPECT_TRUE(AwaitUsed(i, 1, 2).ok()) << Name(i);
  EXPECT_GT(network_.delivered(), 0);
}

TEST_F(LoopbackCluster, APartitionedNodeIsRepairedByAntiEntropyAfterTheCutHeals) {
  network_.Partition(Name(2), true);
  for (int c = 0; c < 300; ++c) ASSERT_TRUE(nodes_[0].admission->Acquire(Client(c))->allowed());
  ASSERT_TRUE(nodes_[0].replicator->PutRecord("ban/ip/x", "1", absl::InfiniteFuture()).ok());
  // Across the cut a round fails like an unreachable peer, and moves nothing.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  EXPECT_EQ(nodes_[2].replicator->AntiEntropyWith(0, deadline).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Used(2, 7), 0);
  network_.Partition(Name(2), false);
  ASSERT_TRUE(nodes_[2].replicator->AntiEntropyWith(0, deadline).ok());
  for (int c = 0; c < 300; c += 37) EXPECT_EQ(Used(2, c), 1) << "client " << c;
  auto ban = nodes_[2].replicator->GetRecord("ban/ip/x");
  ASSERT_TRUE(ban.ok() && ban->has_value());
  EXPECT_EQ((*ban)->value(), "1");
}

TEST_F(LoopbackCluster, ALinkCutOneWayStillLetsTheOtherDirectionPull) {
  network_.SetLink(Name(0), Name(1), false);  // n1 cannot reach n2
  ASSERT_TRUE(nodes_[0].admission->Acquire(Client(5))->allowed());
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  EXPECT_FALSE(nodes_[0].replicator->AntiEntropyWith(0, deadline).ok());  // n1 -> n2
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, deadline).ok());   // n2 -> n1
  EXPECT_EQ(Used(1, 5), 1);
}

// A push n1 -> n2 carrying every slot n1 holds, as n1's replicator would.
v1::PushRequest PushOfAllSlots(RocksDbCounterStore& from, const IdentityHasher& key) {
  v1::PushRequest push;
  push.set_from_node_id("n1");
  push.set_to_node_id("n2");
  push.add_key_fingerprints(key.KeyFingerprint());
  push.set_from_origin(from.origin());
  EXPECT_TRUE(from.ScanSlots("", 0, UINT32_MAX, "", SIZE_MAX, [&](const SlotValue& v) {
                    v1::Slot* slot = push.add_slots();
                    slot->set_key(v.key.Encode());
                    slot->set_value(v.value);
                    return true;
                  }).ok());
  return push;
}

v1::ReplicatedRecord Record(const std::string& key, const std::string& value) {
  v1::ReplicatedRecord r;
  r.set_key(key);
  r.set_value(value);
  r.set_node_id("n1");
  r.set_hlc(static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())) << 16);
  return r;
}

std::string OverrideValue(const std::string& cidr, const std::string& id) {
  v1::Override o;
  o.mutable_match()->set_cidr(cidr);
  o.set_id(id);
  o.set_tier("banned");
  return o.SerializeAsString();
}

TEST_F(LoopbackCluster, AForgedSlotValueAboveTheBoundIsRefusedWholeAndChangesNothing) {
  ASSERT_TRUE(nodes_[0].admission->Acquire(Client(7))->allowed());
  ASSERT_TRUE(nodes_[0].admission->Acquire(Client(8))->allowed());
  v1::PushRequest forged = PushOfAllSlots(*nodes_[0].store, *hasher_);
  ASSERT_GE(forged.slots_size(), 2);
  // 2^63 read as int64 is negative: it would lift the client's limit.
  forged.mutable_slots(0)->set_value(uint64_t{1} << 63);
  auto refused = nodes_[1].replicator->HandlePush(forged);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(Used(1, 7), 0);
  EXPECT_EQ(Used(1, 8), 0);  // the honest slots of the batch were not applied either
  EXPECT_EQ(nodes_[1].replicator->Status().rejected_malformed(), 1u);
  forged.mutable_slots(0)->set_value(kMaxSlotValue + 1);
  EXPECT_FALSE(nodes_[1].replicator->HandlePush(forged).ok());
  // The honest batch is applied.
  ASSERT_TRUE(nodes_[1].replicator->HandlePush(PushOfAllSlots(*nodes_[0].store, *hasher_)).ok());
  EXPECT_EQ(Used(1, 7), 1);
  EXPECT_EQ(Used(1, 8), 1);
}

TEST_F(LoopbackCluster, RecordsOfUnknownKindsOrWhoseKeyIsNotTheirIdAreRefused) {
  auto push_record = [&](v1::ReplicatedRecord record) {
    v1::PushRequest push;
    push.set_from_node_id("n1");
    push.set_to_node_id("n2");
    push.add_key_fingerprints(hasher_->KeyFingerprint());
    push.set_from_origin(nodes_[0].store->origin());
    *push.add_records() = std::move(record);
    return nodes_[1].replicator->HandlePush(push).status();
  };
  // A ban on every address filed under a harmless-looking key: the admin
  // API could never delete it by its id.
  EXPECT_EQ(push_record(Record("override/cidr/192.0.2.0/24",
                               OverrideValue("0.0.0.0/0", "cidr/0.0.0.0/0")))
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(push_record(Record("evil/x", "1")).code(), absl::StatusCode::kInvalidArgument);
  // A single address travels only as its keyed hash: a raw one is refused.
  v1::Override raw_ip;
  raw_ip.mutable_match()->set_ip("192.0.2.7");
  raw_ip.set_id("ip/192.0.2.7");
  raw_ip.set_tier("banned");
  EXPECT_EQ(push_record(Record("override/ip/192.0.2.7", raw_ip.SerializeAsString())).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(push_record(Record("override/cidr/192.0.2.0/24", "not a proto")).code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* key : {"override/cidr/192.0.2.0/24", "override/cidr/0.0.0.0/0", "evil/x"}) {
    auto stored = nodes_[1].store->GetRecord(key);
    EXPECT_TRUE(stored.ok() && !stored->has_value()) << key;
  }
  EXPECT_EQ(nodes_[1].replicator->Status().rejected_malformed(), 4u);
  // The well-formed override is accepted.
  ASSERT_TRUE(push_record(Record("override/cidr/192.0.2.0/24",
                                 OverrideValue("192.0.2.0/24", "cidr/192.0.2.0/24")))
                  .ok());
  EXPECT_TRUE(nodes_[1].replicator->GetRecord("override/cidr/192.0.2.0/24")->has_value());
  // Locally written records follow the same rules.
  EXPECT_EQ(nodes_[1].replicator->PutRecord("evil/y", "1", absl::InfiniteFuture()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LoopbackCluster, APeerHashingWithAnotherKeyIsRefusedCountedAndShown) {
  ASSERT_TRUE(nodes_[0].admission->Acquire(Client(3))->allowed());
  auto other_key = std::move(IdentityHasher::Create(std::string(32, 'x')).value());
  ASSERT_NE(other_key->KeyFingerprint(), hasher_->KeyFingerprint());
  auto refused =
      nodes_[1].replicator->HandlePush(PushOfAllSlots(*nodes_[0].store, *other_key));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("--hash_key_file"));
  EXPECT_EQ(Used(1, 3), 0);
  v1::GossipStatusResponse status = nodes_[1].replicator->Status();
  EXPECT_EQ(status.rejected_key_mismatch(), 1u);
  ASSERT_EQ(status.peers(0).node_id(), "n1");
  EXPECT_TRUE(status.peers(0).key_mismatch());
  // A push with no fingerprint at all is refused the same way.
  v1::PushRequest bare = PushOfAllSlots(*nodes_[0].store, *hasher_);
  bare.clear_key_fingerprints();
  EXPECT_EQ(nodes_[1].replicator->HandlePush(bare).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Real replicators share the key: anti-entropy works and the flag clears.
  ASSERT_TRUE(nodes_[0].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  ASSERT_TRUE(nodes_[1].replicator->AntiEntropyWith(0, absl::Now() + absl::Seconds(10)).ok());
  EXPECT_EQ(Used(1, 3), 1);
  EXPECT_FALSE(nodes_[1].replicator->Status().peers(0).key_mismatch());
}

}  // namespace
}  // namespace quotad

namespace quotad {
namespace {

TEST_F(LoopbackCluster, AnAdmittedRequestIdTravelsSoARetryOrARefundElsewhereFindsIt) {
  for (Node& n : nodes_) n.replicator->Start();
  v1::AcquireRequest req = Client(5);
  req.set_request_id("retry-me");
  auto first = nodes_[0].admission->Acquire(req);
  ASSERT_TRUE(first.ok() && first->allowed());
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(AwaitUsed(i, 5, 1).ok()) << Name(i);

  auto retry = nodes_[1].admission->Acquire(req);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->replayed());
  EXPECT_EQ(Used(1, 5), 1);
  v1::AcquireRequest other = Client(6);
  other.set_request_id("retry-me");
  EXPECT_EQ(nodes_[1].admission->Acquire(other).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::RefundRequest refund;
  refund.set_request_id("retry-me");
  auto given_back = nodes_[2].admission->Refund(refund);
  ASSERT_TRUE(given_back.ok()) << given_back.status();
  EXPECT_TRUE(given_back->refunded());
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(AwaitUsed(i, 5, 0).ok()) << Name(i);
  ASSERT_TRUE(testing::Await("n1 learns the refund", absl::Seconds(10), [&]() -> absl::Status {
                auto r = nodes_[0].admission->Acquire(req);
                if (!r.ok()) return r.status();
                if (r->replayed() && r->refunded()) return absl::OkStatus();
                return absl::UnavailableError("not refunded yet");
              }).ok());
  auto twice = nodes_[0].admission->Refund(refund);
  ASSERT_TRUE(twice.ok());
  EXPECT_FALSE(twice->refunded());
  for (int i = 0; i < kNodes; ++i) EXPECT_EQ(Used(i, 5), 0) << Name(i);
}

TEST_F(LoopbackCluster, AMalformedAdmissionRefusesTheWholePushAndStoresNothing) {
  v1::PushRequest push;
  push.set_from_node_id(Name(1));
  push.set_to_node_id(Name(0));
  push.set_from_origin(nodes_[1].admission->origin());
  for (std::string& f : nodes_[1].admission->KeyFingerprints()) push.add_key_fingerprints(f);
  v1::Admission* a = push.add_admissions();
  a->set_key(std::string(16, 'k'));
  a->set_expires_unix_micros(absl::ToUnixMicros(absl::Now() + absl::Hours(1)));
  a->set_record("\xff\xff not a record");
  auto refused = nodes_[0].replicator->HandlePush(push);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("admissions[0].record"));
  a->set_record("");
  a->set_expires_unix_micros(absl::ToUnixMicros(absl::Now() + absl::Hours(24 * 30)));
  refused = nodes_[0].replicator->HandlePush(push);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr("admissions[0].expires_unix_micros"));
  // Nothing was stored under the key.
  IdentityHash key;
  key.fill('k');
  auto stored = nodes_[0].store->GetIdempotency(key, absl::Now());
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());
}

}  // namespace
}  // namespace quotad

namespace quotad {
namespace {

TEST_F(LoopbackCluster, PeersAnswerStatsOnlyToPeersAndACutPeerIsReportedNotDropped) {
  for (int i = 1; i < kNodes; ++i) {
    nodes_[i].replicator->SetStatsProvider([i]() -> absl::StatusOr<v1::StatsResponse> {
      v1::StatsResponse s;
      s.set_node_id(Name(i));
      return s;
    });
  }
  // n3 serves none yet: the caller learns why.
  nodes_[2].replicator->SetStatsProvider(nullptr);
  network_.Partition(Name(1), true);
  const auto results = nodes_[0].replicator->CollectPeerStats(absl::Seconds(2));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].node_id, "n2");
  EXPECT_EQ(results[0].stats.status().code(), absl::StatusCode::kUnavailable);  // cut
  EXPECT_EQ(results[1].node_id, "n3");
  EXPECT_EQ(results[1].stats.status().code(), absl::StatusCode::kFailedPrecondition);
  network_.Partition(Name(1), false);
  const auto healed = nodes_[0].replicator->CollectPeerStats(absl::Seconds(2));
  ASSERT_TRUE(healed[0].stats.ok()) << healed[0].stats.status();
  EXPECT_EQ(healed[0].stats->node_id(), "n2");
  // Only a configured peer, addressed to this node, is answered.
  v1::NodeStatsRequest stranger;
  stranger.set_from_node_id("n9");
  stranger.set_to_node_id("n2");
  EXPECT_EQ(nodes_[1].replicator->HandleNodeStats(stranger).status().code(),
            absl::StatusCode::kPermissionDenied);
  v1::NodeStatsRequest misrouted;
  misrouted.set_from_node_id("n1");
  misrouted.set_to_node_id("n3");
  EXPECT_EQ(nodes_[1].replicator->HandleNodeStats(misrouted).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace quotad
