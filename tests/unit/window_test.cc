#include "quotad/policy/window.h"

#include "gtest/gtest.h"

namespace quotad {
namespace {

absl::Time At(const char* text) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &err)) << err;
  return t;
}

TEST(WindowTest, RollingWindowCoversTheCurrentHourAndThe23Before) {
  const absl::Time now = At("2026-11-26T10:30:00Z");
  const uint32_t h = HourOf(now);
  std::vector<HourCount> buckets = {{h - 24, 5}, {h - 23, 3}, {h, 2}};
  EXPECT_EQ(UsedInWindow(buckets, v1::ROLLING_24H, now), 5);
  // At the next hour boundary the h-23 bucket leaves the window.
  EXPECT_EQ(UsedInWindow(buckets, v1::ROLLING_24H, At("2026-11-26T10:59:59Z")), 5);
  EXPECT_EQ(UsedInWindow(buckets, v1::ROLLING_24H, At("2026-11-26T11:00:00Z")), 2);
}

TEST(WindowTest, CalendarDayResetsAtUtcMidnight) {
  const absl::Time evening = At("2026-11-26T23:59:59Z");
  const uint32_t h = HourOf(evening);
  std::vector<HourCount> buckets = {{h - 23, 4}, {h, 1}};  // 00:00 and 23:00 today
  EXPECT_EQ(UsedInWindow(buckets, v1::CALENDAR_DAY_UTC, evening), 5);
  EXPECT_EQ(UsedInWindow(buckets, v1::CALENDAR_DAY_UTC, At("2026-11-27T00:00:00Z")), 0);
  EXPECT_EQ(*NextRelease(buckets, v1::CALENDAR_DAY_UTC, evening), At("2026-11-27T00:00:00Z"));
}

TEST(WindowTest, WhenFitsWaitsForTheOldestBucketsToLeave) {
  const absl::Time now = At("2026-11-26T10:30:00Z");
  const uint32_t h = HourOf(now);
  // 40 used: 10 at 08:00 yesterday+1 (h-2... ) etc.
  std::vector<HourCount> buckets = {{h - 20, 10}, {h - 5, 20}, {h, 10}};
  EXPECT_EQ(*WhenFits(buckets, v1::ROLLING_24H, now, 40, 1), StartOfHour(h - 20 + 24));
  EXPECT_EQ(*WhenFits(buckets, v1::ROLLING_24H, now, 40, 15), StartOfHour(h - 5 + 24));
  EXPECT_EQ(*WhenFits(buckets, v1::ROLLING_24H, now, 50, 1), now);
  EXPECT_FALSE(WhenFits(buckets, v1::ROLLING_24H, now, 0, 1).has_value());
  EXPECT_EQ(*NextRelease(buckets, v1::ROLLING_24H, now), StartOfHour(h + 4));
}

TEST(WindowTest, BucketsAfterNowCountSoABackwardClockStepHidesNoCharge) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  const uint32_t h = HourOf(now);
  // Charged at h+2, then the clock stepped back two hours.
  const std::vector<HourCount> buckets = {{h - 1, 1}, {h + 2, 3}};
  EXPECT_EQ(UsedInWindow(buckets, v1::ROLLING_24H, now), 4);
  EXPECT_EQ(UsedInWindow({{h + 2, 3}}, v1::CALENDAR_DAY_UTC, now), 3);
  // Capacity for the future bucket frees when it leaves its own window.
  EXPECT_EQ(WhenFits(buckets, v1::ROLLING_24H, now, 4, 1), BucketLeavesWindow(v1::ROLLING_24H, h - 1));
  EXPECT_EQ(WhenFits(buckets, v1::ROLLING_24H, now, 3, 1), BucketLeavesWindow(v1::ROLLING_24H, h + 2));
}

TEST(WindowTest, AMinuteWindowCountsTheCurrentClockMinuteInMinuteBuckets) {
  const absl::Time now = At("2026-11-26T10:30:45Z");
  const uint32_t m = BucketOf(BucketUnit::kMinute, now);
  EXPECT_EQ(UnitOfWindow(v1::MINUTE_UTC), BucketUnit::kMinute);
  EXPECT_EQ(BucketStart(m), At("2026-11-26T10:30:00Z"));
  const std::vector<HourCount> buckets = {{BucketsBefore(m, 1), 7}, {m, 2}};
  EXPECT_EQ(UsedInWindow(buckets, v1::MINUTE_UTC, now), 2);
  EXPECT_EQ(*NextRelease(buckets, v1::MINUTE_UTC, now), At("2026-11-26T10:31:00Z"));
  EXPECT_EQ(*WhenFits(buckets, v1::MINUTE_UTC, now, 2, 1), At("2026-11-26T10:31:00Z"));
  EXPECT_EQ(UsedInWindow(buckets, v1::MINUTE_UTC, At("2026-11-26T10:31:00Z")), 0);
  // An hour bucket never counts in a minute window (nor the reverse).
  EXPECT_EQ(UsedInWindow({{HourOf(now), 5}}, v1::MINUTE_UTC, now), 0);
  EXPECT_EQ(UsedInWindow({{m, 5}}, v1::ROLLING_24H, now), 0);
}

