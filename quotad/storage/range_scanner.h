// Anti-entropy scans over several counter ranges, for RocksDbCounterStore.
//
// Why a class: the counters memtable is a hash-linked list, and a
// total-order iterator over it copies and sorts the whole memtable. One new
// iterator per page made a repair cost a memtable copy per few thousand
// slots. A scan that resumes exactly where the previous page stopped keeps
// that page's iterator (one point-in-time view, at most kMaxViewAge old), so
// a repair costs about one copy per view age, not one per page. A scan from
// the start of its ranges always builds a fresh view. Values only grow, so a
// view a little old is never wrong, only behind; the next round catches up.
//
// Thread-safe: scans are serialised (they are background work).
#ifndef QUOTAD_STORAGE_RANGE_SCANNER_H_
#define QUOTAD_STORAGE_RANGE_SCANNER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "quotad/storage/counter_store.h"
#include "rocksdb/db.h"

namespace quotad {

class RangeScanner {
 public:
  static constexpr absl::Duration kMaxViewAge = absl::Seconds(5);

  // `db` and `cf` are borrowed and must outlive the scanner (destroy it
  // before closing the database).
  RangeScanner(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  // CounterStore::ScanSlotRanges; `min_hour` already clamped to live hours.
  absl::StatusOr<CounterStore::ScanProgress> Scan(absl::Span<const std::string> prefixes,
                                                  uint32_t min_hour, uint32_t max_hour,
                                                  absl::string_view start_after, size_t max_keys,
                                                  const std::function<bool(const SlotValue&)>& fn);

  // Releases the cached view (its memtables and files).
  void Reset();
  // The same when the view is older than kMaxViewAge (nobody can resume it).
  void ReleaseIfIdle();

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  absl::Mutex mu_;
  std::unique_ptr<rocksdb::Iterator> it_ ABSL_GUARDED_BY(mu_);
  std::string last_key_ ABSL_GUARDED_BY(mu_);
  absl::Time created_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_RANGE_SCANNER_H_
