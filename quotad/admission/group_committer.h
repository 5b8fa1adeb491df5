// Leader/follower group commit of decided charges.
//
// A decided Acquire submits a Job (its counter deltas and idempotency
// record). If no write is in progress, the submitting thread becomes the
// writer: it writes everything queued so far as one WAL-durable WriteBatch
// (CounterStore::CommitMany), finishes those jobs, and repeats until the
// queue is empty; otherwise the current writer takes the job in its next
// batch. No caller waits for another's write to finish before its own is
// queued; the writer keeps writing what queues meanwhile. Deltas of one slot
// (counter, bucket, kind) from several jobs of a batch are summed into one
// (a tier's usage meter or an integration pool is charged once per batch).
//
// Overload and abandoned calls: the queue is bounded (`max_queue` jobs); a
// job submitted to a full queue is finished at once with RESOURCE_EXHAUSTED.
// Right before a batch is written, jobs whose deadline has passed or whose
// call was cancelled are dropped and finished with DEADLINE_EXCEEDED or
// CANCELLED: nothing of theirs is written, so nothing is charged.
//
// Thread-safe. A job's `finish` runs exactly once, with no lock of the
// committer held: on the writing thread (often the submitter's own), or on
// the submitting thread when the queue is full. It must not block.
#ifndef QUOTAD_ADMISSION_GROUP_COMMITTER_H_
#define QUOTAD_ADMISSION_GROUP_COMMITTER_H_

#include <functional>
#include <optional>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "quotad/common/clock.h"
#include "quotad/storage/counter_store.h"

namespace quotad {

class GroupCommitter {
 public:
  struct Job {
    // One per counter and meter (limit_plan.h kInlineLimits, meters.h).
    absl::InlinedVector<CounterDelta, 6> deltas;
    std::optional<IdempotencyPut> put;
    absl::Time deadline = absl::InfiniteFuture();
    std::function<bool()> cancelled;  // may be empty
    // OK (durable), DeadlineExceeded / Cancelled (dropped, not written),
    // ResourceExhausted (queue full), or the write's error.
    absl::AnyInvocable<void(const absl::Status&)> finish;
  };

  // `store` and `clock` (which deadlines are read against) are borrowed.
  GroupCommitter(CounterStore* store, Clock* clock, size_t max_queue)
      : store_(store), clock_(clock), max_queue_(max_queue) {}

  void Submit(Job job);
  // Blocks until nothing is queued or being written.
  void WaitForIdle();

 private:
  void Drain();

  CounterStore* store_;
  Clock* clock_;
  const size_t max_queue_;
  absl::Mutex mu_;
  std::vector<Job> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_GROUP_COMMITTER_H_
