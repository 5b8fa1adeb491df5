// The request path's view of counters: lock shards and a bounded cache of
// each counter's recent hour buckets, kept exact against the store.
//
// Shards: each counter id (and each request-id key) maps to one of N lock
// shards; callers lock the shards they need, in ascending order, with
// Locks. Every method marked "requires the shard lock" must be called with
// the lock of the shard of the counter it names.
//
// Exactness: an entry holds every committed charge of its counter plus the
// charges reserved by requests whose write is still in flight
// (BeginWrite..EndWrite). While a shard has writes in flight nothing of it is
// evicted (a reload would miss the reservations). A miss reads the store
// (the caller's own read, under its shard lock).
//
// Replica merges (see ReplicaMerger) write foreign slots outside the shard
// locks. While a merge is being written, its changes are registered here as
// pending: cached entries already include them, and a miss that loads a
// counter with pending changes reads the counter's slots from one view and
// adds each pending change that view does not hold yet. So a concurrent
// load neither misses a merge nor counts it twice.
#ifndef QUOTAD_ADMISSION_COUNTER_CACHE_H_
#define QUOTAD_ADMISSION_COUNTER_CACHE_H_

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "quotad/storage/counter_store.h"

namespace quotad {

using Buckets = absl::InlinedVector<HourCount, 4>;

// Buckets of `unit` older than this are outside every window of that unit
// at `now` (hours: the rolling 24 h and the UTC day; minutes: the current
// minute; days: the calendar month): what the cache loads and keeps.
inline uint32_t OldestWindowBucket(BucketUnit unit, absl::Time now) {
  const uint32_t back = unit == BucketUnit::kMinute ? 1 : unit == BucketUnit::kDay ? 31 : 24;
  return BucketsBefore(BucketOf(unit, now), back);
}
using ShardIds = absl::InlinedVector<size_t, 4>;

// One foreign slot change being written by a replica merge.
struct PendingMerge {
  SlotKey key;
  uint64_t old_value = 0;
  uint64_t new_value = 0;
  // The change to the counter's net count (refund slots count negatively).
  int64_t NetDelta() const {
    const int64_t d = static_cast<int64_t>(new_value - old_value);
    return key.kind == CountKind::kRefunded ? -d : d;
  }
};

class CounterCache {
 public:
  // `store` is borrowed. `max_counters` bounds the entries over all shards.
  CounterCache(CounterStore* store, int shards, size_t max_counters);

  size_t ShardOf(const CounterId& id) const;
  size_t ShardOfKey(const IdentityHash& key) const;
  // Sorted, without duplicates.
  static ShardIds Unique(ShardIds ids);

  // Locks a set of shards in ascending order; unlocks on destruction.
  class Locks {
   public:
    Locks(CounterCache* cache, ShardIds shards);
    ~Locks();
    Locks(const Locks&) = delete;
    Locks& operator=(const Locks&) = delete;

   private:
    CounterCache* cache_;
    ShardIds shards_;
  };

  // A request_id being decided; a concurrent replay of it waits in
  // ReserveId until this is destroyed.
  class IdReservation {
   public:
    ~IdReservation();
    IdReservation(const IdReservation&) = delete;
    IdReservation& operator=(const IdReservation&) = delete;

   private:
    friend class CounterCache;
    IdReservation(CounterCache* cache, size_t shard, const IdentityHash& key)
        : cache_(cache), shard_(shard), key_(key) {}
    CounterCache* cache_;
    size_t shard_;
    IdentityHash key_;
  };
  // Blocks while `key` is reserved by another request, then reserves it.
  // Takes and releases the key's shard lock itself.
  std::unique_ptr<IdReservation> ReserveId(const IdentityHash& key);

  // The counter's buckets from `min_hour` on (a copy; a bucket number of the
  // counter's unit), loading on a miss. A cached entry keeps 72 buckets
  // older than `min_hour` (so a clock stepped forward and back hides
  // nothing cached); an entry loaded while
  // the clock was ahead holds only what the store returned then, until it
  // is evicted. Requires the shard lock. Errors: Unavailable.
  absl::Status Load(const CounterId& id, uint32_t min_hour, Buckets* out);
  // Adds `delta` to the cached bucket of `id` if cached (else the store
  // holds the truth). Requires the shard lock.
  void Add(const CounterId& id, uint32_t hour, int64_t delta);
  // Writes in flight on these shards (unique ids). Require the shard locks.
  void BeginWrite(const ShardIds& shards);
  void EndWrite(const ShardIds& shards);

  // Replica merges: registers `change` as being written and applies it to
  // the cached entry if any; Unregister ends it (after the write), rolling
  // the cached entry back when the write failed. Require the shard lock.
  void RegisterMerge(const PendingMerge& change);
  void UnregisterMerge(const PendingMerge& change, bool written);

 private:
  struct Shard {
    absl::Mutex mu;
    // Recent hour buckets per counter, in two generations (see Load).
    absl::flat_hash_map<CounterId, Buckets> cache ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<CounterId, Buckets> previous ABSL_GUARDED_BY(mu);
    int inflight_writes ABSL_GUARDED_BY(mu) = 0;
    absl::flat_hash_set<IdentityHash> inflight_ids ABSL_GUARDED_BY(mu);
    absl::CondVar cv;
    absl::flat_hash_map<CounterId, absl::InlinedVector<PendingMerge, 2>> merging
        ABSL_GUARDED_BY(mu);
  };
  // A miss of a counter with pending merges: its slots from one view, plus
  // the pending changes that view does not hold yet.
  absl::Status LoadWithPendingMerges(Shard& shard, const CounterId& id, uint32_t min_hour,
                                     Buckets* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  static constexpr uint32_t kKeepExtraBuckets = 72;

  CounterStore* store_;
  const int shards_count_;
  size_t max_entries_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_COUNTER_CACHE_H_
