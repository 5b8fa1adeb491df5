// Injectable time source. Everything that reads the time takes a Clock* so
// tests can drive time explicitly instead of sleeping.
#ifndef QUOTAD_COMMON_CLOCK_H_
#define QUOTAD_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quotad {

// Thread-safe source of the current time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time. Thread-safe; a process-wide instance is returned by Real().
class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // Never destroyed; safe to use from any thread at any time.
  static Clock* Real();
};

// Monotonic time (std::chrono::steady_clock) as an absl::Time on an
// arbitrary epoch: only differences mean anything. Never steps. Thread-safe.
class SteadyClock final : public Clock {
 public:
  absl::Time Now() const override;
  static Clock* Steady();
};

// The time by which stored data may be deleted for age: the wall clock, but
// never later than (wall clock at start + elapsed monotonic time since) and
// never going back. A wall clock stepped forward (48 h, say) therefore cannot
// make compaction drop data that is live once the clock is corrected; a
// forward step is logged once. A step back leaves it where it is. Limits:
// the bound starts from the wall clock at process start (a process started
// during a forward step trusts it), and time the monotonic clock does not
// count (a suspended VM) delays deletion by that much, never hastens it.
// Thread-safe.
class DeletionWatermark final : public Clock {
 public:
  DeletionWatermark(Clock* wall, Clock* elapsed);
  absl::Time Now() const override;

 private:
  Clock* wall_;
  Clock* elapsed_;
  const absl::Time wall_at_start_;
  const absl::Time elapsed_at_start_;
  mutable absl::Mutex mu_;
  mutable absl::Time mark_ ABSL_GUARDED_BY(mu_);
  mutable bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

// A manually driven clock for tests. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quotad

#endif  // QUOTAD_COMMON_CLOCK_H_
