// Repair after a partition, measured on real quotad processes (production
// listeners and defaults; links through user-space proxies on 127.0.0.1).
//
// A 3-node cluster; n3 is cut off; `--admissions` distinct clients are
// admitted at n1 (default 300k: the volume of a 10-minute partition at 500
// admissions/s, generated at full speed); then the partition heals and the
// bench reports how the backlog reached n3: time until every queue is empty
// and every sampled client is counted on n3, push bytes and anti-entropy
// bytes moved, the drain rate, and Acquire latency at n3 (c64 closed loop)
// while it absorbs the backlog versus afterwards. Two modes: "push" (the
// queue holds the backlog) and "anti-entropy" (the queue is bounded far
// below it, 100k slots, so it overflows and anti-entropy repairs n3).
//   build/benchmarks/repair_bench [--admissions=300000] [--modes=push,anti-entropy]
#include <algorithm>
#include <atomic>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/testing/local_cluster.h"

ABSL_FLAG(int, admissions, 300000, "admissions at n1 while n3 is partitioned");
ABSL_FLAG(std::string, modes, "push,anti-entropy", "push and/or anti-entropy");
ABSL_FLAG(int, concurrency, 64, "callers of the latency load at n3");

namespace quotad {
namespace {

using Cluster = testing::LocalCluster;

v1::AcquireRequest Numbered(uint32_t i, const char* ua) {
  v1::AcquireRequest req;
  // Spread over many /24s so the group counters are distinct too.
  req.set_ip(absl::StrCat(11 + (i >> 24), ".", (i * 2654435761u >> 16) & 0xff, ".",
                          (i >> 8) & 0xff, ".", i & 0xff));
  req.set_user_agent(ua);
  return req;
}

void Load(Cluster& c, int node, uint32_t first, uint32_t count, int threads) {
  std::atomic<uint32_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      auto client = c.Client(node);
      for (uint32_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
        if (!client.Acquire(Numbered(first + i, "repair-bench")).ok()) std::exit(1);
      }
    });
  }
  for (auto& w : workers) w.join();
}

// Closed-loop Acquire latencies at `node` until `stop`.
std::vector<double> LatencyUntil(Cluster& c, int node, const std::atomic<bool>& stop,
                                 uint32_t first) {
  std::atomic<uint32_t> next{0};
  std::vector<std::vector<double>> per(static_cast<size_t>(absl::GetFlag(FLAGS_concurrency)));
  std::vector<std::thread> workers;
  for (size_t t = 0; t < per.size(); ++t) {
    workers.emplace_back([&, t] {
      auto client = c.Client(node);
      while (!stop.load()) {
        const absl::Time start = absl::Now();
        if (!client.Acquire(Numbered(first + next.fetch_add(1), "latency")).ok()) continue;
        per[t].push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      }
    });
  }
  for (auto& w : workers) w.join();
  std::vector<double> all;
  for (auto& p : per) all.insert(all.end(), p.begin(), p.end());
  std::sort(all.begin(), all.end());
  return all;
}

