#include "quotad/replication/slot_digests.h"

#include <algorithm>
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

SlotDigests::SlotDigests() {
  for (auto& latest : slot_latest_hour_) latest.store(0);
}

SlotDigests::~SlotDigests() = default;

int SlotDigests::RangeOf(const CounterId& id) {
  return (static_cast<int>(id.space) - 1) * 256 + id.hash[0];
}

std::string SlotDigests::RangePrefix(int range) {
  std::string prefix;
  prefix.push_back(static_cast<char>(range / 256 + 1));
  prefix.push_back(static_cast<char>(range % 256));
  return prefix;
}

uint64_t SlotDigests::Fingerprint(const SlotKey& key) {
  uint64_t h =
      SplitMix64(static_cast<uint64_t>(key.id.space) << 8 | static_cast<uint64_t>(key.kind));
  h = SplitMix64(h ^ LoadLE64(key.id.hash.data()));
  h = SplitMix64(h ^ LoadLE64(key.id.hash.data() + 8));
  h = SplitMix64(h ^ key.hour);
  h = SplitMix64(h ^ key.origin);
  return h | 1;  // odd: multiplication by it is a bijection mod 2^64
}

void SlotDigests::AddToCell(Cell& cell, uint32_t hour, uint64_t contribution) {
  if (hour < cell.hour) return;  // older than the ring holds: never compared
  if (cell.hour != hour) {
    // The ring slot held an hour long past; start over.
    cell.hour = hour;
    cell.sum = 0;
  }
  cell.sum += contribution;
}

void SlotDigests::TrackOrigin(uint64_t origin) {
  absl::MutexLock lock(&origins_mu_);
  if (origin_slot_.contains(origin) || forgotten_.contains(origin)) return;
  int slot;
  if (origin_cells_.size() < kMaxOrigins) {
    slot = static_cast<int>(origin_cells_.size());
    origin_cells_.push_back(std::make_unique<OriginCells>());
    slot_origin_.push_back(origin);
  } else {
    // Forget the origin whose latest slot is oldest (an old incarnation).
    slot = 0;
    for (size_t s = 1; s < kMaxOrigins; ++s) {
      if (slot_latest_hour_[s].load() < slot_latest_hour_[static_cast<size_t>(slot)].load()) {
        slot = static_cast<int>(s);
      }
    }
    forgotten_.insert(slot_origin_[static_cast<size_t>(slot)]);
    origin_slot_.erase(slot_origin_[static_cast<size_t>(slot)]);
    // No Add runs now (they share origins_mu_), so the cells can be reset.
    origin_cells_[static_cast<size_t>(slot)]->cells.fill(Cell{});
    slot_origin_[static_cast<size_t>(slot)] = origin;
    slot_latest_hour_[static_cast<size_t>(slot)].store(0);
  }
  origin_slot_[origin] = slot;
}

bool SlotDigests::TryAdd(int r, const SlotKey& key, uint64_t contribution) {
  absl::ReaderMutexLock origins(&origins_mu_);
  int slot = -1;
  if (auto it = origin_slot_.find(key.origin); it != origin_slot_.end()) {
    slot = it->second;
  } else if (!forgotten_.contains(key.origin)) {
    return false;  // a new origin: track it first
  }
  Range& range = ranges_[static_cast<size_t>(r)];
  absl::MutexLock lock(&range.mu);
  AddToCell(range.cells[key.hour % kHours], key.hour, contribution);
  if (slot >= 0) {
    AddToCell(origin_cells_[static_cast<size_t>(slot)]
                  ->cells[static_cast<size_t>(r) * kHours + key.hour % kHours],
              key.hour, contribution);
    std::atomic<uint32_t>& latest = slot_latest_hour_[static_cast<size_t>(slot)];
    if (latest.load(std::memory_order_relaxed) < key.hour) {
      latest.store(key.hour, std::memory_order_relaxed);
    }
  }
  return true;
}

