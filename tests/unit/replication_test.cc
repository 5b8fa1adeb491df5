// Replication building blocks: peer parsing, the digest sketch, and the CRDT
// merge of real replicas (AdmissionController + RocksDB) under random
// histories with duplicated and reordered deliveries.
#include <random>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/replication/peers.h"
#include "quotad/replication/replicator.h"
#include "quotad/replication/slot_digests.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

TEST(PeersTest, ParsesNodeIdEqualsHostPort) {
  auto peers = ParsePeers("n2=127.0.0.1:7001, n3=quotad-3.quotad.svc:7001,n4=[::1]:7002", "n1");
  ASSERT_TRUE(peers.ok()) << peers.status();
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[1].node_id, "n3");
  EXPECT_EQ((*peers)[1].address, "quotad-3.quotad.svc:7001");
  EXPECT_TRUE(ParsePeers("", "n1")->empty());
}

TEST(PeersTest, AClusterWideListSkipsThisNodesOwnEntry) {
  auto peers = ParsePeers("n1=h1:1,n2=h2:1,n3=h3:1", "n2");
  ASSERT_TRUE(peers.ok()) << peers.status();
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ((*peers)[0].node_id, "n1");
  EXPECT_EQ((*peers)[1].node_id, "n3");
  EXPECT_THAT(std::string(ParsePeers("n2=h:1,n2=h:2", "n2").status().message()),
              HasSubstr("duplicate"));
}

TEST(PeersTest, RejectsBadEntries) {
  EXPECT_THAT(std::string(ParsePeers("n2", "n1").status().message()), HasSubstr("node_id=host:port"));
  EXPECT_THAT(std::string(ParsePeers("n2=host", "n1").status().message()), HasSubstr("host:port"));
  EXPECT_THAT(std::string(ParsePeers("n2=h:1,n2=h:2", "n1").status().message()),
              HasSubstr("duplicate"));
  EXPECT_FALSE(ParsePeers("=h:1", "n1").ok());
}

SlotKey Key(uint8_t seed, uint32_t hour, uint64_t origin, CountKind kind = CountKind::kCharged) {
  CounterId id{KeySpace::kClient, {}};
  id.hash.fill(seed);
  return SlotKey{id, hour, origin, kind};
}

TEST(SlotDigestsTest, FingerprintIsStableAndKeySensitive) {
  // Deterministic (no per-process seed): every node must compute the same sketch.
  EXPECT_EQ(SlotDigests::Fingerprint(Key(1, 100, 7)), SlotDigests::Fingerprint(Key(1, 100, 7)));
  EXPECT_NE(SlotDigests::Fingerprint(Key(1, 100, 7)), SlotDigests::Fingerprint(Key(1, 100, 8)));
  EXPECT_NE(SlotDigests::Fingerprint(Key(1, 100, 7)), SlotDigests::Fingerprint(Key(1, 101, 7)));
  EXPECT_NE(SlotDigests::Fingerprint(Key(1, 100, 7)),
            SlotDigests::Fingerprint(Key(1, 100, 7, CountKind::kRefunded)));
  EXPECT_EQ(SlotDigests::RangeOf(Key(5, 1, 1).id), 5);
  EXPECT_EQ(SlotDigests::RangePrefix(5), std::string("\x01\x05", 2));
}

TEST(SlotDigestsTest, SketchIsLinearAndWindowed) {
  SlotDigests a, b;
  // a: one increment of 5; b: increments of 2 and 3 (same final value).
  a.Add(Key(1, 100, 7), 5);
  b.Add(Key(1, 100, 7), 2);
  b.Add(Key(1, 100, 7), 3);
  EXPECT_EQ(a.Compute(90, 110), b.Compute(90, 110));
  b.Add(Key(2, 100, 7), 1);
  auto da = a.Compute(90, 110), db = b.Compute(90, 110);
  EXPECT_EQ(da[1], db[1]);
  EXPECT_NE(da[2], db[2]);  // only range 2 differs
  EXPECT_EQ(b.Compute(101, 110)[2], 0u);  // outside the window
}