TEST(WindowTest, ACalendarMonthCountsDayBucketsAndFreesOnTheFirstAcrossAYear) {
  const absl::Time now = At("2026-12-31T23:00:00Z");
  const uint32_t today = BucketOf(BucketUnit::kDay, now);
  const uint32_t first = BucketOf(BucketUnit::kDay, At("2026-12-01T05:00:00Z"));
  const uint32_t november = BucketOf(BucketUnit::kDay, At("2026-11-30T12:00:00Z"));
  EXPECT_EQ(UnitOfWindow(v1::CALENDAR_MONTH_UTC), BucketUnit::kDay);
  const std::vector<HourCount> buckets = {{november, 100}, {first, 3}, {today, 4}};
  EXPECT_EQ(UsedInWindow(buckets, v1::CALENDAR_MONTH_UTC, now), 7);
  EXPECT_EQ(*NextRelease(buckets, v1::CALENDAR_MONTH_UTC, now), At("2027-01-01T00:00:00Z"));
  EXPECT_EQ(*WhenFits(buckets, v1::CALENDAR_MONTH_UTC, now, 8, 2), At("2027-01-01T00:00:00Z"));
  EXPECT_EQ(UsedInWindow(buckets, v1::CALENDAR_MONTH_UTC, At("2027-01-01T00:00:00Z")), 0);
  // February 2028 (a leap year) frees on March 1st.
  EXPECT_EQ(BucketLeavesWindow(v1::CALENDAR_MONTH_UTC,
                               BucketOf(BucketUnit::kDay, At("2028-02-29T10:00:00Z"))),
            At("2028-03-01T00:00:00Z"));
}

TEST(TimeBucketsTest, EachUnitHasItsTagAndItsRetention) {
  const absl::Time now = At("2026-11-26T10:30:45Z");
  EXPECT_EQ(BucketOf(BucketUnit::kHour, now), HourOf(now));  // unit 0: the plain hour number
  EXPECT_EQ(UnitOf(BucketOf(BucketUnit::kMinute, now)), BucketUnit::kMinute);
  EXPECT_EQ(UnitOf(BucketOf(BucketUnit::kDay, now)), BucketUnit::kDay);
  EXPECT_EQ(BucketStart(BucketOf(BucketUnit::kDay, now)), At("2026-11-26T00:00:00Z"));
  EXPECT_EQ(BucketEnd(BucketOf(BucketUnit::kMinute, now)), At("2026-11-26T10:31:00Z"));
  // Hours live `retention.hours` hours, minutes 120 minutes, days
  // `retention.days` days (never fewer than 35).
  const Retention retention{48, 400};
  const uint32_t hour = BucketOf(BucketUnit::kHour, now);
  EXPECT_TRUE(BucketLive(hour, now + absl::Hours(47), retention));
  EXPECT_FALSE(BucketLive(hour, now + absl::Hours(48), retention));
  const uint32_t minute = BucketOf(BucketUnit::kMinute, now);
  EXPECT_TRUE(BucketLive(minute, now + absl::Minutes(119), retention));
  EXPECT_FALSE(BucketLive(minute, now + absl::Minutes(120), retention));
  const uint32_t day = BucketOf(BucketUnit::kDay, now);
  EXPECT_TRUE(BucketLive(day, now + absl::Hours(24 * 399), retention));
  EXPECT_FALSE(BucketLive(day, now + absl::Hours(24 * 400), retention));
  EXPECT_TRUE(BucketLive(day, now + absl::Hours(24 * 34), Retention{48, 35}));
  EXPECT_FALSE(BucketLive(day, now + absl::Hours(24 * 35), Retention{48, 35}));
  EXPECT_FALSE(BucketLive(day, now + absl::Hours(24 * 35), Retention{48, 10}));  // floor 35
  EXPECT_TRUE(BucketLive(day, now + absl::Hours(24 * 34), Retention{48, 10}));
  EXPECT_FALSE(BucketLive(0xC0000000u | 5, now, retention));  // no such unit
}

TEST(WindowTest, RefundsReduceUsageButNeverBelowZero) {
  const absl::Time now = At("2026-11-26T10:30:00Z");
  const uint32_t h = HourOf(now);
  std::vector<HourCount> buckets = {{h, -3}};
  EXPECT_EQ(UsedInWindow(buckets, v1::ROLLING_24H, now), 0);
  EXPECT_FALSE(NextRelease(buckets, v1::ROLLING_24H, now).has_value());
}

}  // namespace
}  // namespace quotad
