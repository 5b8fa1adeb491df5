#include "quotad/observability/usage_tracker.h"

#include <map>
#include <string>
#include <type_traits>

#include "quotad/policy/window.h"

namespace quotad {
namespace {

// The first hour still in the rolling 24 h at `now` (as admission reads it).
uint32_t FirstHour(absl::Time now) { return WindowRange(v1::ROLLING_24H, now).first; }

}  // namespace

void UsageTracker::SetUsed(Shard& shard, Client& client, int64_t after) {
  const int64_t before = client.used;
  if (before > 0 && --shard.histogram[before] == 0) shard.histogram.erase(before);
  if (after > 0) ++shard.histogram[after];
  client.used = static_cast<int32_t>(after);
}

void UsageTracker::Expire(Shard& shard, size_t slot) {
  const uint32_t bit = 1u << slot;
  auto& amounts = shard.amounts[slot];
  for (auto it = shard.clients.begin(); it != shard.clients.end();) {
    Client& c = it->second;
    if ((c.hours & bit) == 0) {
      ++it;
      continue;
    }
    auto amount = amounts.find(it->first);
    SetUsed(shard, c, c.used - (amount == amounts.end() ? 1 : amount->second));
    c.hours &= ~bit;
    if (c.hours == 0) {
      shard.clients.erase(it++);
    } else {
      ++it;
    }
  }
  absl::flat_hash_map<uint64_t, int32_t>().swap(amounts);  // give the memory back
  shard.slot_hour[slot] = 0;
}

void UsageTracker::ExpireBefore(Shard& shard, uint32_t first) {
  for (size_t s = 0; s < kSlots; ++s) {
    if (shard.slot_hour[s] != 0 && shard.slot_hour[s] < first) Expire(shard, s);
  }
}

void UsageTracker::OnUsageChanged(const CounterId& id, uint32_t bucket, int64_t delta) {
  if (id.space != KeySpace::kClient || UnitOf(bucket) != BucketUnit::kHour || delta == 0) return;
  const uint32_t first = FirstHour(clock_->Now());
  if (bucket < first || bucket >= first + kSlots) return;
  const uint64_t key = id.Prefix64();
  Shard& shard = shards_[key % kShards];
  const size_t slot = bucket % kSlots;
  absl::MutexLock lock(&shard.mu);
  if (shard.slot_hour[slot] != bucket) {
    // The slot still holds an hour that left the window (no Advance since),
    // or, after this node's clock stepped back, one now too far ahead.
    if (shard.slot_hour[slot] != 0) Expire(shard, slot);
    shard.slot_hour[slot] = bucket;
  }
  Client& client = shard.clients[key];
  const uint32_t bit = 1u << slot;
  auto& amounts = shard.amounts[slot];
  // The client's amount in this hour: absent bit 0, else 1 unless listed.
  int64_t amount = 0;
  auto listed = amounts.find(key);
  if (client.hours & bit) amount = listed == amounts.end() ? 1 : listed->second;
  amount += delta;
  if (amount == 0) {
    client.hours &= ~bit;
  } else {
    client.hours |= bit;
  }
  if (amount == 0 || amount == 1) {
    if (listed != amounts.end()) amounts.erase(listed);
  } else if (listed != amounts.end()) {
    listed->second = static_cast<int32_t>(amount);
  } else {
    amounts.emplace(key, static_cast<int32_t>(amount));
  }
  SetUsed(shard, client, client.used + delta);
  if (client.hours == 0) shard.clients.erase(key);
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
    total += bytes(shard.clients) + bytes(shard.histogram);
    for (const auto& a : shard.amounts) total += bytes(a);
  }
  return total;
}

}  // namespace quotad
