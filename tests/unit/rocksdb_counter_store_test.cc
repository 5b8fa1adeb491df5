#include "quotad/storage/rocksdb_counter_store.h"

#include <atomic>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/testing/await.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::TempDir;

class RocksDbCounterStoreTest : public ::testing::Test {
 protected:
  RocksDbCounterStoreTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {}

  std::unique_ptr<RocksDbCounterStore> Open(
      std::shared_ptr<testing::FaultInjectingFileSystem> fs = nullptr) {
    RocksDbOptions options;
    options.path = dir_.Sub("db");
    options.node_id = "n1";
    options.clock = &clock_;
    options.elapsed_clock = &clock_;  // the fake clock models real time passing
    options.file_system = fs;
    options.recovery_retry = absl::Milliseconds(5);
    auto store = RocksDbCounterStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static CounterId Id(uint8_t seed, KeySpace dim = KeySpace::kClient) {
    CounterId id{dim, {}};
    id.hash.fill(seed);
    return id;
  }

  TempDir dir_;
  FakeClock clock_;
};

TEST_F(RocksDbCounterStoreTest, MergeAddsDeltasAndRefundsSubtract) {
  auto store = Open();
  const uint32_t h = HourOf(clock_.Now());
  const CounterDelta charges[] = {{Id(1), h, CountKind::kCharged, 3},
                                  {Id(1), h - 1, CountKind::kCharged, 2},
                                  {Id(2), h, CountKind::kCharged, 7}};
  ASSERT_TRUE(store->Commit(charges, nullptr).ok());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 1}}, nullptr).ok());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kRefunded, 2}}, nullptr).ok());
  auto buckets = store->ReadBuckets(Id(1), h - 5);
  ASSERT_TRUE(buckets.ok());
  EXPECT_EQ(*buckets, (std::vector<HourCount>{{h - 1, 2}, {h, 2}}));
  EXPECT_EQ(*store->ReadBuckets(Id(2), h), (std::vector<HourCount>{{h, 7}}));
  EXPECT_TRUE(store->ReadBuckets(Id(3), 0)->empty());
  // min_hour excludes older buckets.
  EXPECT_EQ(*store->ReadBuckets(Id(1), h), (std::vector<HourCount>{{h, 2}}));
}

TEST_F(RocksDbCounterStoreTest, CountsFromOtherOriginsAreSummed) {
  auto store = Open();
  const uint32_t h = HourOf(clock_.Now());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 3}}, nullptr).ok());
  // A slot of another origin, as cross-region replication will write it.
  std::string five(8, '\0');
  five[0] = 5;
  ASSERT_TRUE(store->db()
                  ->Merge(rocksdb::WriteOptions(), store->counters_cf(),
                          EncodeCounterKey(Id(1), h, store->origin() ^ 1, CountKind::kCharged), five)
                  .ok());
  EXPECT_EQ(*store->ReadBuckets(Id(1), h), (std::vector<HourCount>{{h, 8}}));
}

TEST_F(RocksDbCounterStoreTest, EveryOpenIsANewOriginAndCountersSurvive) {
  uint64_t origin = 0;
  const uint32_t h = HourOf(clock_.Now());
  {
    auto store = Open();
    origin = store->origin();
    EXPECT_NE(origin, 0u);
    ASSERT_TRUE(store->Commit({{Id(9), h, CountKind::kCharged, 4}}, nullptr).ok());
  }
  auto store = Open();
  EXPECT_NE(store->origin(), origin);  // a new incarnation
  EXPECT_EQ(*store->ReadBuckets(Id(9), h), (std::vector<HourCount>{{h, 4}}));
  // The old incarnation's slot is still there and readable as a slot.
  EXPECT_EQ(store->GetSlots({SlotKey{Id(9), h, origin, CountKind::kCharged}})->at(0), 4u);
}

