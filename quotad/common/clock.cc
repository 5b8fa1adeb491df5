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
    : wall_(wall), elapsed_(elapsed), mark_(wall->Now()), elapsed_at_mark_(elapsed->Now()) {}

absl::Time DeletionWatermark::Now() const {
  const absl::Time wall = wall_->Now();
  absl::MutexLock lock(&mu_);
  const absl::Time elapsed = elapsed_->Now();
  const absl::Time fastest = mark_ + std::max(absl::ZeroDuration(), elapsed - elapsed_at_mark_);
  if (wall > fastest + absl::Minutes(1) && !warned_) {
    warned_ = true;
    QUOTAD_LOG(WARNING) << "wall clock ran " << absl::FormatDuration(wall - fastest)
                        << " ahead of elapsed time; data is deleted for age by elapsed time "
                           "until they agree";
  }
  mark_ = std::max(mark_, std::min(wall, fastest));
  elapsed_at_mark_ = elapsed;
  if (wall <= mark_) warned_ = false;
  return mark_;
}

}  // namespace quotad
