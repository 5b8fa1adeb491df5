#include "quotad/admission/next_request.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace quotad {
namespace {

TEST(NextRequestTest, AutomatedDrawsStayInBoundsWithTheClippedExponentialMean) {
  std::mt19937_64 gen(42);
  const AutomatedInterval interval;  // 6 h mean, [36 min, 15 h]
  constexpr int kDraws = 200000;
  double sum_h = 0;
  int at_min = 0;
  int at_max = 0;
  for (int i = 0; i < kDraws; ++i) {
    const absl::Duration d = DrawAutomatedInterval(interval, gen);
    ASSERT_GE(d, absl::Minutes(36));
    ASSERT_LE(d, absl::Hours(15));
    sum_h += absl::ToDoubleHours(d);
    at_min += d == absl::Minutes(36);
    at_max += d == absl::Hours(15);
  }
  // E[clip(X, a, b)] for X ~ Exp(mean m) = a + m (e^{-a/m} - e^{-b/m}).
  const double m = 6, a = 0.6, b = 15;
  const double expected = a + m * (std::exp(-a / m) - std::exp(-b / m));
  EXPECT_NEAR(sum_h / kDraws, expected, expected * 0.01);
  // P(X < a) = 1 - e^{-0.1} ~ 9.5%; P(X > b) = e^{-2.5} ~ 8.2%.
  EXPECT_NEAR(static_cast<double>(at_min) / kDraws, 1 - std::exp(-a / m), 0.005);
  EXPECT_NEAR(static_cast<double>(at_max) / kDraws, std::exp(-b / m), 0.005);
}

TEST(NextRequestTest, AutomatedNeverEarlierThanCapacityFrees) {
  std::mt19937_64 gen(7);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time frees = now + absl::Hours(20);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_GE(NextRequestForAutomated(now, frees, {}, gen), frees);
  }
}

TEST(NextRequestTest, DenialJitterSpreadsClientsOverTheJitterWindow) {
  std::mt19937_64 gen(1);
  const absl::Time frees = absl::FromUnixSeconds(1'800'000'000);
  int buckets[10] = {0};
  for (int i = 0; i < 10000; ++i) {
    const absl::Time t = NextRequestAfterDenial(frees, absl::Minutes(10), gen);
    ASSERT_GE(t, frees);
    ASSERT_LT(t, frees + absl::Minutes(10));
    ++buckets[static_cast<int>((t - frees) / absl::Minutes(1))];
  }
  for (int count : buckets) EXPECT_NEAR(count, 1000, 150);  // roughly uniform
  EXPECT_EQ(NextRequestAfterDenial(frees, absl::ZeroDuration(), gen), frees);
}

}  // namespace
}  // namespace quotad
