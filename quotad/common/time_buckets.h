// Hour buckets: every counter is kept per UTC hour. An "hour number" is the
// count of whole hours since the Unix epoch.
#ifndef QUOTAD_COMMON_TIME_BUCKETS_H_
#define QUOTAD_COMMON_TIME_BUCKETS_H_

#include <cstdint>

#include "absl/time/time.h"

namespace quotad {

// Floor of hours since the epoch. Fits uint32 until the year 2459.
inline uint32_t HourOf(absl::Time t) {
  return static_cast<uint32_t>(absl::ToUnixSeconds(t) / 3600);
}
inline absl::Time StartOfHour(uint32_t hour) { return absl::FromUnixSeconds(int64_t{hour} * 3600); }

// Net count charged to one counter in one hour bucket.
struct HourCount {
  uint32_t hour = 0;
  int64_t count = 0;
  friend bool operator==(const HourCount&, const HourCount&) = default;
};

}  // namespace quotad

#endif  // QUOTAD_COMMON_TIME_BUCKETS_H_