TEST_F(RocksDbCounterStoreTest, RetentionHidesAndCompactionDropsOldBuckets) {
  auto store = Open();
  const uint32_t h = HourOf(clock_.Now());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 1}}, nullptr).ok());
  ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), store->counters_cf()).ok());
  clock_.Advance(absl::Hours(47));
  EXPECT_EQ(store->ReadBuckets(Id(1), 0)->size(), 1u);  // 48 h retention: still live
  clock_.Advance(absl::Hours(1));
  EXPECT_TRUE(store->ReadBuckets(Id(1), 0)->empty());  // readers ignore expired buckets
  ASSERT_TRUE(store->CompactAll().ok());
  // After compaction the key is physically gone, even with a longer retention.
  store->SetRetention({1000, kDefaultDayRetention});
  EXPECT_TRUE(store->ReadBuckets(Id(1), 0)->empty());
}

TEST_F(RocksDbCounterStoreTest, AWallClockJumpingAheadCannotMakeCompactionDropLiveCounters) {
  FakeClock elapsed(absl::UnixEpoch());
  RocksDbOptions options;
  options.path = dir_.Sub("jump");
  options.clock = &clock_;
  options.elapsed_clock = &elapsed;
  auto store = std::move(RocksDbCounterStore::Open(options).value());
  const uint32_t h = HourOf(clock_.Now());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 1}}, nullptr).ok());
  ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), store->counters_cf()).ok());
  // The wall clock steps 50 h ahead while only a minute really passes.
  clock_.Advance(absl::Hours(50));
  elapsed.Advance(absl::Minutes(1));
  EXPECT_TRUE(store->ReadBuckets(Id(1), 0)->empty());  // hidden while the clock is wrong
  ASSERT_TRUE(store->CompactAll().ok());
  // Corrected: the counter is still there.
  clock_.Advance(-absl::Hours(50));
  EXPECT_EQ(store->ReadBuckets(Id(1), 0)->size(), 1u);
  // Real time passing does expire it.
  clock_.Advance(absl::Hours(49));
  elapsed.Advance(absl::Hours(49));
  ASSERT_TRUE(store->CompactAll().ok());
  store->SetRetention({1000, kDefaultDayRetention});
  EXPECT_TRUE(store->ReadBuckets(Id(1), 0)->empty());
}

TEST_F(RocksDbCounterStoreTest, SlotsArePutReadAndScannedByRange) {
  auto store = Open();
  const uint32_t h = HourOf(clock_.Now());
  const SlotKey a{Id(1), h, 7, CountKind::kCharged};
  const SlotKey b{Id(1), h - 1, 8, CountKind::kRefunded};
  const SlotKey c{Id(2, KeySpace::kLegacyGroup), h, 7, CountKind::kCharged};
  ASSERT_TRUE(store->PutSlots({{a, 5}, {b, 2}, {c, 9}}).ok());
  EXPECT_EQ(*store->GetSlots({a, b, c, SlotKey{Id(3), h, 7, CountKind::kCharged}}),
            (std::vector<uint64_t>{5, 2, 9, 0}));
  EXPECT_EQ(*store->ReadBuckets(Id(1), 0), (std::vector<HourCount>{{h - 1, -2}, {h, 5}}));
  std::vector<SlotValue> seen;
  auto collect = [&](const SlotValue& v) {
    seen.push_back(v);
    return true;
  };
  // Prefix = dimension + first hash byte: only the client counter Id(1).
  const std::string prefix = Id(1).Encode().substr(0, 2);
  ASSERT_EQ(*store->ScanSlots(prefix, 0, h, "", 100, collect), 2u);
  EXPECT_EQ(seen[0].key, b);  // key order: older hour first
  EXPECT_EQ(seen[1].key, a);
  // Paging resumes after a key; the hour window filters.
  seen.clear();
  ASSERT_EQ(*store->ScanSlots(prefix, 0, h, b.Encode(), 100, collect), 1u);
  EXPECT_EQ(seen[0].key, a);
  seen.clear();
  ASSERT_EQ(*store->ScanSlots(prefix, h, h, "", 100, collect), 1u);
  seen.clear();
  ASSERT_EQ(*store->ScanSlots(std::string(1, '\x02'), 0, h, "", 100, collect), 1u);
  EXPECT_EQ(seen[0].key, c);
}