double Pct(const std::vector<double>& v, double p) {
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct PeerTotals {
  uint64_t pending_to_n3 = 0, pushed_to_n3 = 0, pulled_by_n3 = 0, slots_pulled_by_n3 = 0;
};
PeerTotals Totals(Cluster& c) {
  PeerTotals t;
  for (int i = 0; i < 3; ++i) {
    auto s = c.GossipStatus(i);
    if (!s.ok()) continue;
    for (const auto& p : s->peers()) {
      if (i != 2 && p.node_id() == "n3") {
        t.pending_to_n3 += p.pending_slots();
        t.pushed_to_n3 += p.bytes_sent();
      }
      if (i == 2) {
        t.pulled_by_n3 += p.bytes_pulled();
        t.slots_pulled_by_n3 += p.slots_pulled();
      }
    }
  }
  return t;
}

void Run(const std::string& mode) {
  testing::TempDir dir;
  Cluster c(dir, 3, absl::Milliseconds(200), absl::Seconds(5));
  // Far below the backlog, far above what n3's own latency load queues.
  if (mode == "anti-entropy") c.SetExtraFlags({"--gossip_max_pending_slots=100000"});
  if (!c.StartAll().ok()) std::exit(1);
  const uint32_t n = static_cast<uint32_t>(absl::GetFlag(FLAGS_admissions));
  c.Partition({2}, true);
  const absl::Time load_start = absl::Now();
  Load(c, 0, 0, n, 32);
  const double load_s = absl::ToDoubleSeconds(absl::Now() - load_start);
  // Let n1 -> n2 settle so only the n3 backlog remains.
  while (!c.Drained().ok()) {
    auto s = c.GossipStatus(0);
    bool only_n3 = s.ok();
    for (const auto& p : s->peers()) only_n3 &= p.node_id() == "n3" || p.pending_slots() == 0;
    if (only_n3) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  const PeerTotals before = Totals(c);
  std::atomic<bool> stop{false};
  std::vector<double> during;
  std::thread latency([&] { during = LatencyUntil(c, 2, stop, 1u << 28); });
  absl::SleepFor(absl::Milliseconds(500));  // the latency load is running
  const absl::Time healed = absl::Now();
  c.Partition({2}, false);
  absl::Duration drained, counted;
  bool counted_done = false;
  for (;;) {
    const absl::Duration since = absl::Now() - healed;
    if (!counted_done) {
      counted_done = true;
      for (uint32_t k = 0; k < n && counted_done; k += n / 50) {
        auto r = c.Client(2).Check(Numbered(k, "repair-bench"));
        counted_done = r.ok() && r->limits(0).used() == 1;
      }
      if (counted_done) counted = since;
    }
    if (counted_done && c.Drained().ok()) {
      drained = since;
      break;
    }
    if (since > absl::Minutes(5)) {
      std::cerr << "not repaired within 5 minutes: " << c.Drained() << "\n";
      std::exit(1);
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  stop = true;
  latency.join();
  const PeerTotals after = Totals(c);
  std::atomic<bool> stop2{false};
  std::vector<double> quiet;
  std::thread baseline([&] { quiet = LatencyUntil(c, 2, stop2, 1u << 29); });
  absl::SleepFor(std::max(absl::Seconds(3), drained));
  stop2 = true;
  baseline.join();
  const double pushed_mb = static_cast<double>(after.pushed_to_n3 - before.pushed_to_n3) / 1e6;
  const double pulled_mb = static_cast<double>(after.pulled_by_n3 - before.pulled_by_n3) / 1e6;
  std::cout << absl::StrFormat(
      "%-13s %9u %8.1f s %10llu %9.2f s %9.2f s %9.1f %9.1f %11.0f %7.1f/%-6.1f %7.1f/%-6.1f\n",
      mode, n, load_s, static_cast<unsigned long long>(before.pending_to_n3),
      absl::ToDoubleSeconds(counted), absl::ToDoubleSeconds(drained), pushed_mb, pulled_mb,
      static_cast<double>(before.pending_to_n3) / std::max(1e-3, absl::ToDoubleSeconds(drained)),
      Pct(during, 0.5), Pct(during, 0.99), Pct(quiet, 0.5), Pct(quiet, 0.99))
            << std::flush;
}

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::cout << absl::StrFormat("%-13s %9s %10s %10s %11s %11s %9s %9s %11s %14s %14s\n", "mode",
                               "admitted", "load", "backlog", "counted", "drained", "push MB",
                               "pull MB", "slots/s", "p50/p99 ms", "p50/p99 ms");
  std::cout << absl::StrFormat("%-13s %9s %10s %10s %11s %11s %9s %9s %11s %14s %14s\n", "",
                               "at n1", "", "slots", "on n3", "everywhere", "", "", "drain",
                               "n3 absorbing", "n3 after");
  for (absl::string_view mode : absl::StrSplit(absl::GetFlag(FLAGS_modes), ',')) {
    quotad::Run(std::string(mode));
  }
  return 0;
}
