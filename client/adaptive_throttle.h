// Client-side adaptive throttling (Google SRE book, "Handling Overload"):
// over the last `window` a caller counts the calls it wanted to send to a
// node and the calls the node answered, and refuses a call locally with
// probability max(0, (wanted - K * answered) / (wanted + 1)). A healthy node
// (answered == wanted) is never throttled; a node that answers only part of
// what it is sent then sees about K times what it answers instead of a
// flood it can only drop. K = 2 is the book's default; smaller is stricter
// (the resilient connection uses 1.1: see ResilienceOptions::throttle_k).
//
// Counts are kept per second of the window (memory O(window), not O(calls)).
// Thread-safe.
#ifndef QUOTAD_CLIENT_ADAPTIVE_THROTTLE_H_
#define QUOTAD_CLIENT_ADAPTIVE_THROTTLE_H_

#include <algorithm>
#include <cstdint>
#include <deque>

#include "absl/random/bit_gen_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "quotad/common/clock.h"

namespace quotad::client {

class AdaptiveThrottle {
 public:
  // `k` > 0; `clock` is borrowed.
  AdaptiveThrottle(double k, absl::Duration window, Clock* clock)
      : k_(k), window_seconds_(std::max<int64_t>(1, absl::ToInt64Seconds(window))), clock_(clock) {}

  // Whether to send a call now (counted as wanted either way).
  bool Admit(absl::BitGenRef gen);
  // A call Admit let through was answered (an OK or a final error), or not
  // (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED).
  void Record(bool answered);
  // The current local refusal probability (for metrics and tests).
  double RefusalProbability();

 private:
  struct Second {
    int64_t at;  // unix seconds
    int64_t wanted = 0;
    int64_t answered = 0;
  };
  Second& Current() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  double Probability() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double k_;
  const int64_t window_seconds_;
  Clock* const clock_;
  absl::Mutex mu_;
  std::deque<Second> seconds_ ABSL_GUARDED_BY(mu_);
  int64_t wanted_ ABSL_GUARDED_BY(mu_) = 0;    // over the window
  int64_t answered_ ABSL_GUARDED_BY(mu_) = 0;  // over the window
};

}  // namespace quotad::client

#endif  // QUOTAD_CLIENT_ADAPTIVE_THROTTLE_H_
