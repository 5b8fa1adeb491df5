#include "quotad/replication/slot_digests.h"

#include <cstring>

namespace quotad {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int SlotDigests::RangeOf(const CounterId& id) {
  return (static_cast<int>(id.dimension) - 1) * 256 + id.hash[0];
}

std::string SlotDigests::RangePrefix(int range) {
  std::string prefix;
  prefix.push_back(static_cast<char>(range / 256 + 1));
  prefix.push_back(static_cast<char>(range % 256));
  return prefix;
}

uint64_t SlotDigests::Fingerprint(const SlotKey& key) {
  uint64_t h = SplitMix64(static_cast<uint64_t>(key.id.dimension) << 8 |
                          static_cast<uint64_t>(key.kind));
  h = SplitMix64(h ^ LoadLE64(key.id.hash.data()));
  h = SplitMix64(h ^ LoadLE64(key.id.hash.data() + 8));
  h = SplitMix64(h ^ key.hour);
  h = SplitMix64(h ^ key.origin);
  return h | 1;  // odd: multiplication by it is a bijection mod 2^64
}

void SlotDigests::Add(const SlotKey& key, uint64_t delta) {
  Range& range = ranges_[static_cast<size_t>(RangeOf(key.id))];
  const uint64_t contribution = Fingerprint(key) * delta;
  absl::MutexLock lock(&range.mu);
  Cell& cell = range.cells[key.hour % kHours];
  if (cell.hour != key.hour) {
    // The ring slot held an hour long past retention; start over.
    cell.hour = key.hour;
    cell.sum = 0;
  }
  cell.sum += contribution;
}

std::vector<uint64_t> SlotDigests::Compute(uint32_t from_hour, uint32_t to_hour) const {
  std::vector<uint64_t> out(kRanges, 0);
  for (int r = 0; r < kRanges; ++r) {
    const Range& range = ranges_[static_cast<size_t>(r)];
    absl::MutexLock lock(&range.mu);
    for (uint32_t h = from_hour; h <= to_hour && h - from_hour < kHours; ++h) {
      const Cell& cell = range.cells[h % kHours];
      if (cell.hour == h) out[static_cast<size_t>(r)] += cell.sum;
    }
  }
  return out;
}

}  // namespace quotad
