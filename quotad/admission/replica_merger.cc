#include "quotad/admission/replica_merger.h"

#include <algorithm>
#include <tuple>

#include "quotad/common/status_macros.h"

namespace quotad {
namespace {

// The largest value per slot, in an order that groups equal keys (any such
// order will do; no key encoding needed).
std::vector<SlotValue> LargestPerSlot(absl::Span<const SlotValue> slots) {
  std::vector<SlotValue> out(slots.begin(), slots.end());
  auto fields = [](const SlotValue& v) {
    return std::make_tuple(static_cast<uint8_t>(v.key.id.space), v.key.id.hash, v.key.hour,
                           v.key.origin, static_cast<uint8_t>(v.key.kind));
  };
  std::sort(out.begin(), out.end(), [&](const SlotValue& a, const SlotValue& b) {
    const auto fa = fields(a), fb = fields(b);
    return fa != fb ? fa < fb : a.value > b.value;
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const SlotValue& a, const SlotValue& b) { return a.key == b.key; }),
            out.end());
  return out;
}

}  // namespace

absl::StatusOr<RemoteMergeResult> ReplicaMerger::Merge(absl::Span<const SlotValue> slots) {
  RemoteMergeResult result;
  const std::vector<SlotValue> candidates = LargestPerSlot(slots);
  if (candidates.empty()) return result;
  absl::MutexLock merging(&mu_);

  // 1. Current values, no shard lock: foreign slots change only under mu_.
  std::vector<SlotKey> keys;
  keys.reserve(candidates.size());
  for (const SlotValue& s : candidates) keys.push_back(s.key);
  auto current = store_->GetSlots(keys);
  if (!current.ok()) return AsUnavailable(current.status());
  std::vector<SlotValue> raised;
  std::vector<PendingMerge> changes;
  const uint64_t own = store_->origin();
  for (size_t i = 0; i < candidates.size(); ++i) {
    const uint64_t local = (*current)[i];
    if (candidates[i].key.origin == own) {
      // Only this process writes its own slot: a peer can hold an older copy
      // (stale), never a larger one. A larger claim is refused and counted.
      if (candidates[i].value > local) {
        ++result.rejected_own_slot;
      } else {
        ++result.stale;
      }
      continue;
    }
    if (candidates[i].value > local) {
      raised.push_back(candidates[i]);
      changes.push_back({candidates[i].key, local, candidates[i].value});
    } else {
      ++result.stale;
    }
  }
  if (raised.empty()) return result;

  ShardIds shards;
  for (const PendingMerge& c : changes) shards.push_back(cache_->ShardOf(c.key.id));
  // 2. Register as pending (memory only under the shard locks).
  {
    CounterCache::Locks locks(cache_, shards);
    for (const PendingMerge& c : changes) cache_->RegisterMerge(c);
  }
  // 3. Write, no shard lock held.
  const absl::Status written = store_->PutSlots(raised);
  // 4. Unregister; a failed write is rolled back out of the cache.
  {
    CounterCache::Locks locks(cache_, shards);
    for (const PendingMerge& c : changes) cache_->UnregisterMerge(c, written.ok());
  }
  if (!written.ok()) return AsUnavailable(written);
  result.applied = std::move(changes);
  return result;
}

}  // namespace quotad
