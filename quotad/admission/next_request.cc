#include "quotad/admission/next_request.h"

#include <algorithm>

#include "absl/random/distributions.h"

namespace quotad {

absl::Duration DrawAutomatedInterval(const AutomatedInterval& interval, absl::BitGenRef gen) {
  const double mean_s = absl::ToDoubleSeconds(interval.mean);
  const double draw_s = absl::Exponential<double>(gen, 1.0 / mean_s);
  const absl::Duration draw = absl::Seconds(draw_s);
  return std::clamp(draw, interval.min, interval.max);
}

absl::Time SpreadAfterCapacity(absl::Time now, absl::Time capacity_frees, absl::Duration spread,
                               absl::BitGenRef gen) {
  if (capacity_frees <= now) return now;
  return NextRequestAfterDenial(capacity_frees, spread, gen);
}

absl::Time NextRequestForAutomated(absl::Time now, absl::Time capacity_frees,
                                   absl::Duration spread, const AutomatedInterval& interval,
                                   absl::BitGenRef gen) {
  return std::max(now + DrawAutomatedInterval(interval, gen),
                  SpreadAfterCapacity(now, capacity_frees, spread, gen));
}

absl::Time NextRequestAfterDenial(absl::Time capacity_frees, absl::Duration max_jitter,
                                  absl::BitGenRef gen) {
  if (max_jitter <= absl::ZeroDuration()) return capacity_frees;
  const double jitter_s = absl::Uniform<double>(gen, 0.0, absl::ToDoubleSeconds(max_jitter));
  return capacity_frees + absl::Seconds(jitter_s);
}

}  // namespace quotad
