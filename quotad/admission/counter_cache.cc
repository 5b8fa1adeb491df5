#include "quotad/admission/counter_cache.h"

#include <algorithm>
#include <cstring>

#include "quotad/common/status_macros.h"

namespace quotad {
namespace {

uint64_t Load64(const IdentityHash& h) {
  uint64_t v;
  std::memcpy(&v, h.data(), sizeof(v));
  return v;
}

void AddToBuckets(Buckets& buckets, uint32_t hour, int64_t delta) {
  for (HourCount& b : buckets) {
    if (b.hour == hour) {
      b.count += delta;
      return;
    }
  }
  buckets.push_back({hour, delta});
}

}  // namespace

CounterCache::CounterCache(CounterStore* store, int shards, size_t max_counters)
    : store_(store),
      shards_count_(std::max(1, shards)),
      max_entries_per_shard_(
          std::max<size_t>(16, max_counters / static_cast<size_t>(std::max(1, shards)))),
      shards_(std::make_unique<Shard[]>(static_cast<size_t>(std::max(1, shards)))) {}

size_t CounterCache::ShardOf(const CounterId& id) const {
  const uint64_t mixed =
      Load64(id.hash) ^ (uint64_t{static_cast<uint8_t>(id.space)} * 0x9E3779B97F4A7C15ULL);
  return static_cast<size_t>(mixed % static_cast<uint64_t>(shards_count_));
}

size_t CounterCache::ShardOfKey(const IdentityHash& key) const {
  return static_cast<size_t>(Load64(key) % static_cast<uint64_t>(shards_count_));
}

ShardIds CounterCache::Unique(ShardIds ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

CounterCache::Locks::Locks(CounterCache* cache, ShardIds shards)
    : cache_(cache), shards_(Unique(std::move(shards))) {
  for (size_t i : shards_) cache_->shards_[i].mu.Lock();
}

CounterCache::Locks::~Locks() {
  for (auto it = shards_.rbegin(); it != shards_.rend(); ++it) cache_->shards_[*it].mu.Unlock();
}

CounterCache::IdReservation::~IdReservation() {
  Shard& shard = cache_->shards_[shard_];
  absl::MutexLock lock(&shard.mu);
  shard.inflight_ids.erase(key_);
  shard.cv.SignalAll();
}

std::unique_ptr<CounterCache::IdReservation> CounterCache::ReserveId(const IdentityHash& key) {
  const size_t index = ShardOfKey(key);
  Shard& shard = shards_[index];
  {
    absl::MutexLock lock(&shard.mu);
    while (shard.inflight_ids.contains(key)) shard.cv.Wait(&shard.mu);
    shard.inflight_ids.insert(key);
  }
  return std::unique_ptr<IdReservation>(new IdReservation(this, index, key));
}

absl::Status CounterCache::Load(const CounterId& id, uint32_t min_hour, Buckets* out)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Shard& shard = shards_[ShardOf(id)];
  auto it = shard.cache.find(id);
  if (it == shard.cache.end()) {
    // Second chance: promote from the previous generation.
    if (auto prev = shard.previous.find(id); prev != shard.previous.end()) {
      it = shard.cache.emplace(id, std::move(prev->second)).first;
      shard.previous.erase(prev);
    }
  }
  if (it != shard.cache.end()) {
    Buckets& buckets = it->second;
    // The entry keeps 72 h more than asked: a clock stepped forward and back
    // again must not have trimmed away buckets that count once it is back.
    const uint32_t keep_from = BucketsBefore(min_hour, kKeepExtraBuckets);
    buckets.erase(std::remove_if(buckets.begin(), buckets.end(),
                                 [&](const HourCount& b) { return b.hour < keep_from; }),
                  buckets.end());
    out->clear();
    for (const HourCount& b : buckets) {
      if (b.hour >= min_hour) out->push_back(b);
    }
    return absl::OkStatus();
  }
  Buckets loaded;
  if (shard.merging.contains(id)) {
    QUOTAD_RETURN_IF_ERROR(LoadWithPendingMerges(shard, id, min_hour, &loaded));
  } else {
    auto read = store_->ReadBuckets(id, min_hour);
    if (!read.ok()) return AsUnavailable(read.status());
    loaded.assign(read->begin(), read->end());
  }
  if (shard.cache.size() >= max_entries_per_shard_ / 2 && shard.inflight_writes == 0) {
    // Two generations: the current one becomes the previous, the old previous
    // is dropped. O(1) per insert, and recently used counters survive one
    // rotation (a cheap approximation of LRU).
    shard.previous = std::move(shard.cache);
    shard.cache = {};
  }
  Buckets& entry = shard.cache[id];
  entry = std::move(loaded);
  *out = entry;
  return absl::OkStatus();
}

absl::Status CounterCache::LoadWithPendingMerges(Shard& shard, const CounterId& id,
                                                 uint32_t min_hour, Buckets* out) {
  auto slots = store_->ReadCounterSlots(id, min_hour);
  if (!slots.ok()) return AsUnavailable(slots.status());
  for (const SlotValue& s : *slots) {
    const int64_t v = static_cast<int64_t>(s.value);
    AddToBuckets(*out, s.key.hour, s.key.kind == CountKind::kRefunded ? -v : v);
  }
  for (const PendingMerge& p : shard.merging[id]) {
    if (p.key.hour < min_hour) continue;
    // Merges of one slot are serialised, so the view holds either the old
    // value (not written yet: add the change) or the new one (written).
    auto held = std::find_if(slots->begin(), slots->end(),
                             [&](const SlotValue& s) { return s.key == p.key; });
    const uint64_t seen = held == slots->end() ? 0 : held->value;
    if (seen != p.new_value) AddToBuckets(*out, p.key.hour, p.NetDelta());
  }
  std::sort(out->begin(), out->end(),
            [](const HourCount& a, const HourCount& b) { return a.hour < b.hour; });
  return absl::OkStatus();
}

void CounterCache::Add(const CounterId& id, uint32_t hour, int64_t delta)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Shard& shard = shards_[ShardOf(id)];
  auto it = shard.cache.find(id);
  if (it == shard.cache.end()) {
    it = shard.previous.find(id);
    if (it == shard.previous.end()) return;  // evicted: the store has the truth
  }
  AddToBuckets(it->second, hour, delta);
}

void CounterCache::BeginWrite(const ShardIds& shards) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (size_t i : shards) ++shards_[i].inflight_writes;
}

void CounterCache::EndWrite(const ShardIds& shards) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  for (size_t i : shards) --shards_[i].inflight_writes;
}

void CounterCache::RegisterMerge(const PendingMerge& change) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Shard& shard = shards_[ShardOf(change.key.id)];
  shard.merging[change.key.id].push_back(change);
  Add(change.key.id, change.key.hour, change.NetDelta());
}

void CounterCache::UnregisterMerge(const PendingMerge& change, bool written)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Shard& shard = shards_[ShardOf(change.key.id)];
  auto it = shard.merging.find(change.key.id);
  if (it != shard.merging.end()) {
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const PendingMerge& p) { return p.key == change.key; }),
               list.end());
    if (list.empty()) shard.merging.erase(it);
  }
  // Every cached entry of the counter includes the change (cached before, or
  // loaded meanwhile with it added); a failed write takes it back out.
  if (!written) Add(change.key.id, change.key.hour, -change.NetDelta());
}

}  // namespace quotad