TEST_F(RocksDbCounterStoreTest, ScanSlotRangesVisitsOnlyTheRangesAskedAndResumesAcrossPages) {
  auto store = Open();
  const uint32_t h = HourOf(clock_.Now());
  std::vector<SlotValue> slots;
  for (uint8_t first : {1, 5, 9}) {
    for (uint8_t second = 0; second < 4; ++second) {
      CounterId id{KeySpace::kClient, {}};
      id.hash[0] = first;
      id.hash[1] = second;
      slots.push_back({SlotKey{id, h, 7, CountKind::kCharged}, 1});
      slots.push_back({SlotKey{id, h - 30, 7, CountKind::kCharged}, 1});  // outside the hours
    }
  }
  ASSERT_TRUE(store->PutSlots(slots).ok());
  const std::vector<std::string> prefixes = {std::string("\x01\x01", 2),
                                             std::string("\x01\x09", 2)};
  std::vector<SlotValue> seen;
  std::string after;
  int pages = 0;
  for (;;) {
    auto progress = store->ScanSlotRanges(prefixes, h - 1, h, after, 3, [&](const SlotValue& v) {
      seen.push_back(v);
      return true;
    });
    ASSERT_TRUE(progress.ok()) << progress.status();
    ++pages;
    if (progress->exhausted) break;
    ASSERT_GT(progress->last_key, after);
    after = progress->last_key;
  }
  ASSERT_EQ(seen.size(), 8u);  // 4 counters x 2 ranges, current hour only
  for (const SlotValue& v : seen) {
    EXPECT_TRUE(v.key.id.hash[0] == 1 || v.key.id.hash[0] == 9);
    EXPECT_EQ(v.key.hour, h);
  }
  EXPECT_GE(pages, 5);  // 16 keys in the two ranges, 3 per page
  // A callback that stops: the slot it was given is the last key.
  auto progress = store->ScanSlotRanges(prefixes, h - 1, h, "", 100, [&](const SlotValue&) {
    return false;
  });
  ASSERT_TRUE(progress.ok());
  EXPECT_FALSE(progress->exhausted);
  EXPECT_EQ(progress->last_key, seen[0].key.Encode());
}

TEST_F(RocksDbCounterStoreTest, AFullDiskRefusesWritesKeepsReadsAndTheStoreHealsByReopening) {
  auto fs = std::make_shared<testing::FaultInjectingFileSystem>();
  auto store = Open(fs);
  std::atomic<int> told_down{0};
  std::atomic<int> told_up{0};
  store->SetHealthListener([&](bool ok) { ++(ok ? told_up : told_down); });
  const uint32_t h = HourOf(clock_.Now());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 2}}, nullptr).ok());

  fs->SetFault(testing::DiskFault::kNoSpace);
  const absl::Status refused = store->Commit({{Id(1), h, CountKind::kCharged, 5}}, nullptr);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_FALSE(store->healthy());
  EXPECT_EQ(told_down.load(), 1);
  // Later writes fail at once, without reaching RocksDB; reads still work.
  const int refused_by_disk = fs->refused();
  EXPECT_EQ(store->PutSlots({{SlotKey{Id(2), h, 7, CountKind::kCharged}, 1}}).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->PutRecord(v1::ReplicatedRecord()).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fs->refused(), refused_by_disk);
  EXPECT_EQ(*store->ReadBuckets(Id(1), h), (std::vector<HourCount>{{h, 2}}));

  fs->SetFault(testing::DiskFault::kNone);
  // The listener runs after the state flips (outside the store's lock).
  ASSERT_TRUE(testing::AwaitTrue("the store heals and says so", absl::Seconds(10), [&] {
                return store->healthy() && told_up.load() >= 2;
              }).ok());
  EXPECT_EQ(told_up.load(), 2);  // at SetHealthListener and after healing
  // The acknowledged charge survived the reopen; the refused one is absent.
  EXPECT_EQ(*store->ReadBuckets(Id(1), h), (std::vector<HourCount>{{h, 2}}));
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 1}}, nullptr).ok());
  EXPECT_EQ(*store->ReadBuckets(Id(1), h), (std::vector<HourCount>{{h, 3}}));
}

