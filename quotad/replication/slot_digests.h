// Anti-entropy sketches of the counter slots, kept incrementally.
//
// The key space is split into 768 ranges (dimension x first identity-hash
// byte; each is one contiguous RocksDB key range). For each range and hour
// the sketch is  sum(fingerprint(slot key) * slot value)  mod 2^64. It is
// linear, so a local increment of d adds fingerprint * d without reading the
// old value, and a max-merge from old to new adds fingerprint * (new - old).
// Two replicas holding the same slots have equal sketches; a difference
// names the ranges to pull. Thread-safe.
#ifndef QUOTAD_REPLICATION_SLOT_DIGESTS_H_
#define QUOTAD_REPLICATION_SLOT_DIGESTS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "quotad/storage/counter_store.h"

namespace quotad {

class SlotDigests {
 public:
  static constexpr int kRanges = 3 * 256;
  // Hours kept per range (a ring); windows must be shorter than this.
  static constexpr int kHours = 64;

  static int RangeOf(const CounterId& id);
  // The 1- or 2-byte key prefix of a range (dimension, first hash byte).
  static std::string RangePrefix(int range);
  // Stable across processes and machines (no per-process seed).
  static uint64_t Fingerprint(const SlotKey& key);

  // Adds `delta` (may wrap: values are mod 2^64) times the key's fingerprint.
  void Add(const SlotKey& key, uint64_t delta);
  // Per-range sketches summed over hours [from_hour, to_hour];
  // to_hour - from_hour < kHours.
  std::vector<uint64_t> Compute(uint32_t from_hour, uint32_t to_hour) const;

 private:
  struct Cell {
    uint32_t hour = 0;
    uint64_t sum = 0;
  };
  struct Range {
    mutable absl::Mutex mu;
    std::array<Cell, kHours> cells ABSL_GUARDED_BY(mu);
  };
  std::array<Range, kRanges> ranges_;
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_SLOT_DIGESTS_H_
