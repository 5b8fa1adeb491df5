// Runs the work of calls that wait on the network (e.g. asking every peer
// for its stats) off gRPC's callback threads, which are shared by every
// listener of the process: a handler that blocks there can stall the quota
// listener's calls. Each task gets its own thread; at most `max_running` run
// at once and TryRun refuses more (the caller answers RESOURCE_EXHAUSTED).
// The destructor waits for every running task. Thread-safe.
#ifndef QUOTAD_RPC_OFFLOAD_H_
#define QUOTAD_RPC_OFFLOAD_H_

#include <memory>
#include <thread>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace quotad::rpc {

class Offloader {
 public:
  explicit Offloader(int max_running) : max_running_(max_running) {}
  ~Offloader() {
    absl::MutexLock lock(&state_->mu);
    state_->mu.Await(absl::Condition(
        +[](int* running) { return *running == 0; }, &state_->running));
  }
  Offloader(const Offloader&) = delete;
  Offloader& operator=(const Offloader&) = delete;

  // Starts `task` on its own thread, or returns false when `max_running`
  // tasks already run.
  bool TryRun(absl::AnyInvocable<void() &&> task) {
    {
      absl::MutexLock lock(&state_->mu);
      if (state_->running >= max_running_) return false;
      ++state_->running;
    }
    // The thread holds the state, not the Offloader: its last step (the
    // unlock) may run after the destructor has returned.
    std::thread([state = state_, task = std::move(task)]() mutable {
      std::move(task)();
      absl::MutexLock lock(&state->mu);
      --state->running;
    }).detach();
    return true;
  }

 private:
  struct State {
    absl::Mutex mu;
    int running ABSL_GUARDED_BY(mu) = 0;
  };
  const int max_running_;
  const std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace quotad::rpc

#endif  // QUOTAD_RPC_OFFLOAD_H_
