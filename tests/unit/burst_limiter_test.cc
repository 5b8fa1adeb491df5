#include "quotad/admission/burst_limiter.h"

#include "gtest/gtest.h"
#include "quotad/admission/burst_budgets.h"

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

namespace quotad {
namespace {

TEST(BurstBudgetsTest, EachTierAndIntegrationSpendsOnlyItsOwnBudget) {
  BurstBudgets budgets;
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  auto pool = budgets.For("automated", "", t0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool->TryAdd(t0, 5, 1));
  EXPECT_FALSE(budgets.For("automated", "", t0)->TryAdd(t0, 5, 1));  // the same pool
  // An integration of the same tier, the same integration in another tier,
  // and another integration each have a full budget.
  EXPECT_TRUE(budgets.For("automated", "lab-1", t0)->TryAdd(t0, 5, 5));
  EXPECT_TRUE(budgets.For("registered-2", "lab-1", t0)->TryAdd(t0, 5, 5));
  EXPECT_TRUE(budgets.For("automated", "lab-2", t0)->TryAdd(t0, 5, 5));
  EXPECT_FALSE(budgets.For("automated", "lab-1", t0)->TryAdd(t0, 5, 1));
  EXPECT_EQ(budgets.size(), 4u);
}

TEST(BurstBudgetsTest, TrackedIntegrationsAreBoundedAndIdleOnesMakeRoom) {
  BurstBudgets budgets(/*max_budgets=*/2);
  const absl::Time t0 = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_TRUE(budgets.For("automated", "a", t0)->TryAdd(t0, 3, 3));
  ASSERT_TRUE(budgets.For("automated", "b", t0)->TryAdd(t0, 3, 3));
  // Full and nobody idle: new integrations share the tier's overflow budget.
  auto c = budgets.For("automated", "c", t0);
  auto d = budgets.For("automated", "d", t0);
  EXPECT_EQ(c, d);
  EXPECT_TRUE(c->TryAdd(t0, 3, 3));
  EXPECT_FALSE(d->TryAdd(t0, 3, 1));
  EXPECT_FALSE(budgets.For("automated", "a", t0)->TryAdd(t0, 3, 1));  // a keeps its own
  // A minute later a and b are idle: a new integration gets its own budget.
  const absl::Time t1 = t0 + absl::Seconds(61);
  auto e = budgets.For("automated", "e", t1);
  EXPECT_NE(e, budgets.For("automated", "f", t1));
  EXPECT_TRUE(e->TryAdd(t1, 3, 3));
  EXPECT_LE(budgets.size(), 2u + 1u);  // two integrations plus the overflow budget
}

}  // namespace
}  // namespace quotad
