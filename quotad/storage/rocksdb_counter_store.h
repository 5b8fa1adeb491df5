// CounterStore and RecordStore on one embedded RocksDB.
//
// Column families by access pattern (one shared block cache):
//   counters     merge-heavy; uint64-add merge operator; 17-byte prefix
//                extractor + bloom; a compaction filter drops buckets older
//                than the retention.
//   idempotency  point lookups; a compaction filter drops expired records.
//   records      replicated last-writer-wins records; a compaction filter
//                drops tombstones and expired records after tombstone_ttl.
//   audit        admin audit log, key = [time µs:8 BE][seq:4 BE]; a compaction
//                filter drops entries older than audit_retention.
//   default      metadata (origin slot id, node id).
// Writes go to the WAL before Commit returns; with sync_writes the WAL is
// fsynced too (group commit amortises it across concurrent writers).
#ifndef QUOTAD_STORAGE_ROCKSDB_COUNTER_STORE_H_
#define QUOTAD_STORAGE_ROCKSDB_COUNTER_STORE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "quotad/common/clock.h"
#include "quotad/storage/audit_store.h"
#include "quotad/storage/counter_store.h"
#include "quotad/storage/range_scanner.h"
#include "quotad/storage/record_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class CompactionFilter;
}  // namespace rocksdb

namespace quotad {

struct RocksDbOptions {
  std::string path;
  std::string node_id;
  bool sync_writes = false;
  int64_t retention_hours = 48;
  size_t block_cache_bytes = 64 << 20;
  // How long tombstones and expired records are kept before compaction may
  // drop them (long enough for every peer to have seen the delete).
  absl::Duration tombstone_ttl = absl::Hours(24 * 7);
  absl::Duration audit_retention = absl::Hours(24 * 90);
  Clock* clock = RealClock::Real();  // not owned
  // Monotonic time that bounds how fast deletion for age may advance (see
  // DeletionWatermark); tests drive it. Not owned.
  Clock* elapsed_clock = SteadyClock::Steady();
};

class RocksDbCounterStore final : public CounterStore, public RecordStore, public AuditStore {
 public:
  // Opens (creating if needed) the database at options.path. On first
  // creation a random origin slot id is generated and persisted.
  // Errors: Unavailable/Internal/InvalidArgument with the path and RocksDB's
  // message when the directory cannot be opened (locked, corrupt, no access).
  static absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> Open(const RocksDbOptions& options);

  // Syncs the WAL and closes the database.
  ~RocksDbCounterStore() override;

  absl::StatusOr<std::vector<HourCount>> ReadBuckets(const CounterId& id,
                                                     uint32_t min_hour) override;
  absl::StatusOr<std::vector<SlotValue>> ReadCounterSlots(const CounterId& id,
                                                         uint32_t min_hour) override;
  absl::Status Commit(absl::Span<const CounterDelta> deltas,
                      const IdempotencyPut* idempotency) override;
  absl::Status CommitMany(absl::Span<const CounterDelta> deltas,
                          absl::Span<const IdempotencyPut> idempotency) override;
  absl::StatusOr<std::optional<std::string>> GetIdempotency(const IdentityHash& key,
                                                            absl::Time now) override;
  absl::StatusOr<std::vector<uint64_t>> GetSlots(absl::Span<const SlotKey> keys) override;
  absl::Status PutSlots(absl::Span<const SlotValue> slots) override;
  absl::StatusOr<size_t> ScanSlots(absl::string_view prefix, uint32_t min_hour,
                                   uint32_t max_hour, absl::string_view start_after,
                                   size_t limit,
                                   const std::function<bool(const SlotValue&)>& fn) override;
  absl::StatusOr<ScanProgress> ScanSlotRanges(
      absl::Span<const std::string> prefixes, uint32_t min_hour, uint32_t max_hour,
      absl::string_view start_after, size_t max_keys,
      const std::function<bool(const SlotValue&)>& fn) override;
  void ReleaseIdleScans() override { scanner_->ReleaseIfIdle(); }
  uint64_t origin() const override { return origin_; }

  absl::StatusOr<std::optional<v1::ReplicatedRecord>> GetRecord(absl::string_view key) override;
  absl::Status PutRecord(const v1::ReplicatedRecord& record) override;
  absl::Status ScanRecords(absl::string_view prefix,
                           const std::function<bool(const v1::ReplicatedRecord&)>& fn) override;

  absl::Status AppendAudit(const v1::AuditEntry& entry) override;
  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(size_t limit) override;

  // Changes the retention used by readers and the compaction filter.
  void SetRetentionHours(int64_t hours) { retention_hours_->store(hours); }

  // A RocksDB integer property summed over all column families (e.g.
  // "rocksdb.total-sst-files-size"); 0 when unknown.
  uint64_t IntProperty(const std::string& name) const;

  // Forces a full compaction (tests and operators: reclaims expired data).
  absl::Status CompactAll();

  // Raw RocksDB access for tests and tools. Not owned.
  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* counters_cf() const { return counters_cf_; }

 private:
  RocksDbCounterStore() = default;

  uint32_t OldestLiveHour() const;
  // Calls visit(key, value) for each live slot of `id` from `min_hour`, from
  // one point-in-time view.
  template <typename Visit>
  absl::Status VisitCounter(const CounterId& id, uint32_t min_hour, const Visit& visit);

  std::shared_ptr<std::atomic<int64_t>> retention_hours_;
  Clock* clock_ = nullptr;
  // What the compaction filters delete by (never faster than elapsed time).
  std::unique_ptr<DeletionWatermark> deletion_clock_;
  bool sync_writes_ = false;
  uint64_t origin_ = 0;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* counters_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_cf_ = nullptr;
  absl::Duration audit_retention_;
  std::atomic<uint32_t> audit_seq_{0};
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters_;
  std::unique_ptr<RangeScanner> scanner_;  // before the DB closes
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_ROCKSDB_COUNTER_STORE_H_
