#include "quotad/admission/burst_limiter.h"

#include <algorithm>
#include <vector>

namespace quotad {

int64_t BurstLimiter::CountLocked(int64_t now_sec) const {
  int64_t total = 0;
  for (int i = 0; i < kSlots; ++i) {
    if (second_[i] > now_sec - kSlots && second_[i] <= now_sec) total += count_[i];
  }
  return total;
}

void BurstLimiter::AddLocked(int64_t now_sec, int64_t cost) {
  const int i = static_cast<int>(((now_sec % kSlots) + kSlots) % kSlots);
  if (second_[i] != now_sec) {
    second_[i] = now_sec;
    count_[i] = 0;
  }
  count_[i] += cost;
}

bool BurstLimiter::TryAdd(absl::Time now, int64_t limit, int64_t cost) {
  const int64_t sec = absl::ToUnixSeconds(now);
  absl::MutexLock lock(&mu_);
  if (CountLocked(sec) + cost > limit) return false;
  AddLocked(sec, cost);
  return true;
}

void BurstLimiter::Add(absl::Time now, int64_t cost) {
  absl::MutexLock lock(&mu_);
  AddLocked(absl::ToUnixSeconds(now), cost);
}

void BurstLimiter::Remove(absl::Time now, int64_t cost) {
  const int64_t sec = absl::ToUnixSeconds(now);
  absl::MutexLock lock(&mu_);
  const int i = static_cast<int>(((sec % kSlots) + kSlots) % kSlots);
  if (second_[i] == sec) count_[i] = std::max<int64_t>(0, count_[i] - cost);
}

int64_t BurstLimiter::Count(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  return CountLocked(absl::ToUnixSeconds(now));
}

std::optional<absl::Time> BurstLimiter::WhenFits(absl::Time now, int64_t limit,
                                                 int64_t cost) const {
  if (cost > limit) return std::nullopt;
  const int64_t sec = absl::ToUnixSeconds(now);
  absl::ReaderMutexLock lock(&mu_);
  int64_t used = CountLocked(sec);
  if (used + cost <= limit) return now;
  std::vector<std::pair<int64_t, int64_t>> live;  // (second, count), oldest first
  for (int i = 0; i < kSlots; ++i) {
    if (second_[i] > sec - kSlots && second_[i] <= sec && count_[i] > 0) {
      live.emplace_back(second_[i], count_[i]);
    }
  }
  std::sort(live.begin(), live.end());
  for (const auto& [second, count] : live) {
    used -= count;
    if (used + cost <= limit) return absl::FromUnixSeconds(second + kSlots);
  }
  return absl::FromUnixSeconds(sec + kSlots);
}

}  // namespace quotad
