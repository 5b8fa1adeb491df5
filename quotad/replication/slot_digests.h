// Anti-entropy sketches of the counter slots, kept incrementally.
//
// The key space is split into 768 ranges (key space x first counter-hash
// byte; each is one contiguous RocksDB key range). For each range and hour
// the sketch is  sum(fingerprint(slot key) * slot value)  mod 2^64. It is
// linear, so a local increment of d adds fingerprint * d without reading the
// old value, and a max-merge from old to new adds fingerprint * (new - old).
// Two replicas holding the same slots have equal sketches; a difference
// names the ranges (and, refined, the hours) to pull.
//
// Origins: the sketch of up to kMaxOrigins origins is also kept on its own,
// so a comparison can leave out the slots of origins whose changes arrive by
// delta push anyway (this node's own, and peers whose pushes are healthy):
// under load those differ between replicas all the time, and pulling them
// would repeat what push already carries. When the table is full, the origin
// updated longest ago is forgotten for good (its slots still count in the
// totals; it just cannot be left out any more). A ring cell keeps the newest
// hour that maps to it: slots of an hour older than the cell's are ignored
// (windows span fewer than kHours hours).
//
// Bucket units (quotad/common/time_buckets.h): the above is for hour
// buckets. Day buckets (CALENDAR_MONTH_UTC counters) have a ring of their
// own per range, totals only (no origin can be left out of a day window:
// the counters are few, so a day range that differs is simply pulled);
// minute buckets are not sketched at all (push only: a repair would land
// after its minute is over). A window's unit is its bounds' unit. Thread-safe.
#ifndef QUOTAD_REPLICATION_SLOT_DIGESTS_H_
#define QUOTAD_REPLICATION_SLOT_DIGESTS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "quotad/storage/counter_store.h"

namespace quotad {

class SlotDigests {
 public:
  static constexpr int kRanges = 3 * 256;
  // Hours kept per range (a ring); windows must be shorter than this.
  static constexpr int kHours = 64;
  // Origins whose sketches are also kept on their own (768 KiB each).
  static constexpr size_t kMaxOrigins = 32;

  SlotDigests();
  ~SlotDigests();

  static int RangeOf(const CounterId& id);
  // The 1- or 2-byte key prefix of a range (key space, first hash byte).
  static std::string RangePrefix(int range);
  // Stable across processes and machines (no per-process seed).
  static uint64_t Fingerprint(const SlotKey& key);

  // Adds `delta` (may wrap: values are mod 2^64) times the key's fingerprint.
  void Add(const SlotKey& key, uint64_t delta);

  // The subset of `origins` whose sketches are kept on their own (only these
  // can be left out of a comparison).
  std::vector<uint64_t> Separable(absl::Span<const uint64_t> origins) const;

  // Per-range sketches summed over buckets [from_hour, to_hour] (one unit,
  // to_hour - from_hour < kHours), leaving out the slots of `exclude`
  // (which must be Separable; others are ignored; day windows leave out
  // nothing). A minute window sums to 0.
  std::vector<uint64_t> Compute(uint32_t from_hour, uint32_t to_hour,
                                absl::Span<const uint64_t> exclude = {}) const;
  // Per-(range, hour) sketches of `ranges` (each < kRanges), row-major:
  // out[i * (to_hour - from_hour + 1) + (h - from_hour)].
  std::vector<uint64_t> ComputeHours(absl::Span<const uint32_t> ranges, uint32_t from_hour,
                                     uint32_t to_hour, absl::Span<const uint64_t> exclude) const;

 private:
  struct Cell {
    uint32_t hour = 0;
    uint64_t sum = 0;
  };
  // One origin's cells, indexed [range * kHours + hour % kHours]; each cell
  // is guarded by its range's mutex.
  struct OriginCells {
    std::array<Cell, kRanges * kHours> cells;
  };
  struct Range {
    mutable absl::Mutex mu;
    std::array<Cell, kHours> cells ABSL_GUARDED_BY(mu);
    std::array<Cell, kHours> day_cells ABSL_GUARDED_BY(mu);  // totals only
  };
  static void AddToCell(Cell& cell, uint32_t hour, uint64_t contribution);
  static uint64_t CellSum(const Cell& cell, uint32_t hour) {
    return cell.hour == hour ? cell.sum : 0;
  }
  // Adds to the range's cell and, if the origin is tracked, to its own cell.
  // False (nothing added) when the origin is neither tracked nor forgotten.
  bool TryAdd(int range, const SlotKey& key, uint64_t contribution)
      ABSL_LOCKS_EXCLUDED(origins_mu_);
  // Gives `origin` a slot, forgetting the origin updated longest ago when
  // the table is full.
  void TrackOrigin(uint64_t origin) ABSL_LOCKS_EXCLUDED(origins_mu_);
  // The slots of the separable origins among `exclude`.
  std::vector<int> ExcludedSlots(absl::Span<const uint64_t> exclude) const
      ABSL_SHARED_LOCKS_REQUIRED(origins_mu_);
  uint64_t Sum(int range, uint32_t from_hour, uint32_t to_hour,
               const std::vector<int>& excluded) const ABSL_SHARED_LOCKS_REQUIRED(origins_mu_);

  std::array<Range, kRanges> ranges_;
  // Writers (a new origin) exclude every Add; Adds share it.
  mutable absl::Mutex origins_mu_;
  absl::flat_hash_map<uint64_t, int> origin_slot_ ABSL_GUARDED_BY(origins_mu_);
  std::vector<std::unique_ptr<OriginCells>> origin_cells_ ABSL_GUARDED_BY(origins_mu_);
  std::vector<uint64_t> slot_origin_ ABSL_GUARDED_BY(origins_mu_);
  // Per slot, the latest hour added (which origin to forget first).
  std::array<std::atomic<uint32_t>, kMaxOrigins> slot_latest_hour_;
  absl::flat_hash_set<uint64_t> forgotten_ ABSL_GUARDED_BY(origins_mu_);
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_SLOT_DIGESTS_H_
