#include "quotad/policy/window.h"

#include <algorithm>
#include <vector>

#include "absl/time/civil_time.h"

namespace quotad {

namespace {

// The first day (a day bucket) of the calendar month after `day`'s.
uint32_t FirstDayOfNextMonth(uint32_t day) {
  const absl::CivilDay civil = absl::ToCivilDay(BucketStart(day), absl::UTCTimeZone());
  const absl::CivilMonth next = absl::CivilMonth(civil) + 1;
  return BucketOf(BucketUnit::kDay, absl::FromCivil(next, absl::UTCTimeZone()));
}

uint32_t FirstDayOfMonth(absl::Time now) {
  const absl::CivilMonth month = absl::ToCivilMonth(now, absl::UTCTimeZone());
  return BucketOf(BucketUnit::kDay, absl::FromCivil(month, absl::UTCTimeZone()));
}

}  // namespace

BucketUnit UnitOfWindow(v1::Window window) {
  if (window == v1::MINUTE_UTC) return BucketUnit::kMinute;
  if (window == v1::CALENDAR_MONTH_UTC) return BucketUnit::kDay;
  return BucketUnit::kHour;
}

HourRange WindowRange(v1::Window window, absl::Time now) {
  if (window == v1::MINUTE_UTC) {
    const uint32_t m = BucketOf(BucketUnit::kMinute, now);
    return {m, m};
  }
  if (window == v1::CALENDAR_MONTH_UTC)
    return {FirstDayOfMonth(now), BucketOf(BucketUnit::kDay, now)};
  const uint32_t h = HourOf(now);
  if (window == v1::CALENDAR_DAY_UTC) return {h - h % 24, h};
  if (window == v1::HOUR_UTC) return {h, h};
  return {h >= 23 ? h - 23 : 0, h};
}

absl::Time BucketLeavesWindow(v1::Window window, uint32_t bucket) {
  if (window == v1::MINUTE_UTC) return BucketEnd(bucket);
  if (window == v1::CALENDAR_MONTH_UTC) return BucketStart(FirstDayOfNextMonth(bucket));
  if (window == v1::CALENDAR_DAY_UTC) return StartOfHour(bucket - bucket % 24 + 24);
  if (window == v1::HOUR_UTC) return StartOfHour(bucket + 1);
  return StartOfHour(bucket + 24);
}

int64_t UsedInWindow(absl::Span<const HourCount> buckets, v1::Window window, absl::Time now) {
  const HourRange range = WindowRange(window, now);
  int64_t used = 0;
  for (const HourCount& b : buckets) {
    if (range.Counts(b.hour)) used += b.count;
  }
  return std::max<int64_t>(used, 0);
}

std::optional<absl::Time> NextRelease(absl::Span<const HourCount> buckets, v1::Window window,
                                      absl::Time now) {
  const HourRange range = WindowRange(window, now);
  std::optional<uint32_t> oldest;
  for (const HourCount& b : buckets) {
    if (b.count > 0 && range.Counts(b.hour) && (!oldest || b.hour < *oldest)) oldest = b.hour;
  }
  if (!oldest) return std::nullopt;
  return BucketLeavesWindow(window, *oldest);
}

std::optional<absl::Time> WhenFits(absl::Span<const HourCount> buckets, v1::Window window,
                                   absl::Time now, int64_t limit, int64_t cost) {
  if (cost > limit) return std::nullopt;
  int64_t used = UsedInWindow(buckets, window, now);
  if (used + cost <= limit) return now;
  const HourRange range = WindowRange(window, now);
  std::vector<HourCount> in_window;
  for (const HourCount& b : buckets) {
    if (range.Counts(b.hour) && b.count != 0) in_window.push_back(b);
  }
  std::sort(in_window.begin(), in_window.end(),
            [](const HourCount& a, const HourCount& b) { return a.hour < b.hour; });
  // Buckets leave oldest first; a calendar day releases all of them at once.
  for (const HourCount& b : in_window) {
    used -= b.count;
    if (used + cost <= limit) return BucketLeavesWindow(window, b.hour);
  }
  return BucketLeavesWindow(window, range.last);
}

}  // namespace quotad
