#include "quotad/common/clock.h"

#include <algorithm>
#include <chrono>

#include "quotad/common/logging.h"

namespace quotad {

Clock* RealClock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

absl::Time SteadyClock::Now() const {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

Clock* SteadyClock::Steady() {
  static SteadyClock* const clock = new SteadyClock();
  return clock;
}

DeletionWatermark::DeletionWatermark(Clock* wall, Clock* elapsed)
    : wall_(wall),
      elapsed_(elapsed),
      wall_at_start_(wall->Now()),
      elapsed_at_start_(elapsed->Now()),
      mark_(wall_at_start_) {}

absl::Time DeletionWatermark::Now() const {
  absl::MutexLock lock(&mu_);
  const absl::Time wall = wall_->Now();
  const absl::Time ceiling = wall_at_start_ + (elapsed_->Now() - elapsed_at_start_);
  if (wall > ceiling + absl::Minutes(1)) {
    if (!warned_) {
      QUOTAD_LOG(WARNING) << "wall clock is " << absl::FormatDuration(wall - ceiling)
                          << " ahead of the time elapsed since start; data is deleted for age "
                             "by elapsed time while they disagree";
    }
    warned_ = true;
  } else {
    warned_ = false;
  }
  mark_ = std::max(mark_, std::min(wall, ceiling));
  return mark_;
}

}  // namespace quotad
