// A per-node sliding one-minute admission counter (60 one-second slots),
// used for the automated-client burst limit. In memory only: it protects this
// node's servers from a fleet that fires at the same second, so it needs no
// durability or replication. Thread-safe.
#ifndef QUOTAD_ADMISSION_BURST_LIMITER_H_
#define QUOTAD_ADMISSION_BURST_LIMITER_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace quotad {

class BurstLimiter {
 public:
  // Adds `cost` if the last 60 s plus `cost` stay within `limit`. Returns
  // true when added.
  bool TryAdd(absl::Time now, int64_t limit, int64_t cost);
  // Adds unconditionally (shadow mode) / takes back an earlier add.
  void Add(absl::Time now, int64_t cost);
  void Remove(absl::Time now, int64_t cost);
  // Admissions in the 60 s ending at `now`.
  int64_t Count(absl::Time now) const;
  // Earliest time >= now at which `cost` more would fit; nullopt if never.
  std::optional<absl::Time> WhenFits(absl::Time now, int64_t limit, int64_t cost) const;

 private:
  static constexpr int kSlots = 60;
  int64_t CountLocked(int64_t now_sec) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void AddLocked(int64_t now_sec, int64_t cost) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::array<int64_t, kSlots> count_ ABSL_GUARDED_BY(mu_){};
  std::array<int64_t, kSlots> second_ ABSL_GUARDED_BY(mu_){};
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_BURST_LIMITER_H_
