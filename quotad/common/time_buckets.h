// Time buckets: every counter is kept per bucket of one unit, chosen by the
// limit rows that read it (quotad/policy/window.h): an hour for the rolling
// 24 h, the UTC day and the UTC hour, a minute for MINUTE_UTC, a day for
// CALENDAR_MONTH_UTC.
//
// A bucket number is [unit:2][whole units since the Unix epoch:30]. An hour
// bucket is the plain "hour number" (unit 0: keys written before units
// existed read unchanged); a minute bucket is 0x40000000 | minutes, a day
// bucket 0x80000000 | days. Within one unit numeric order is time order; a
// counter's buckets are all of one unit (the unit is part of what its id
// hashes). Minutes fit until the year 4011, hours and days far beyond.
#ifndef QUOTAD_COMMON_TIME_BUCKETS_H_
#define QUOTAD_COMMON_TIME_BUCKETS_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace quotad {

enum class BucketUnit : uint8_t { kHour = 0, kMinute = 1, kDay = 2 };

// Floor of hours since the epoch (an hour bucket).
inline uint32_t HourOf(absl::Time t) {
  return static_cast<uint32_t>(absl::ToUnixSeconds(t) / 3600);
}
inline absl::Time StartOfHour(uint32_t hour) { return absl::FromUnixSeconds(int64_t{hour} * 3600); }

inline constexpr uint32_t kBucketNumberMask = 0x3FFFFFFFu;
inline BucketUnit UnitOf(uint32_t bucket) { return static_cast<BucketUnit>(bucket >> 30); }
inline uint32_t BucketNumber(uint32_t bucket) { return bucket & kBucketNumberMask; }
// False for the fourth unit tag (3), which no bucket has.
inline bool KnownUnit(uint32_t bucket) {
  return static_cast<uint8_t>(UnitOf(bucket)) <= static_cast<uint8_t>(BucketUnit::kDay);
}
inline uint32_t MakeBucket(BucketUnit unit, uint32_t number) {
  return static_cast<uint32_t>(unit) << 30 | (number & kBucketNumberMask);
}
absl::Duration UnitWidth(BucketUnit unit);
// The bucket of `unit` holding `t` (times before the epoch: bucket 0).
uint32_t BucketOf(BucketUnit unit, absl::Time t);
absl::Time BucketStart(uint32_t bucket);
inline absl::Time BucketEnd(uint32_t bucket) {
  return BucketStart(bucket) + UnitWidth(UnitOf(bucket));
}
// The bucket `n` units before `bucket` (clamped at the unit's bucket 0).
uint32_t BucketsBefore(uint32_t bucket, uint32_t n);

// How long buckets are kept (storage, replication): hour buckets
// `Retention::hours` (the policy's retention_hours); minute buckets
// kMinuteRetention minutes; day buckets `Retention::days` (the policy's
// meter_retention_days: day buckets hold only calendar-month counters and
// usage meters, none of them personal), never fewer than kMinDayRetention
// (a calendar month of 31 days, clock skew and a margin).
inline constexpr uint32_t kMinuteRetention = 120;
inline constexpr uint32_t kMinDayRetention = 35;
inline constexpr int64_t kDefaultDayRetention = 400;
inline constexpr int64_t kMaxDayRetention = 1830;
struct Retention {
  int64_t hours = 48;
  int64_t days = kDefaultDayRetention;
};
// A Retention that may change while it is read (a policy reload): the
// store's readers and compaction filter share one.
class SharedRetention {
 public:
  explicit SharedRetention(Retention r) { Store(r); }
  Retention Load() const {
    return {hours_.load(std::memory_order_relaxed), days_.load(std::memory_order_relaxed)};
  }
  void Store(Retention r) {
    hours_.store(r.hours, std::memory_order_relaxed);
    days_.store(r.days, std::memory_order_relaxed);
  }

 private:
  std::atomic<int64_t> hours_{0};
  std::atomic<int64_t> days_{0};
};
// The oldest live bucket of `unit` at `now`.
uint32_t OldestLiveBucket(BucketUnit unit, absl::Time now, const Retention& retention);
// Whether `bucket` is still kept at `now`. False for an unknown unit (3).
bool BucketLive(uint32_t bucket, absl::Time now, const Retention& retention);

// Net count charged to one counter in one bucket (`hour`: the bucket number,
// an hour number for hour buckets).
struct HourCount {
  uint32_t hour = 0;
  int64_t count = 0;
  friend bool operator==(const HourCount&, const HourCount&) = default;
};

}  // namespace quotad

#endif  // QUOTAD_COMMON_TIME_BUCKETS_H_
