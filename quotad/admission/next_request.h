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

// The moment capacity frees (when the client's next test fits under every
// limit; it frees at hour boundaries, shared by every client that filled up
// in the same hour) plus a uniform jitter in [0, spread), so those clients
// do not all come back in the same minute. `now` if capacity is already
// free: there is nothing to wait for.
absl::Time SpreadAfterCapacity(absl::Time now, absl::Time capacity_frees, absl::Duration spread,
                               absl::BitGenRef gen);

// next_request for an admitted automated client: now + a draw, but never
// earlier than SpreadAfterCapacity (an admission that used the last test
// of a limit is told a spread time after capacity frees, not the boundary).
absl::Time NextRequestForAutomated(absl::Time now, absl::Time capacity_frees,
                                   absl::Duration spread, const AutomatedInterval& interval,
                                   absl::BitGenRef gen);

// next_request for a denied client: the moment capacity frees plus a uniform
// jitter in [0, max_jitter), so refused clients do not return in lock-step.
absl::Time NextRequestAfterDenial(absl::Time capacity_frees, absl::Duration max_jitter,
                                  absl::BitGenRef gen);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_NEXT_REQUEST_H_
