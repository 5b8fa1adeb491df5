// Replication convergence benchmark: real quotad processes on 127.0.0.1,
// links through user-space proxies that add one-way delay.
//
// For each cluster size and delay: charge one new client on one node and
// measure how long until every other node reports it (p50/p99/max over many
// samples); then charge a burst of distinct clients and report gossip push
// bytes per admitted test. Prints a table (and JSON with --json).
//   build/benchmarks/convergence_bench [--samples=40] [--nodes=3,5] [--delays_ms=0,150]
#include <atomic>
#include <cmath>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "quotad/v1/gossip.grpc.pb.h"
#include "tests/testing/local_cluster.h"

ABSL_FLAG(int, samples, 40, "single-increment samples per configuration");
ABSL_FLAG(std::string, nodes, "3,5", "cluster sizes");
ABSL_FLAG(std::string, delays_ms, "0,150", "one-way link delays in milliseconds");
ABSL_FLAG(int, burst, 1000, "distinct clients charged for the bytes-per-test figure");
ABSL_FLAG(absl::Duration, gossip_interval, absl::Milliseconds(200), "node --gossip_interval");
ABSL_FLAG(bool, json, false, "also print one JSON object per configuration");

namespace quotad {
namespace {

struct Result {
  int nodes;
  int delay_ms;
  double p50_ms, p99_ms, max_ms, target_ms;
  double bytes_per_test_single, bytes_per_test_burst;
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

uint64_t PushBytes(testing::LocalCluster& c) {
  uint64_t total = 0;
  for (int i = 0; i < c.size(); ++i) {
    auto stub = v1::GossipService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", c.node(i).peer_port()),
                            grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::GossipStatusResponse status;
    if (!stub->Status(&ctx, v1::GossipStatusRequest(), &status).ok()) continue;
    for (const auto& p : status.peers()) total += p.bytes_sent();
  }
  return total;
}

// Waits until every node but `origin` reports `expected` for `req`; returns
// when the last one first did, measured from `start`.
absl::Duration AwaitAll(std::vector<client::QuotaClient>& clients, int origin,
                        const v1::AcquireRequest& req, int64_t expected, absl::Time start) {
  std::atomic<int64_t> latest_us{0};
  std::vector<std::thread> pollers;
  for (size_t i = 0; i < clients.size(); ++i) {
    if (static_cast<int>(i) == origin) continue;
    pollers.emplace_back([&, i] {
      const absl::Time deadline = start + absl::Seconds(30);
      while (absl::Now() < deadline) {
        auto r = clients[i].Check(req);
        if (r.ok() && r->limits(0).used() >= expected) break;
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      const int64_t us = absl::ToInt64Microseconds(absl::Now() - start);
      int64_t prev = latest_us.load();
      while (us > prev && !latest_us.compare_exchange_weak(prev, us)) {
      }
    });
  }
  for (auto& t : pollers) t.join();
  return absl::Microseconds(latest_us.load());
}

Result Run(int nodes, int delay_ms) {
  testing::TempDir dir;
  const absl::Duration interval = absl::GetFlag(FLAGS_gossip_interval);
  testing::LocalCluster cluster(dir, nodes, interval, absl::Seconds(5));
  if (auto s = cluster.StartAll(); !s.ok()) {
    std::cerr << "cluster start failed: " << s << "\n";
    std::exit(1);
  }
  cluster.SetDelay(absl::Milliseconds(delay_ms));
  std::vector<client::QuotaClient> clients;
  for (int i = 0; i < nodes; ++i) clients.push_back(cluster.Client(i));

  // Single increments, one at a time, origins rotating.
  const int samples = absl::GetFlag(FLAGS_samples);
  std::vector<double> ms;
  const uint64_t bytes_before = PushBytes(cluster);
  for (int s = 0; s < samples + 2; ++s) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.", s / 250, ".", s % 250, ".", nodes * 10 + delay_ms % 7));
    req.set_user_agent("convergence-bench");
    const int origin = s % nodes;
    auto r = clients[static_cast<size_t>(origin)].Acquire(req);
    const absl::Time acked = absl::Now();
    if (!r.ok() || !r->allowed()) {
      std::cerr << "acquire failed: " << r.status() << "\n";
      std::exit(1);
    }
    const absl::Duration took = AwaitAll(clients, origin, req, 1, acked);
    if (s >= 2) ms.push_back(absl::ToDoubleMilliseconds(took));  // first two warm channels up
  }
  const uint64_t bytes_single = PushBytes(cluster) - bytes_before;

  // A burst of distinct clients on node 0.
  const int burst = absl::GetFlag(FLAGS_burst);
  const uint64_t burst_before = PushBytes(cluster);
  v1::AcquireRequest last;
  for (int b = 0; b < burst; ++b) {
    last.set_ip(absl::StrCat("172.16.", b / 250, ".", b % 250));
    last.set_user_agent("burst");
    if (!clients[0].Acquire(last).ok()) std::exit(1);
  }
  AwaitAll(clients, 0, last, 1, absl::Now());
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * delay_ms + 500));
  const uint64_t bytes_burst = PushBytes(cluster) - burst_before;