TEST(SlotDigestsTest, DayBucketsHaveTheirOwnRingAndMinuteBucketsAreNotSketched) {
  SlotDigests a, b;
  const uint32_t day = MakeBucket(BucketUnit::kDay, 20000);
  const uint32_t minute = MakeBucket(BucketUnit::kMinute, 29000000);
  a.Add(Key(3, day, 7), 5);
  b.Add(Key(3, minute, 7), 5);
  // Days: only a day window sees them, whatever origins are left out.
  EXPECT_NE(a.Compute(day - 33, day)[3], 0u);
  EXPECT_EQ(a.Compute(day - 33, day, {7}), a.Compute(day - 33, day));
  EXPECT_EQ(a.Compute(100, 110)[3], 0u);
  // Minutes: nothing anywhere.
  EXPECT_EQ(b.Compute(minute - 10, minute)[3], 0u);
  EXPECT_EQ(b.Compute(day - 33, day), SlotDigests().Compute(day - 33, day));
  // A day's refinement cell.
  EXPECT_EQ(a.ComputeHours({3}, day - 1, day, {}),
            (std::vector<uint64_t>{0, a.Compute(day, day)[3]}));
}

TEST(SlotDigestsTest, LeavingOutAnOriginSubtractsExactlyItsSlots) {
  SlotDigests a, b;
  for (uint8_t seed = 0; seed < 50; ++seed) {
    a.Add(Key(seed, 100, 7), seed + 1u);
    b.Add(Key(seed, 100, 7), seed + 1u);
    a.Add(Key(seed, 101, 9), 3);  // only a has origin 9's slots
  }
  EXPECT_NE(a.Compute(90, 110), b.Compute(90, 110));
  EXPECT_EQ(a.Separable({9, 12345}), std::vector<uint64_t>{9});
  EXPECT_EQ(a.Compute(90, 110, {9}), b.Compute(90, 110, {9}));
  // Refined per hour: only hour 101 differs, in the ranges origin 9 wrote.
  const std::vector<uint32_t> ranges = {3, 4};
  auto ha = a.ComputeHours(ranges, 100, 101, {}), hb = b.ComputeHours(ranges, 100, 101, {});
  ASSERT_EQ(ha.size(), 4u);
  EXPECT_EQ(ha[0], hb[0]);  // range 3, hour 100
  EXPECT_NE(ha[1], hb[1]);  // range 3, hour 101
  EXPECT_EQ(a.ComputeHours(ranges, 100, 101, {9}), hb);
}

TEST(SlotDigestsTest, ASlotOlderThanItsRingCellIsIgnoredNotWrittenOverTheNewerHour) {
  SlotDigests a, b;
  a.Add(Key(1, 200, 7), 1);
  b.Add(Key(1, 200, 7), 1);
  a.Add(Key(1, 200 - SlotDigests::kHours, 7), 5);  // same ring cell, 64 h older
  EXPECT_EQ(a.Compute(190, 200), b.Compute(190, 200));
}

TEST(SlotDigestsTest, TheStalestOriginIsForgottenWhenTheTableIsFull) {
  SlotDigests d;
  for (uint64_t o = 1; o <= SlotDigests::kMaxOrigins; ++o) {
    d.Add(Key(1, static_cast<uint32_t>(1000 + o), o), 1);
  }
  d.Add(Key(1, 2000, 999), 1);  // one origin too many: origin 1 (oldest hour) goes
  EXPECT_TRUE(d.Separable({1}).empty());
  EXPECT_EQ(d.Separable({2, 999}), (std::vector<uint64_t>{2, 999}));
  // A forgotten origin still counts in the totals.
  SlotDigests fresh;
  fresh.Add(Key(1, 1001, 1), 1);
  EXPECT_NE(d.Compute(1000, 1010)[1], 0u);
  d.Add(Key(1, 1001, 1), 1);  // and is never tracked again
  EXPECT_TRUE(d.Separable({1}).empty());
}

// Three real replicas exchanging slots in random order with duplicates.
class CrdtPropertyTest : public ::testing::TestWithParam<int> {
 protected:
  struct Replica {
    std::unique_ptr<RocksDbCounterStore> store;
    std::unique_ptr<AdmissionController> admission;
  };

  void SetUp() override {
    policy_ = std::make_unique<PolicyHolder>(
        CompiledPolicy::FromText("tiers { name: \"interactive\" daily_limit: 1000000 }", "t").value());
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 'k')).value());
    for (int i = 0; i < 3; ++i) {
      RocksDbOptions options;
      options.path = dir_.Sub(absl::StrCat("r", i));
      options.clock = &clock_;
      Replica r;
      r.store = std::move(RocksDbCounterStore::Open(options).value());
      r.admission = std::make_unique<AdmissionController>(r.store.get(), policy_.get(),
                                                          hasher_.get(), &clock_, nullptr,
                                                          AdmissionOptions{});
      replicas_.push_back(std::move(r));
    }
  }

  std::vector<SlotValue> AllSlots(Replica& r) {
    std::vector<SlotValue> out;
    EXPECT_TRUE(r.store->ScanSlots("", 0, UINT32_MAX, "", SIZE_MAX, [&](const SlotValue& v) {
      out.push_back(v);
      return true;
    }).ok());
    return out;
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::vector<Replica> replicas_;
};

