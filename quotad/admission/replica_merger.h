// Merges counter slots learned from peers (the CRDT merge: per slot,
// local = max(local, remote)) without holding request-path locks across
// storage I/O.
//
// One merge at a time (a merger mutex; only merges write foreign slots):
// it reads the current values with no shard lock held, registers the raised
// slots as pending in the CounterCache (shard locks held only for that, no
// I/O), writes them in one WAL-durable batch with no shard lock held, then
// unregisters them (rolling the cache back if the write failed). Acquires
// keep deciding throughout; a cache miss during the write sees the change
// exactly once (CounterCache's pending merges).
//
// Slots of this incarnation's own origin are never taken from peers (only
// this process writes them): an equal or older copy is stale, a larger one
// is counted as rejected. Validation of hours and senders is the caller's.
// Thread-safe.
#ifndef QUOTAD_ADMISSION_REPLICA_MERGER_H_
#define QUOTAD_ADMISSION_REPLICA_MERGER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "quotad/admission/counter_cache.h"
#include "quotad/storage/counter_store.h"

namespace quotad {

// The outcome of merging one remote slot: its key, old and new value
// (NetDelta: the change to the counter's net count).
using SlotChange = PendingMerge;

struct RemoteMergeResult {
  std::vector<SlotChange> applied;  // slots whose local value rose
  size_t stale = 0;                 // at or below the local value
  size_t rejected_own_slot = 0;     // claims about this incarnation's slot
};

class ReplicaMerger {
 public:
  // Borrowed pointers must outlive the merger.
  ReplicaMerger(CounterStore* store, CounterCache* cache) : store_(store), cache_(cache) {}

  // Errors: Unavailable (nothing applied).
  absl::StatusOr<RemoteMergeResult> Merge(absl::Span<const SlotValue> slots);

 private:
  CounterStore* store_;
  CounterCache* cache_;
  absl::Mutex mu_;  // one merge at a time
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_REPLICA_MERGER_H_
