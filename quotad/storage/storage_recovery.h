// StorageRecovery: the health of a store whose writes can fail (disk full,
// I/O errors), and the thread that heals it.
//
// Contract:
//   - Healthy until ReportFailure(); from then on healthy() is false and the
//     store refuses writes itself (RocksDB must not be written again after a
//     failed WAL write), one ERROR line is logged and the listener hears
//     `false` once.
//   - While unhealthy, a background thread calls `heal` every `retry`; the
//     first OK makes the store healthy again: one INFO line, listener hears
//     `true`. Failures of `heal` are logged at most once a minute.
//   - Further ReportFailure() calls while unhealthy change nothing.
//   - The listener is called at once with the current state when set, and
//     after every change with the state at that moment (so its last call
//     always tells the truth); never with the internal lock held, so it may
//     call into gRPC.
// Thread-safe.
#ifndef QUOTAD_STORAGE_STORAGE_RECOVERY_H_
#define QUOTAD_STORAGE_STORAGE_RECOVERY_H_

#include <functional>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quotad {

class StorageRecovery {
 public:
  using Listener = std::function<void(bool healthy)>;

  StorageRecovery(std::function<absl::Status()> heal, absl::Duration retry);
  ~StorageRecovery();
  StorageRecovery(const StorageRecovery&) = delete;
  StorageRecovery& operator=(const StorageRecovery&) = delete;

  // Stops healing (idempotent; the destructor calls it): heal is not
  // called after Stop returns. ReportFailure still records failures.
  void Stop();

  bool healthy() const;
  // `what` says which write failed; logged with the status.
  void ReportFailure(const absl::Status& status, absl::string_view what);
  // Null to stop listening.
  void SetListener(Listener listener);

 private:
  void Run();
  void Notify();

  const std::function<absl::Status()> heal_;
  const absl::Duration retry_;
  mutable absl::Mutex mu_;
  bool healthy_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex listener_mu_;  // serialises calls to the listener
  Listener listener_ ABSL_GUARDED_BY(listener_mu_);
  std::thread thread_;
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_STORAGE_RECOVERY_H_