  Result r;
  r.nodes = nodes;
  r.delay_ms = delay_ms;
  r.p50_ms = Percentile(ms, 0.50);
  r.p99_ms = Percentile(ms, 0.99);
  r.max_ms = Percentile(ms, 1.0);
  r.target_ms = 2 * (absl::ToDoubleMilliseconds(interval) + delay_ms);
  r.bytes_per_test_single = static_cast<double>(bytes_single) / samples;
  r.bytes_per_test_burst = static_cast<double>(bytes_burst) / burst;
  return r;
}

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::vector<quotad::Result> results;
  for (absl::string_view n : absl::StrSplit(absl::GetFlag(FLAGS_nodes), ',')) {
    for (absl::string_view d : absl::StrSplit(absl::GetFlag(FLAGS_delays_ms), ',')) {
      int nodes = 0, delay = 0;
      if (!absl::SimpleAtoi(n, &nodes) || !absl::SimpleAtoi(d, &delay) || nodes < 2) {
        std::cerr << "bad --nodes or --delays_ms\n";
        return 2;
      }
      results.push_back(quotad::Run(nodes, delay));
      const auto& r = results.back();
      std::cerr << "done: " << r.nodes << " nodes, " << r.delay_ms << " ms\n";
    }
  }
  std::cout << absl::StrFormat("%-6s %-9s %9s %9s %9s %11s %8s %18s %18s\n", "nodes", "delay",
                               "p50 ms", "p99 ms", "max ms", "target ms", "p99 ok", "bytes/test (1)",
                               "bytes/test (burst)");
  for (const auto& r : results) {
    std::cout << absl::StrFormat("%-6d %-9s %9.1f %9.1f %9.1f %11.0f %8s %18.0f %18.1f\n", r.nodes,
                                 absl::StrCat(r.delay_ms, " ms"), r.p50_ms, r.p99_ms, r.max_ms,
                                 r.target_ms, r.p99_ms < r.target_ms ? "yes" : "NO",
                                 r.bytes_per_test_single, r.bytes_per_test_burst);
  }
  if (absl::GetFlag(FLAGS_json)) {
    for (const auto& r : results) {
      std::cout << absl::StrFormat(
          "{\"nodes\":%d,\"delay_ms\":%d,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f,"
          "\"target_ms\":%.0f,\"bytes_per_test_single\":%.0f,\"bytes_per_test_burst\":%.1f}\n",
          r.nodes, r.delay_ms, r.p50_ms, r.p99_ms, r.max_ms, r.target_ms, r.bytes_per_test_single,
          r.bytes_per_test_burst);
    }
  }
  return 0;
}
