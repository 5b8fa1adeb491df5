// CounterStore, RecordStore and AuditStore on one embedded RocksDB (column
// families and their options: rocksdb_layout.h).
//
// Writes go to the WAL before Commit returns; with sync_writes the WAL is
// fsynced too (group commit amortises it across concurrent writers).
//
// Storage faults (disk full, I/O errors): the first write or background job
// that fails makes the store unhealthy (StorageRecovery): from then on every
// write returns UNAVAILABLE at once without reaching RocksDB, reads keep
// working, and the health listener hears `false`. Every recovery_retry the
// store probes the disk (1 MiB written and synced through the same file
// system); once the probe succeeds it closes and reopens the database,
// which replays the WAL (every acknowledged write is in it; a write torn by
// the fault was refused, and point-in-time recovery drops it), and reports
// healthy again. While it reopens, reads and writes return UNAVAILABLE.
// The origin slot stays the same across such a reopen (nothing acknowledged
// is lost, so this incarnation's slot values never go back).
#ifndef QUOTAD_STORAGE_ROCKSDB_COUNTER_STORE_H_
#define QUOTAD_STORAGE_ROCKSDB_COUNTER_STORE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "quotad/common/clock.h"
#include "quotad/storage/audit_store.h"
#include "quotad/storage/counter_store.h"
#include "quotad/storage/range_scanner.h"
#include "quotad/storage/record_store.h"
#include "quotad/storage/rocksdb_layout.h"
#include "quotad/storage/storage_recovery.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class CompactionFilter;
}  // namespace rocksdb

namespace quotad {

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
  void ReleaseIdleScans() override;
  uint64_t origin() const override { return origin_; }

  absl::StatusOr<std::optional<v1::ReplicatedRecord>> GetRecord(absl::string_view key) override;
  absl::Status PutRecord(const v1::ReplicatedRecord& record) override;
  absl::Status ScanRecords(absl::string_view prefix,
                           const std::function<bool(const v1::ReplicatedRecord&)>& fn) override;

  absl::Status AppendAudit(const v1::AuditEntry& entry) override;
  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(size_t limit) override;

  // Whether writes are accepted (see the storage faults above). The
  // listener is called at once and on every change; null to stop.
  bool healthy() const;
  void SetHealthListener(std::function<void(bool healthy)> listener);

  // Changes the buckets' retention used by readers and the compaction
  // filter.
  void SetRetention(Retention retention) { retention_->Store(retention); }

  // A RocksDB integer property summed over all column families (e.g.
  // "rocksdb.total-sst-files-size"); 0 when unknown.
  uint64_t IntProperty(const std::string& name) const;

  // Forces a full compaction (tests and operators: reclaims expired data).
  absl::Status CompactAll();

  // Raw RocksDB access for tests and tools. Not owned; not valid across a
  // recovery reopen.
  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* counters_cf() const { return counters_cf_; }

 private:
  RocksDbCounterStore() = default;

  // One operation's hold on the open database (shared; a reopen is exclusive).
  using Access = std::shared_lock<std::shared_mutex>;

  // Writes this incarnation's fresh origin slot and the node id.
  absl::StatusOr<uint64_t> StartIncarnation(const std::string& node_id);
  // Open and close the database with layout_; the caller holds db_mu_
  // exclusively (or owns the store alone).
  absl::Status OpenDb();
  void CloseDb(bool sync_wal);
  // StorageRecovery's heal: probe the disk, then reopen.
  absl::Status Heal();
  // UNAVAILABLE while the database is being reopened or is closed.
  absl::StatusOr<Access> Enter() const;
  // The same, and UNAVAILABLE while the store is unhealthy.
  absl::Status EnterForWrite(Access* access) const;
  // A write's outcome; a failure (other than a bad argument) is reported to
  // recovery_.
  absl::Status Written(const rocksdb::Status& s, absl::string_view what);

  // The oldest live bucket of the unit of `like` (time_buckets.h).
  uint32_t OldestLive(uint32_t like) const;
  // Calls visit(key, value) for each live slot of `id` from `min_hour`, from
  // one point-in-time view.
  template <typename Visit>
  absl::Status VisitCounter(const CounterId& id, uint32_t min_hour, const Visit& visit);

  std::shared_ptr<SharedRetention> retention_;
  Clock* clock_ = nullptr;
  // What the compaction filters delete by (never faster than elapsed time).
  std::unique_ptr<DeletionWatermark> deletion_clock_;
  bool sync_writes_ = false;
  uint64_t origin_ = 0;
  std::string path_;
  RocksDbLayout layout_;
  std::shared_ptr<rocksdb::FileSystem> file_system_;  // what RocksDB writes through
  std::unique_ptr<rocksdb::Env> env_;  // over an injected file system; outlives db_
  std::shared_ptr<StorageRecovery> recovery_;  // shared with the RocksDB listener
  mutable std::shared_mutex db_mu_;
  std::atomic<bool> reopening_{false};  // new operations fail fast during a reopen
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* counters_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* idempotency_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* records_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_cf_ = nullptr;
  absl::Duration audit_retention_;
  std::atomic<uint32_t> audit_seq_{0};
  std::unique_ptr<RangeScanner> scanner_;  // before the DB closes
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_ROCKSDB_COUNTER_STORE_H_
