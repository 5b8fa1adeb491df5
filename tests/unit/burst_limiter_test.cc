#include "quotad/admission/burst_limiter.h"

#include "gtest/gtest.h"

namespace quotad {
namespace {

TEST(BurstLimiterTest, AdmitsUpToTheLimitPerRollingMinute) {
  BurstLimiter burst;
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(burst.TryAdd(t0, 5, 1));
  EXPECT_FALSE(burst.TryAdd(t0, 5, 1));
  EXPECT_FALSE(burst.TryAdd(t0 + absl::Seconds(59), 5, 1));
  EXPECT_EQ(*burst.WhenFits(t0 + absl::Seconds(30), 5, 1), t0 + absl::Seconds(60));
  EXPECT_TRUE(burst.TryAdd(t0 + absl::Seconds(60), 5, 1));
  EXPECT_EQ(burst.Count(t0 + absl::Seconds(60)), 1);
}

TEST(BurstLimiterTest, OldSecondsSlideOut) {
  BurstLimiter burst;
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_TRUE(burst.TryAdd(t0, 2, 1));
  EXPECT_TRUE(burst.TryAdd(t0 + absl::Seconds(30), 2, 1));
  EXPECT_FALSE(burst.TryAdd(t0 + absl::Seconds(45), 2, 1));
  EXPECT_TRUE(burst.TryAdd(t0 + absl::Seconds(61), 2, 1));  // t0's slot left
  burst.Remove(t0 + absl::Seconds(61), 1);
  EXPECT_EQ(burst.Count(t0 + absl::Seconds(61)), 1);
}

}  // namespace
}  // namespace quotad
