#include "quotad/common/time_buckets.h"

#include <algorithm>

namespace quotad {

absl::Duration UnitWidth(BucketUnit unit) {
  switch (unit) {
    case BucketUnit::kMinute:
      return absl::Minutes(1);
    case BucketUnit::kDay:
      return absl::Hours(24);
    default:
      return absl::Hours(1);
  }
}

uint32_t BucketOf(BucketUnit unit, absl::Time t) {
  const int64_t width = absl::ToInt64Seconds(UnitWidth(unit));
  const int64_t n = std::max<int64_t>(absl::ToUnixSeconds(t), 0) / width;
  return MakeBucket(unit, static_cast<uint32_t>(std::min<int64_t>(n, kBucketNumberMask)));
}

absl::Time BucketStart(uint32_t bucket) {
  return absl::UnixEpoch() + UnitWidth(UnitOf(bucket)) * int64_t{BucketNumber(bucket)};
}

uint32_t BucketsBefore(uint32_t bucket, uint32_t n) {
  const uint32_t number = BucketNumber(bucket);
  return MakeBucket(UnitOf(bucket), number > n ? number - n : 0);
}

uint32_t OldestLiveBucket(BucketUnit unit, absl::Time now, const Retention& retention) {
  int64_t keep = retention.hours;
  if (unit == BucketUnit::kMinute) keep = kMinuteRetention;
  if (unit == BucketUnit::kDay) keep = std::max<int64_t>(retention.days, kMinDayRetention);
  const int64_t oldest = int64_t{BucketNumber(BucketOf(unit, now))} - keep + 1;
  return MakeBucket(unit, static_cast<uint32_t>(std::max<int64_t>(oldest, 0)));
}

bool BucketLive(uint32_t bucket, absl::Time now, const Retention& retention) {
  return KnownUnit(bucket) && bucket >= OldestLiveBucket(UnitOf(bucket), now, retention);
}

}  // namespace quotad
