// The resilient client against real nodes killed mid-run: calls fail over
// to the next region without an error reaching the caller, and when no
// node is left the failure policy decides within the call's budget.
#include <signal.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/resilient_connection.h"
#include "gtest/gtest.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::QuotadProcess;

TEST(ClientFailoverTest, CallsFailOverWhenTheNearestNodeIsKilledAndFailOpenWhenAllAre) {
  testing::TempDir dir;
  QuotadProcess near(dir.Sub("near"), dir.Sub("near.log"), {"--node_id=near"});
  QuotadProcess far(dir.Sub("far"), dir.Sub("far.log"), {"--node_id=far"});
  ASSERT_TRUE(near.Start().ok());
  ASSERT_TRUE(far.Start().ok());
  client::ResilienceOptions options;
  options.budget = absl::Milliseconds(500);
  client::QuotaClient client(client::MakeResilientConnection(
      {client::MakeQuotaConnection({near.target(), absl::Milliseconds(200)}),
       client::MakeQuotaConnection({far.target(), absl::Milliseconds(200)})},
      options));

  std::atomic<int> calls{0}, errors{0}, far_before_kill{0}, near_after_kill{0};
  std::atomic<bool> stop{false}, killing{false}, killed{false};
  std::thread caller([&] {
    for (int i = 0; !stop.load(); ++i) {
      v1::AcquireRequest req;
      req.set_ip(absl::StrCat("10.77.", i / 200 % 250, ".", i % 200 + 1));
      const bool started_after_kill = killed.load();
      auto r = client.Acquire(req);
      const bool ended_before_kill = !killing.load();
      ++calls;
      if (!r.ok()) {
        ++errors;
        ADD_FAILURE() << "call " << i << ": " << r.status();
      } else if (ended_before_kill && r->node_id() == "far") {
        ++far_before_kill;  // the nearest node answers while it is up
      } else if (started_after_kill && r->node_id() == "near") {
        ++near_after_kill;
      }
    }
  });
  while (calls.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int before_kill = calls.load();
  killing = true;
  near.StopWith(SIGKILL);
  killed = true;
  const absl::Time killed_at = absl::Now();
  while (calls.load() < before_kill + 300 && absl::Now() - killed_at < absl::Seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  caller.join();
  EXPECT_GE(calls.load(), before_kill + 300) << "calls stalled after the kill";
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(far_before_kill.load(), 0);
  EXPECT_EQ(near_after_kill.load(), 0);

  // Every node gone: the failure policy decides, within the budget.
  far.StopWith(SIGKILL);
  v1::AcquireRequest req;
  req.set_ip("192.0.2.1");
  const absl::Time start = absl::Now();
  client::Decision open = client.Decide(req, client::FailurePolicy::kFailOpen);
  EXPECT_TRUE(open.allowed);
  EXPECT_TRUE(open.degraded);
  EXPECT_EQ(open.error.code(), absl::StatusCode::kUnavailable) << open.error;
  client::Decision closed = client.Decide(req, client::FailurePolicy::kFailClosed);
  EXPECT_FALSE(closed.allowed);
  EXPECT_TRUE(closed.degraded);
  EXPECT_LT(absl::Now() - start, 2 * (options.budget + absl::Milliseconds(200)));
}

}  // namespace
}  // namespace quotad
