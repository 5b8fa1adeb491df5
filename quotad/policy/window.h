// Window arithmetic over time buckets (quotad/common/time_buckets.h). A
// limit row's window decides the unit of its counter's buckets, which
// buckets count and when capacity frees.
#ifndef QUOTAD_POLICY_WINDOW_H_
#define QUOTAD_POLICY_WINDOW_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "quotad/common/time_buckets.h"
#include "quotad/v1/policy.pb.h"

namespace quotad {

// The unit of the buckets a window reads: minutes for MINUTE_UTC, days for
// CALENDAR_MONTH_UTC, hours for every other window.
BucketUnit UnitOfWindow(v1::Window window);

// The inclusive range of buckets (of the window's unit) a window covers at
// `now`:
//   ROLLING_24H:        hours [hour(now) - 23, hour(now)]
//   CALENDAR_DAY_UTC:   hours [first hour of today (UTC), hour(now)]
//   HOUR_UTC:           hours [hour(now), hour(now)]
//   MINUTE_UTC:         minutes [minute(now), minute(now)]
//   CALENDAR_MONTH_UTC: days [the 1st of this month (UTC), today]
// Buckets after `last` (a clock stepped back, a peer slightly ahead) count
// as current: a backward clock step never hides charges. Buckets of another
// unit never count.
struct HourRange {
  uint32_t first = 0;
  uint32_t last = 0;
  bool Counts(uint32_t b) const { return b >= first && UnitOf(b) == UnitOf(first); }
};
HourRange WindowRange(v1::Window window, absl::Time now);

// When the bucket `bucket` stops counting in `window`.
absl::Time BucketLeavesWindow(v1::Window window, uint32_t bucket);

// Sum of the buckets the window counts at `now` (negative sums count as 0).
int64_t UsedInWindow(absl::Span<const HourCount> buckets, v1::Window window, absl::Time now);

// When the window next frees some capacity: the moment the oldest non-empty
// bucket leaves it. nullopt when nothing is used.
std::optional<absl::Time> NextRelease(absl::Span<const HourCount> buckets, v1::Window window,
                                      absl::Time now);

// Earliest time >= now at which `cost` more fits under `limit`, assuming no
// further charges. nullopt if it never fits (cost > limit).
std::optional<absl::Time> WhenFits(absl::Span<const HourCount> buckets, v1::Window window,
                                   absl::Time now, int64_t limit, int64_t cost);

}  // namespace quotad

#endif  // QUOTAD_POLICY_WINDOW_H_
