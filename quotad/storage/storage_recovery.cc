#include "quotad/storage/storage_recovery.h"

#include "quotad/common/logging.h"

namespace quotad {

StorageRecovery::StorageRecovery(std::function<absl::Status()> heal, absl::Duration retry)
    : heal_(std::move(heal)), retry_(retry), thread_([this] { Run(); }) {}

StorageRecovery::~StorageRecovery() { Stop(); }

void StorageRecovery::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool StorageRecovery::healthy() const {
  absl::MutexLock lock(&mu_);
  return healthy_;
}

void StorageRecovery::ReportFailure(const absl::Status& status, absl::string_view what) {
  {
    absl::MutexLock lock(&mu_);
    if (!healthy_) return;
    healthy_ = false;
  }
  QUOTAD_LOG(ERROR) << "storage failed (" << what << "): " << status
                    << "; refusing writes (UNAVAILABLE) and NOT_SERVING until it recovers";
  Notify();
}

void StorageRecovery::SetListener(Listener listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
  if (listener_) listener_(healthy());
}

void StorageRecovery::Notify() {
  // The current state, not the one that caused the call: a failure and a
  // recovery racing here still leave the listener with the last word.
  absl::MutexLock lock(&listener_mu_);
  if (listener_) listener_(healthy());
}

void StorageRecovery::Run() {
  absl::Time last_logged = absl::InfinitePast();
  int attempts = 0;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      // Wait for a failure (or stop), then at least `retry` before healing.
      mu_.Await(absl::Condition(
          +[](StorageRecovery* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->healthy_;
          },
          this));
      if (stopping_) return;
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), retry_)) return;
    }
    ++attempts;
    const absl::Status healed = heal_();
    if (!healed.ok()) {
      if (absl::Now() - last_logged >= absl::Minutes(1)) {
        QUOTAD_LOG(WARNING) << "storage still failing after " << attempts
                            << " recovery attempts: " << healed;
        last_logged = absl::Now();
      }
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      healthy_ = true;
    }
    QUOTAD_LOG(INFO) << "storage recovered after " << attempts
                     << " attempts; accepting writes and SERVING";
    attempts = 0;
    last_logged = absl::InfinitePast();
    Notify();
  }
}

}  // namespace quotad