void SlotDigests::Add(const SlotKey& key, uint64_t delta) {
  const int r = RangeOf(key.id);
  const uint64_t contribution = Fingerprint(key) * delta;
  const BucketUnit unit = UnitOf(key.hour);
  if (unit == BucketUnit::kMinute) return;  // never compared
  if (unit == BucketUnit::kDay) {
    Range& range = ranges_[static_cast<size_t>(r)];
    absl::MutexLock lock(&range.mu);
    AddToCell(range.day_cells[key.hour % kHours], key.hour, contribution);
    return;
  }
  if (TryAdd(r, key, contribution)) return;
  TrackOrigin(key.origin);
  // Now tracked, or forgotten at once by a concurrent newcomer: either way
  // the second attempt adds.
  TryAdd(r, key, contribution);
}

std::vector<uint64_t> SlotDigests::Separable(absl::Span<const uint64_t> origins) const {
  absl::ReaderMutexLock lock(&origins_mu_);
  std::vector<uint64_t> out;
  for (uint64_t o : origins) {
    if (origin_slot_.contains(o) && std::find(out.begin(), out.end(), o) == out.end()) {
      out.push_back(o);
    }
  }
  return out;
}

std::vector<int> SlotDigests::ExcludedSlots(absl::Span<const uint64_t> exclude) const {
  std::vector<int> slots;
  for (uint64_t o : exclude) {
    if (auto it = origin_slot_.find(o); it != origin_slot_.end()) slots.push_back(it->second);
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  return slots;
}

uint64_t SlotDigests::Sum(int r, uint32_t from_hour, uint32_t to_hour,
                          const std::vector<int>& excluded) const {
  const Range& range = ranges_[static_cast<size_t>(r)];
  absl::MutexLock lock(&range.mu);
  uint64_t sum = 0;
  const BucketUnit unit = UnitOf(from_hour);
  if (unit == BucketUnit::kMinute) return 0;
  if (unit == BucketUnit::kDay) {
    for (uint32_t d = from_hour; d <= to_hour && d - from_hour < kHours; ++d) {
      sum += CellSum(range.day_cells[d % kHours], d);
    }
    return sum;
  }
  for (uint32_t h = from_hour; h <= to_hour && h - from_hour < kHours; ++h) {
    sum += CellSum(range.cells[h % kHours], h);
    for (int slot : excluded) {
      sum -= CellSum(
          origin_cells_[static_cast<size_t>(slot)]->cells[static_cast<size_t>(r) * kHours + h % kHours],
          h);
    }
  }
  return sum;
}

std::vector<uint64_t> SlotDigests::Compute(uint32_t from_hour, uint32_t to_hour,
                                           absl::Span<const uint64_t> exclude) const {
  absl::ReaderMutexLock lock(&origins_mu_);
  const std::vector<int> excluded = ExcludedSlots(exclude);
  std::vector<uint64_t> out(kRanges, 0);
  for (int r = 0; r < kRanges; ++r) out[static_cast<size_t>(r)] = Sum(r, from_hour, to_hour, excluded);
  return out;
}

std::vector<uint64_t> SlotDigests::ComputeHours(absl::Span<const uint32_t> ranges,
                                                uint32_t from_hour, uint32_t to_hour,
                                                absl::Span<const uint64_t> exclude) const {
  absl::ReaderMutexLock lock(&origins_mu_);
  const std::vector<int> excluded = ExcludedSlots(exclude);
  std::vector<uint64_t> out;
  if (to_hour < from_hour) return out;
  out.reserve(ranges.size() * (to_hour - from_hour + 1));
  for (uint32_t r : ranges) {
    for (uint32_t h = from_hour; h <= to_hour; ++h) {
      out.push_back(r < static_cast<uint32_t>(kRanges) ? Sum(static_cast<int>(r), h, h, excluded)
                                                      : 0);
    }
  }
  return out;
}

}  // namespace quotad
