// How quotad lays out its RocksDB: the options a caller chooses
// (RocksDbOptions) and what they become (RocksDbLayout: database options,
// one descriptor per column family, the compaction filters they point to).
// Opening and reopening the database (storage recovery) use the same layout.
//
// Column families by access pattern (one shared block cache):
//   counters     merge-heavy; uint64-add merge operator; 17-byte prefix
//                extractor + bloom; a compaction filter drops buckets older
//                than the retention.
//   idempotency  point lookups; a compaction filter drops expired records.
//   records      replicated last-writer-wins records; a compaction filter
//                drops records expired for expired_record_ttl; tombstones
//                are kept for good (a deleted ban never comes back).
//   audit        admin audit log, key = [time us:8 BE][seq:4 BE]; a compaction
//                filter drops entries older than audit_retention.
//   default      metadata (origin slot id, node id).
#ifndef QUOTAD_STORAGE_ROCKSDB_LAYOUT_H_
#define QUOTAD_STORAGE_ROCKSDB_LAYOUT_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "quotad/common/clock.h"
#include "quotad/common/time_buckets.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/file_system.h"

namespace quotad {

struct RocksDbOptions {
  std::string path;
  std::string node_id;
  bool sync_writes = false;
  Retention retention;  // of counter buckets (time_buckets.h)
  size_t block_cache_bytes = 64 << 20;
  // How long a record is kept after its expiry before compaction may drop it.
  absl::Duration expired_record_ttl = absl::Hours(24 * 7);
  absl::Duration audit_retention = absl::Hours(24 * 90);
  Clock* clock = RealClock::Real();  // not owned
  // Monotonic time that bounds how fast deletion for age may advance (see
  // DeletionWatermark); tests drive it. Not owned.
  Clock* elapsed_clock = SteadyClock::Steady();
  // The file system under RocksDB (null: the machine's); tests inject faults.
  std::shared_ptr<rocksdb::FileSystem> file_system;
  // After a failed write, how often the store tries to heal (StorageRecovery).
  absl::Duration recovery_retry = absl::Seconds(1);
};

// Column family indexes in RocksDbLayout::column_families (and in the
// handles DB::Open returns).
enum ColumnFamilyIndex : size_t {
  kDefaultFamily = 0,
  kCountersFamily,
  kIdempotencyFamily,
  kRecordsFamily,
  kAuditFamily,
  kFamilyCount
};

struct RocksDbLayout {
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> column_families;  // by ColumnFamilyIndex
  // Referenced by column_families; must outlive every database opened with them.
  std::vector<std::unique_ptr<rocksdb::CompactionFilter>> filters;
};

// Filters delete by `deletion_clock` (borrowed, must outlive the layout);
// `retention` may change later.
RocksDbLayout MakeRocksDbLayout(const RocksDbOptions& options, Clock* deletion_clock,
                                std::shared_ptr<const SharedRetention> retention);

}  // namespace quotad

#endif  // QUOTAD_STORAGE_ROCKSDB_LAYOUT_H_