TEST_P(CrdtPropertyTest, RandomHistoriesConvergeToTheSumOfAllIncrements) {
  std::mt19937 rng(static_cast<uint32_t>(GetParam()));
  const char* ips[] = {"192.0.2.1", "192.0.2.2", "198.51.100.3"};
  std::map<std::string, int> expected;  // ip -> total admitted
  // Each "message" is a snapshot of some of a replica's slots at some time.
  std::vector<std::vector<SlotValue>> messages;
  for (int step = 0; step < 300; ++step) {
    const int who = static_cast<int>(rng() % 3);
    switch (rng() % 3) {
      case 0: {  // a local charge
        v1::AcquireRequest req;
        req.set_ip(ips[rng() % 3]);
        ASSERT_TRUE(replicas_[static_cast<size_t>(who)].admission->Acquire(req)->allowed());
        ++expected[req.ip()];
        break;
      }
      case 1: {  // snapshot a random subset of who's state as a message
        auto slots = AllSlots(replicas_[static_cast<size_t>(who)]);
        std::vector<SlotValue> subset;
        for (const auto& s : slots) {
          if (rng() % 2) subset.push_back(s);
        }
        messages.push_back(subset);
        break;
      }
      case 2: {  // deliver a random old message (duplicates and reordering)
        if (messages.empty()) break;
        const auto& m = messages[rng() % messages.size()];
        ASSERT_TRUE(replicas_[static_cast<size_t>(who)].admission->MergeRemoteSlots(m).ok());
        break;
      }
    }
  }
  // Finally everyone hears everything, in a shuffled order, twice.
  std::vector<std::vector<SlotValue>> finals;
  for (auto& r : replicas_) finals.push_back(AllSlots(r));
  for (int round = 0; round < 2; ++round) {
    std::shuffle(finals.begin(), finals.end(), rng);
    for (auto& r : replicas_) {
      for (const auto& m : finals) ASSERT_TRUE(r.admission->MergeRemoteSlots(m).ok());
    }
  }
  for (auto& r : replicas_) {
    for (const auto& [ip, total] : expected) {
      v1::AcquireRequest req;
      req.set_ip(ip);
      auto resp = r.admission->Check(req);
      ASSERT_TRUE(resp.ok());
      EXPECT_EQ(resp->limits(0).used(), total) << ip;
    }
  }
  // Identical slot sets on every replica.
  auto reference = AllSlots(replicas_[0]);
  for (size_t i = 1; i < replicas_.size(); ++i) {
    auto other = AllSlots(replicas_[i]);
    ASSERT_EQ(other.size(), reference.size());
    for (size_t k = 0; k < other.size(); ++k) {
      EXPECT_EQ(other[k].key, reference[k].key);
      EXPECT_EQ(other[k].value, reference[k].value);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, CrdtPropertyTest, ::testing::Range(1, 9));

TEST_F(CrdtPropertyTest, MergeIsIdempotentCommutativeAndNeverLowersASlot) {
  auto& a = *replicas_[0].admission;
  const uint32_t h = HourOf(clock_.Now());
  const SlotValue x{Key(9, h, 111), 5}, y{Key(9, h, 111), 3}, z{Key(9, h, 222), 4};
  auto r1 = a.MergeRemoteSlots({x, y, z});
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->applied.size(), 2u);
  auto r2 = a.MergeRemoteSlots({z, y, x});  // replay, other order
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->applied.empty());
  EXPECT_EQ(r2->stale, 2u);
  EXPECT_EQ(*replicas_[0].store->GetSlots({x.key, z.key}), (std::vector<uint64_t>{5, 4}));
}

TEST_F(CrdtPropertyTest, PeersCannotRaiseThisIncarnationsOwnSlot) {
  auto& r = replicas_[0];
  v1::AcquireRequest req;
  req.set_ip("192.0.2.1");
  ASSERT_TRUE(r.admission->Acquire(req).ok());
  auto own = AllSlots(r);
  ASSERT_FALSE(own.empty());
  SlotValue inflated = own[0];
  inflated.value += 100;
  auto result = r.admission->MergeRemoteSlots({inflated, own[0]});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->rejected_own_slot, 1u);
  EXPECT_TRUE(result->applied.empty());
  EXPECT_EQ(r.admission->Check(req)->limits(0).used(), 1);
}

}  // namespace
}  // namespace quotad
