#include "quotad/admission/next_request.h"

#include <cmath>
#include <map>
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
    EXPECT_GE(NextRequestForAutomated(now, frees, absl::Minutes(36), {}, gen), frees);
  }
}

TEST(NextRequestTest, ClientsFillingUpTogetherAreSpreadPastTheSharedBoundary) {
  std::mt19937_64 gen(3);
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const absl::Time frees = now + absl::Hours(23);  // the hour they all filled up, 23 h on
  std::map<int64_t, int> per_minute;
  constexpr int kClients = 1000;
  for (int i = 0; i < kClients; ++i) {
    const absl::Time t = NextRequestForAutomated(now, frees, absl::Minutes(36), {}, gen);
    ASSERT_GE(t, frees);
    ++per_minute[absl::ToInt64Minutes(t - now)];
  }
  for (const auto& [minute, count] : per_minute) {
    EXPECT_LE(count, kClients * 6 / 100) << "minute " << minute;  // uniform: 1000/36 = 2.8%
  }
  // With capacity free there is nothing to spread.
  EXPECT_EQ(SpreadAfterCapacity(now, now, absl::Minutes(15), gen), now);
  EXPECT_EQ(SpreadAfterCapacity(now, now - absl::Hours(1), absl::Minutes(15), gen), now);
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
