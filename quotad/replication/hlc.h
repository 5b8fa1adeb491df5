// A hybrid logical clock: timestamps that follow physical time but never go
// backwards and always exceed every timestamp observed from peers, so
// last-writer-wins picks the causally later write. Encoding:
// (physical milliseconds << 16) | logical counter. Thread-safe.
#ifndef QUOTAD_REPLICATION_HLC_H_
#define QUOTAD_REPLICATION_HLC_H_

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "quotad/common/clock.h"

namespace quotad {

class HybridLogicalClock {
 public:
  explicit HybridLogicalClock(Clock* clock) : clock_(clock) {}

  // A timestamp greater than every earlier Now() and Observe()d one.
  uint64_t Now() {
    const uint64_t physical = Physical();
    absl::MutexLock lock(&mu_);
    last_ = std::max(last_ + 1, physical);
    return last_;
  }
  // Moves the clock past a timestamp seen from a peer.
  void Observe(uint64_t remote) {
    absl::MutexLock lock(&mu_);
    last_ = std::max(last_, remote);
  }
  static int64_t PhysicalMillis(uint64_t hlc) { return static_cast<int64_t>(hlc >> 16); }
  static uint64_t FromTime(absl::Time t) {
    return static_cast<uint64_t>(absl::ToUnixMillis(t)) << 16;
  }

 private:
  uint64_t Physical() const { return FromTime(clock_->Now()); }
  Clock* clock_;
  absl::Mutex mu_;
  uint64_t last_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_HLC_H_
