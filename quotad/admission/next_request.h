// When to tell a client to come back.
#ifndef QUOTAD_ADMISSION_NEXT_REQUEST_H_
#define QUOTAD_ADMISSION_NEXT_REQUEST_H_

#include "absl/random/bit_gen_ref.h"
#include "absl/time/time.h"

namespace quotad {

struct AutomatedInterval {
  absl::Duration mean = absl::Hours(6);
  absl::Duration min = absl::Minutes(36);
  absl::Duration max = absl::Hours(15);
};

// An exponential draw with `interval.mean`, clipped to [min, max] (the ndt7
// guidance for automated clients).
absl::Duration DrawAutomatedInterval(const AutomatedInterval& interval, absl::BitGenRef gen);

// next_request for an admitted automated client: now + a draw, but never
// earlier than `capacity_frees` (when its next test fits under every limit).
absl::Time NextRequestForAutomated(absl::Time now, absl::Time capacity_frees,
                                   const AutomatedInterval& interval, absl::BitGenRef gen);

// next_request for a denied client: the moment capacity frees plus a uniform
// jitter in [0, max_jitter), so refused clients do not return in lock-step.
absl::Time NextRequestAfterDenial(absl::Time capacity_frees, absl::Duration max_jitter,
                                  absl::BitGenRef gen);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_NEXT_REQUEST_H_
