#include "quotad/admission/group_committer.h"

#include "absl/strings/str_cat.h"

namespace quotad {

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
    const absl::Status written = live.empty() ? absl::OkStatus() : store_->CommitMany(deltas, puts);
    for (Job* job : live) job->finish(written);
    batch.clear();
  }
}

}  // namespace quotad
