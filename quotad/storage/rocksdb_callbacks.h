// The RocksDB callbacks quotad installs: RocksDB's log routed into quotad's
// log (NewRocksDbLogger), the uint64-add merge operator of
// the counters column family and the compaction filters that drop data by
// age (counter buckets past the retention, expired idempotency records,
// long-expired records (never tombstones), old audit entries). Each filter
// reads time from the Clock it is given (the store passes its
// DeletionWatermark). None throws or fails: malformed input is kept (filters)
// or counts as 0 (merge).
#ifndef QUOTAD_STORAGE_ROCKSDB_CALLBACKS_H_
#define QUOTAD_STORAGE_ROCKSDB_CALLBACKS_H_

#include <atomic>
#include <memory>

#include "absl/time/time.h"
#include "quotad/common/clock.h"
#include "quotad/common/time_buckets.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/env.h"
#include "rocksdb/merge_operator.h"

namespace quotad {

// RocksDB's own log lines go to quotad's log (stderr), not to a LOG file in
// the data dir: a LOG file on a full disk makes Debian's RocksDB assert on
// its next line. Its errors and warnings become WARNING lines (prefixed
// "rocksdb:"); its info lines DEBUG lines, formatted only when debug logging
// was on when the logger was made.
std::shared_ptr<rocksdb::Logger> NewRocksDbLogger();

std::shared_ptr<rocksdb::MergeOperator> NewUInt64AddOperator();
// Buckets live as long as `retention` says (time_buckets.h; it may change
// while the filter is installed).
std::unique_ptr<rocksdb::CompactionFilter> NewCounterRetentionFilter(
    Clock* clock, std::shared_ptr<const SharedRetention> retention);
std::unique_ptr<rocksdb::CompactionFilter> NewIdempotencyExpiryFilter(Clock* clock);
std::unique_ptr<rocksdb::CompactionFilter> NewRecordExpiryFilter(Clock* clock,
                                                                 absl::Duration expired_ttl);
std::unique_ptr<rocksdb::CompactionFilter> NewAuditRetentionFilter(Clock* clock,
                                                                   absl::Duration retention);

}  // namespace quotad

#endif  // QUOTAD_STORAGE_ROCKSDB_CALLBACKS_H_
