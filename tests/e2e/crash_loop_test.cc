// Crash loop (after RocksDB's crash test): a node of a real 3-node cluster is
// SIGKILLed under closed-loop load and restarted, again and again. After
// every restart no acknowledged charge is lost (acked <= counted <= acked +
// calls in flight at the kill) and the whole cluster agrees on the count.
//   bounded in CI: QUOTAD_CRASH_LOOP_ITERATIONS (default 5)
//   the full run:  QUOTAD_CRASH_LOOP_ITERATIONS=100 build/tests/crash_loop_test
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using Cluster = testing::LocalCluster;

constexpr int kCallers = 4;  // calls in flight at most at the kill

int Iterations() {
  int n = 5;
  if (const char* env = std::getenv("QUOTAD_CRASH_LOOP_ITERATIONS")) {
    if (!absl::SimpleAtoi(env, &n) || n < 1) n = 5;
  }
  return n;
}

// Client `i` of round `round`: distinct addresses in one /24 per round, so
// the round's group counter counts every admission of the round.
v1::AcquireRequest RoundClient(int round, int i) {
  v1::AcquireRequest req;
  req.set_ip(absl::StrCat("10.", 100 + round / 200, ".", round % 200, ".", 1 + i));
  req.set_user_agent("crash-loop");
  return req;
}

// The round's group usage on node `node`, or -1.
int64_t GroupUsed(Cluster& c, int node, int round) {
  auto r = c.Client(node).Check(RoundClient(round, 0));
  if (!r.ok()) return -1;
  for (const auto& l : r->limits()) {
    if (l.name() == "group_daily") return l.used();
  }
  return -1;
}

TEST(CrashLoopTest, SigkillUnderLoadLosesNoAcknowledgedChargeAndTheClusterAgrees) {
  testing::TempDir dir;
  Cluster c(dir, 3, absl::Milliseconds(200), absl::Seconds(1));
  ASSERT_TRUE(c.StartAll().ok());
  const int victim = 1;
  const int iterations = Iterations();
  for (int round = 0; round < iterations; ++round) {
    std::atomic<int> next{0}, acked{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < kCallers; ++t) {
      callers.emplace_back([&] {
        auto client = c.Client(victim);
        for (int i = next.fetch_add(1); i < 250; i = next.fetch_add(1)) {
          auto r = client.Acquire(RoundClient(round, i));
          if (!r.ok()) return;  // the node died under us
          if (r->allowed()) ++acked;
        }
      });
    }
    ASSERT_TRUE(testing::AwaitTrue("20 charges acknowledged", absl::Seconds(20), [&] {
                  return acked.load() >= 20;
                }, absl::Milliseconds(1)).ok());
    EXPECT_EQ(c.node(victim).StopWith(SIGKILL), 128 + SIGKILL);
    for (auto& t : callers) t.join();
    const int acknowledged = acked.load();
    ASSERT_TRUE(c.Start(victim).ok()) << "round " << round;
    const int64_t counted = GroupUsed(c, victim, round);
    ASSERT_GE(counted, acknowledged) << "round " << round << ": an acknowledged charge was lost";
    ASSERT_LE(counted, acknowledged + kCallers) << "round " << round;
    absl::Status agreed = testing::Await("every node counts the round alike", absl::Seconds(20), [&] {
      for (int n = 0; n < 3; ++n) {
        const int64_t used = GroupUsed(c, n, round);
        if (used != counted) {
          return absl::FailedPreconditionError(
              absl::StrCat(Cluster::Name(n), " counts ", used, ", the victim ", counted));
        }
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(agreed.ok()) << "round " << round << ": " << agreed;
  }
  std::cout << iterations << " SIGKILLs under load, no acknowledged charge lost\n";
}

}  // namespace
}  // namespace quotad