TEST_F(RocksDbCounterStoreTest, AFailedBackgroundFlushAlsoStopsWritesUntilHealed) {
  auto fs = std::make_shared<testing::FaultInjectingFileSystem>();
  auto store = Open(fs);
  const uint32_t h = HourOf(clock_.Now());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 4}}, nullptr).ok());
  fs->SetFault(testing::DiskFault::kIoError);
  // The flush writes a table file: the I/O error reaches the store through
  // RocksDB's background-error listener, not through a write of ours.
  EXPECT_FALSE(store->db()->Flush(rocksdb::FlushOptions(), store->counters_cf()).ok());
  ASSERT_TRUE(testing::AwaitTrue("the store notices", absl::Seconds(10), [&] {
                return !store->healthy();
              }).ok());
  EXPECT_EQ(store->Commit({{Id(1), h, CountKind::kCharged, 1}}, nullptr).code(),
            absl::StatusCode::kUnavailable);
  fs->SetFault(testing::DiskFault::kNone);
  ASSERT_TRUE(testing::AwaitTrue("the store heals", absl::Seconds(10), [&] {
                return store->healthy();
              }).ok());
  ASSERT_TRUE(store->Commit({{Id(1), h, CountKind::kCharged, 1}}, nullptr).ok());
  EXPECT_EQ(*store->ReadBuckets(Id(1), h), (std::vector<HourCount>{{h, 5}}));
}

TEST_F(RocksDbCounterStoreTest, IdempotencyRecordsExpire) {
  auto store = Open();
  IdentityHash key;
  key.fill(7);
  IdempotencyPut put{key, clock_.Now() + absl::Minutes(10), "record"};
  ASSERT_TRUE(store->Commit({}, &put).ok());
  EXPECT_EQ(store->GetIdempotency(key, clock_.Now())->value(), "record");
  clock_.Advance(absl::Minutes(11));
  EXPECT_FALSE(store->GetIdempotency(key, clock_.Now())->has_value());
  ASSERT_TRUE(store->CompactAll().ok());
  EXPECT_FALSE(store->GetIdempotency(key, clock_.Now() - absl::Hours(1))->has_value());
}

TEST_F(RocksDbCounterStoreTest, OpeningALockedDataDirFails) {
  auto store = Open();
  RocksDbOptions options;
  options.path = dir_.Sub("db");
  auto second = RocksDbCounterStore::Open(options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("cannot open data dir"), std::string::npos);
}

TEST(CounterKeyTest, EncodesBigEndianSoByteOrderIsTimeOrder) {
  CounterId id{KeySpace::kLegacyGroup, {}};
  id.hash.fill(0xab);
  const std::string a = EncodeCounterKey(id, 0x00ff, 5, CountKind::kCharged);
  const std::string b = EncodeCounterKey(id, 0x0100, 1, CountKind::kCharged);
  EXPECT_EQ(a.size(), kCounterKeySize);
  EXPECT_LT(a, b);
  auto decoded = DecodeCounterKey(b);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->id, id);
  EXPECT_EQ(decoded->hour, 0x0100u);
  EXPECT_EQ(decoded->origin, 1u);
  EXPECT_FALSE(DecodeCounterKey("short").has_value());
  // Minute and day buckets decode; the fourth unit tag does not exist.
  EXPECT_TRUE(DecodeCounterKey(
                  EncodeCounterKey(id, MakeBucket(BucketUnit::kDay, 9), 1, CountKind::kCharged))
                  .has_value());
  EXPECT_FALSE(
      DecodeCounterKey(EncodeCounterKey(id, 0xC0000009u, 1, CountKind::kCharged)).has_value());
}

}  // namespace
}  // namespace quotad
