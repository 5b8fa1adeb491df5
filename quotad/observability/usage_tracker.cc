#include "quotad/observability/usage_tracker.h"

#include <algorithm>
#include <map>
#include <string>
#include <type_traits>

namespace quotad {
namespace {

// The first hour still in the rolling 24 h at `now`.
uint32_t FirstHour(absl::Time now) {
  const uint32_t h = HourOf(now);
  return h >= UsageTracker::kWindowHours - 1 ? h - (UsageTracker::kWindowHours - 1) : 0;
}

}  // namespace

void UsageTracker::AddUsage(Shard& shard, uint64_t client, int64_t delta) {
  auto it = shard.used.try_emplace(client, 0).first;
  const int64_t before = it->second;
  const int64_t after = before + delta;
  if (before > 0 && --shard.histogram[before] == 0) shard.histogram.erase(before);
  if (after > 0) ++shard.histogram[after];
  if (after == 0) {
    shard.used.erase(it);
  } else {
    it->second = after;
  }
}

void UsageTracker::Expire(Shard& shard, Hour& slot) {
  for (const auto& [client, amount] : slot.added) AddUsage(shard, client, -amount);
  slot.hour = 0;
  absl::flat_hash_map<uint64_t, int64_t>().swap(slot.added);  // give the memory back
}

void UsageTracker::ExpireBefore(Shard& shard, uint32_t first) {
  for (Hour& slot : shard.hours) {
    if (slot.hour != 0 && slot.hour < first) Expire(shard, slot);
  }
}

void UsageTracker::OnUsageChanged(const CounterId& id, uint32_t bucket, int64_t delta) {
  if (id.space != KeySpace::kClient || UnitOf(bucket) != BucketUnit::kHour || delta == 0) return;
  const uint32_t first = FirstHour(clock_->Now());
  if (bucket < first || bucket >= first + kSlots) return;
  const uint64_t client = id.Prefix64();
  Shard& shard = shards_[client % kShards];
  absl::MutexLock lock(&shard.mu);
  Hour& slot = shard.hours[bucket % kSlots];
  if (slot.hour != bucket) {
    // The slot still holds an hour that left the window (no Advance since),
    // or, after this node's clock stepped back, one now too far ahead.
    if (slot.hour != 0) Expire(shard, slot);
    slot.hour = bucket;
  }
  int64_t& added = slot.added[client];
  added += delta;
  if (added == 0) slot.added.erase(client);
  AddUsage(shard, client, delta);
}

absl::Status UsageTracker::Seed(CounterStore* store) {
  const uint32_t first = FirstHour(clock_->Now());
  const std::string prefix(1, static_cast<char>(KeySpace::kClient));
  auto visited =
      store->ScanSlots(prefix, first, first + kSlots - 1, "", SIZE_MAX, [&](const SlotValue& v) {
        const int64_t amount = static_cast<int64_t>(v.value);
        OnUsageChanged(v.key.id, v.key.hour, v.key.kind == CountKind::kCharged ? amount : -amount);
        return true;
      });
  return visited.status();
}

void UsageTracker::Advance() {
  const uint32_t first = FirstHour(clock_->Now());
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    ExpireBefore(shard, first);
  }
}

UsageTracker::Distribution UsageTracker::Read() {
  Advance();
  std::map<int64_t, int64_t> merged;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [tests, clients] : shard.histogram) merged[tests] += clients;
  }
  Distribution out;
  out.buckets.assign(merged.begin(), merged.end());
  for (const auto& [tests, clients] : merged) out.clients += clients;
  return out;
}

size_t UsageTracker::MemoryBytes() {
  // A flat_hash_map holds capacity() slots plus one control byte each.
  auto bytes = [](const auto& map) {
    using Slot = typename std::decay_t<decltype(map)>::value_type;
    return map.capacity() * (sizeof(Slot) + 1);
  };
  size_t total = sizeof(*this);
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += bytes(shard.used) + bytes(shard.histogram);
    for (const Hour& h : shard.hours) total += bytes(h.added);
  }
  return total;
}

}  // namespace quotad
