// stats_bench: the two halves of benchmarks/stats (dashboards at platform
// scale).
//
//   --fill=DIR --clients=N --node_id=ID
//       Writes N clients' counters into a node's data dir, as the node would
//       have after a day (each client 1..40 tests in random hours of the last
//       24 h; 90% of them 1..4), through RocksDbCounterStore itself, then
//       closes it. The node started on DIR seeds its usage distribution from
//       them.
//   --poll --target=HOST:PORT --admin_token_file=F --rate=R --duration=D
//       Calls AdminService.GetStats R times a second for D and prints one
//       JSON line: calls, errors, p50/p99/max latency (ms), the answer's
//       active_clients and size in bytes.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "quotad/v1/admin.grpc.pb.h"

ABSL_FLAG(std::string, fill, "", "data dir to fill with --clients clients' counters");
ABSL_FLAG(int64_t, clients, 2000000, "clients to write (--fill)");
ABSL_FLAG(std::string, node_id, "stats-bench", "the node id the data dir belongs to (--fill)");
ABSL_FLAG(bool, poll, false, "poll GetStats");
ABSL_FLAG(std::string, target, "127.0.0.1:50052", "admin address (--poll)");
ABSL_FLAG(std::string, admin_token_file, "", "admin token (--poll)");
ABSL_FLAG(double, rate, 1, "GetStats calls per second (--poll)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(20), "how long to poll (--poll)");

namespace {

int Fill() {
  quotad::RocksDbOptions options;
  options.path = absl::GetFlag(FLAGS_fill);
  options.node_id = absl::GetFlag(FLAGS_node_id);
  auto store = quotad::RocksDbCounterStore::Open(options);
  if (!store.ok()) {
    std::cerr << "open: " << store.status() << "\n";
    return 1;
  }
  std::mt19937_64 gen(42);
  const uint32_t now = quotad::HourOf(absl::Now());
  const int64_t clients = absl::GetFlag(FLAGS_clients);
  std::vector<quotad::CounterDelta> batch;
  const absl::Time start = absl::Now();
  for (int64_t c = 0; c < clients; ++c) {
    quotad::CounterId id;
    for (auto& b : id.hash) b = static_cast<uint8_t>(gen());
    const bool heavy = gen() % 10 == 0;
    const int tests = 1 + static_cast<int>(gen() % (heavy ? 40 : 4));
    for (int t = 0; t < tests; ++t) {
      const uint32_t hour = now - static_cast<uint32_t>(gen() % 24);
      batch.push_back({id, hour, quotad::CountKind::kCharged, 1});
    }
    if (batch.size() >= 20000 || c + 1 == clients) {
      if (auto s = (*store)->CommitMany(batch, {}); !s.ok()) {
        std::cerr << "write: " << s << "\n";
        return 1;
      }
      batch.clear();
    }
  }
  std::cerr << absl::StrFormat("wrote %d clients in %s\n", clients,
                               absl::FormatDuration(absl::Now() - start));
  return 0;
}

int Poll() {
  std::ifstream in(absl::GetFlag(FLAGS_admin_token_file));
  std::stringstream token;
  token << in.rdbuf();
  const std::string bearer = "Bearer " + std::string(absl::StripAsciiWhitespace(token.str()));
  auto stub = quotad::v1::AdminService::NewStub(
      grpc::CreateChannel(absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials()));
  const absl::Duration every = absl::Seconds(1) / absl::GetFlag(FLAGS_rate);
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  std::vector<double> ms;
  int errors = 0;
  int64_t active = 0;
  size_t bytes = 0;
  for (absl::Time next = absl::Now(); next < end; next += every) {
    absl::SleepFor(next - absl::Now());
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", bearer);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    quotad::v1::StatsResponse resp;
    const absl::Time t0 = absl::Now();
    const grpc::Status s = stub->GetStats(&ctx, quotad::v1::GetStatsRequest(), &resp);
    const double took = absl::ToDoubleMilliseconds(absl::Now() - t0);
    if (!s.ok()) {
      ++errors;
      std::cerr << "GetStats: " << s.error_message() << "\n";
      continue;
    }
    ms.push_back(took);
    active = resp.active_clients();
    bytes = resp.ByteSizeLong();
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  std::cout << absl::StrFormat(
      "{\"calls\":%d,\"errors\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
      "\"active_clients\":%d,\"bytes\":%d}\n",
      ms.size(), errors, pct(0.5), pct(0.99), ms.empty() ? 0.0 : ms.back(), active, bytes);
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_fill).empty()) return Fill();
  if (absl::GetFlag(FLAGS_poll)) return Poll();
  std::cerr << "stats_bench: --fill=DIR or --poll (see the header)\n";
  return 2;
}
