#include "quotad/admission/group_committer.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace quotad {
namespace {

// Sums the deltas of each slot into one (their order does not matter: a
// batch is one atomic write).
void Coalesce(std::vector<CounterDelta>* deltas) {
  if (deltas->size() < 2) return;
  auto slot = [](const CounterDelta& d) {
    return std::make_tuple(static_cast<uint8_t>(d.id.space), d.id.hash, d.hour,
                           static_cast<uint8_t>(d.kind));
  };
  std::sort(deltas->begin(), deltas->end(),
            [&](const CounterDelta& a, const CounterDelta& b) { return slot(a) < slot(b); });
  size_t out = 0;
  for (size_t i = 1; i < deltas->size(); ++i) {
    if (slot((*deltas)[i]) == slot((*deltas)[out])) {
      (*deltas)[out].amount += (*deltas)[i].amount;
    } else {
      (*deltas)[++out] = (*deltas)[i];
    }
  }
  deltas->resize(out + 1);
}

}  // namespace

void GroupCommitter::Submit(Job job) {
  bool full = false;
  {
    absl::MutexLock lock(&mu_);
    full = queue_.size() >= max_queue_;
    if (!full) {
      queue_.push_back(std::move(job));
      if (writing_) return;  // the current writer takes it in its next batch
      writing_ = true;
    }
  }
  if (full) {
    job.finish(absl::ResourceExhaustedError(
        absl::StrCat("overloaded: ", max_queue_,
                     " charges already wait for the disk; nothing charged, retry later")));
    return;
  }
  Drain();
}

void GroupCommitter::WaitForIdle() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !writing_ && queue_.empty(); };
  mu_.Await(absl::Condition(&idle));
}

void GroupCommitter::Drain() {
  std::vector<Job> batch;
  std::vector<Job*> live;
  std::vector<CounterDelta> deltas;
  std::vector<IdempotencyPut> puts;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (queue_.empty()) {
        writing_ = false;
        return;
      }
      batch.swap(queue_);
    }
    const absl::Time now = clock_->Now();
    live.clear();
    deltas.clear();
    puts.clear();
    for (Job& job : batch) {
      if (now > job.deadline) {
        job.finish(absl::DeadlineExceededError(
            "deadline passed before the charge was written; nothing charged"));
        continue;
      }
      if (job.cancelled && job.cancelled()) {
        job.finish(absl::CancelledError("call cancelled before the charge was written; "
                                        "nothing charged"));
        continue;
      }
      deltas.insert(deltas.end(), job.deltas.begin(), job.deltas.end());
      if (job.put) puts.push_back(std::move(*job.put));
      live.push_back(&job);
    }
    Coalesce(&deltas);
    const absl::Status written = live.empty() ? absl::OkStatus() : store_->CommitMany(deltas, puts);
    for (Job* job : live) job->finish(written);
    batch.clear();
  }
}

}  // namespace quotad
