// loadgen: a gRPC callback-API load generator for quotad.v1.QuotaService.Acquire
// (works against quotad, the echo ceiling and the Redis peer alike).
//
//   Closed loop: --concurrency calls outstanding over --channels connections;
//     each completion issues the next call.
//   Open loop:  --rate calls per second at fixed intended send times; latency
//     is measured from the intended send time, so queueing is not hidden.
// Identities: --clients distinct clients drawn Zipf(--zipf_q) (a few hot
// clients soon over their limits, a long tail of admitted ones), or uniformly
// with --distribution=uniform (nearly every call admitted: the write-heavy
// case); --automated of them send client_name=murakami (the automated tier),
// --ipv6 of them use IPv6. Each call carries a unique request_id (as locate would) unless
// --request_ids=false. After --warmup, runs --duration and prints QPS and
// p50/p90/p99/p99.9 as a table, and as one JSON object with --json.
//
// --client_throttle_k=K (open loop) puts the C++ client's AdaptiveThrottle in
// front of each connection, as a caller using it would: calls it refuses
// are not sent and count as errors ("throttled" in the JSON).
//
// --summarize=FILE reads JSON result lines written by earlier runs and prints
// a side-by-side comparison table with ratios (used by benchmarks/compare).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/random/zipf_distribution.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "client/adaptive_throttle.h"
#include "client/quota_client.h"
#include "quotad/v1/quota.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "server address");
ABSL_FLAG(std::string, label, "server", "name of the server under test (for the report)");
ABSL_FLAG(std::string, mode, "closed", "closed or open");
ABSL_FLAG(int, concurrency, 64, "closed loop: calls outstanding");
ABSL_FLAG(int, channels, 4, "gRPC connections");
ABSL_FLAG(double, rate, 10000, "open loop: calls per second");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(10),
          "each call's deadline (locate uses ~100ms; failed calls count as errors)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "measured duration");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "unmeasured warm-up");
ABSL_FLAG(int64_t, clients, 1000000, "distinct clients");
ABSL_FLAG(std::string, distribution, "zipf", "how clients are drawn: zipf or uniform");
ABSL_FLAG(double, zipf_q, 1.1, "Zipf exponent (> 1)");
ABSL_FLAG(double, automated, 0.10, "fraction of clients in the automated tier");
ABSL_FLAG(double, ipv6, 0.30, "fraction of clients on IPv6");
ABSL_FLAG(bool, request_ids, true, "send a unique request_id with every call");
ABSL_FLAG(bool, json, false, "print the result as one JSON line too");
ABSL_FLAG(std::string, summarize, "", "print a comparison table of the JSON lines in this file");
ABSL_FLAG(double, client_throttle_k, 0,
          "open loop: if > 0, client-side adaptive throttling with this K per connection");

namespace quotad {
namespace {

struct Result {
  std::string label;
  std::string mode;
  int concurrency = 0;
  double offered_rate = 0;
  double seconds = 0;
  int64_t ok = 0;
  int64_t errors = 0;
  int64_t allowed = 0;
  double qps = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0;
  int64_t throttled = 0;  // refused by the client-side throttle (in errors)
};

// Draws each call's client from the identity distribution (per call, so
// --clients distinct clients really are in play, not a small recycled pool).
// Per-client properties (automated, IPv6) come from a hash of the index, so
// they are stable across draws. Thread-safe: each thread has its own RNG.
class IdentitySource {
 public:
  IdentitySource()
      : clients_(std::max<int64_t>(1, absl::GetFlag(FLAGS_clients))),
        uniform_(absl::GetFlag(FLAGS_distribution) == "uniform"),
        zipf_(clients_ - 1, absl::GetFlag(FLAGS_zipf_q)),
        automated_(absl::GetFlag(FLAGS_automated)),
        ipv6_(absl::GetFlag(FLAGS_ipv6)) {}

  void Fill(v1::AcquireRequest* req) const {
    static std::atomic<uint64_t> next_seed{12345};
    thread_local std::mt19937_64 rng(next_seed.fetch_add(1));
    thread_local absl::zipf_distribution<int64_t> zipf = zipf_;
    const int64_t c = uniform_ ? std::uniform_int_distribution<int64_t>(0, clients_ - 1)(rng)
                               : zipf(rng);
    const uint64_t h = (static_cast<uint64_t>(c) + 1) * 0x9E3779B97F4A7C15ULL;
    const double u1 = static_cast<double>(h >> 40) / static_cast<double>(1ULL << 24);
    const double u2 = static_cast<double>((h >> 16) & 0xffffff) / static_cast<double>(1ULL << 24);
    if (u2 < ipv6_) {
      // The client index's low 16 bits pick the /48: ~16 clients per /48 at
      // 1M clients, and neighbouring (equally hot) indices in different ones.
      req->set_ip(absl::StrFormat("2001:db8:%x:%x::%x", c & 0xffff, (c >> 16) & 0xffff,
                                  (h & 0xff) + 1));
    } else {
      // Scatter client indices over the low 24 bits (a bijection: odd
      // multiplier mod 2^24), so the hottest clients of the Zipf head are not
      // all in one /24 and do not share one group limit.
      const uint64_t v = (static_cast<uint64_t>(c) * 0x9E3779B1ULL) & 0xffffff;
      req->set_ip(absl::StrCat(10 + (c >> 24) % 100, ".", v >> 16, ".", (v >> 8) & 255, ".",
                               v & 255));
    }
    req->set_user_agent("ndt7-js/0.4 (loadgen)");
    if (u1 < automated_) req->set_client_name("murakami");
    req->set_service("ndt/ndt7");
  }

 private:
  const int64_t clients_;
  const bool uniform_;
  const absl::zipf_distribution<int64_t> zipf_;
  const double automated_;
  const double ipv6_;
};

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]) / 1000.0;
}

class Runner {
 public:
  Runner() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one connection per channel
    for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
      args.SetInt("quotad.loadgen.channel", i);
      stubs_.push_back(v1::QuotaService::NewStub(grpc::CreateCustomChannel(
          absl::GetFlag(FLAGS_target), grpc::InsecureChannelCredentials(), args)));
      if (absl::GetFlag(FLAGS_client_throttle_k) > 0) {
        throttles_.push_back(std::make_unique<client::AdaptiveThrottle>(
            absl::GetFlag(FLAGS_client_throttle_k), absl::Seconds(30), RealClock::Real()));
      }
    }
  }

  Result Run() {
    const bool open = absl::GetFlag(FLAGS_mode) == "open";
    const absl::Time start = absl::Now();
    measure_from_ = start + absl::GetFlag(FLAGS_warmup);
    stop_at_ = measure_from_ + absl::GetFlag(FLAGS_duration);
    if (open) {
      RunOpen(start);
    } else {
      RunClosed();
    }
    Result r;
    r.label = absl::GetFlag(FLAGS_label);
    r.mode = open ? "open" : "closed";
    r.concurrency = open ? 0 : absl::GetFlag(FLAGS_concurrency);
    r.offered_rate = open ? absl::GetFlag(FLAGS_rate) : 0;
    r.seconds = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_duration));
    std::vector<int64_t> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.swap(latencies_ns_);
    }
    r.ok = static_cast<int64_t>(all.size());
    r.errors = errors_.load();
    r.throttled = throttled_.load();
    r.allowed = allowed_.load();
    r.qps = static_cast<double>(r.ok) / r.seconds;
    r.p50_us = Percentile(all, 0.50);
    r.p90_us = Percentile(all, 0.90);
    r.p99_us = Percentile(all, 0.99);
    r.p999_us = Percentile(all, 0.999);
    return r;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::AcquireRequest request;
    v1::AcquireResponse response;
    absl::Time intended;
  };

  void Issue(size_t slot, absl::Time intended) {
    if (!throttles_.empty() && !Admit(slot)) {  // refused locally: never sent
      if (intended >= measure_from_) {
        ++throttled_;
        ++errors_;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (--outstanding_ == 0) done_.notify_all();
      return;
    }
    auto* call = new Call;
    const uint64_t n = next_.fetch_add(1);
    identities_.Fill(&call->request);
    if (absl::GetFlag(FLAGS_request_ids)) call->request.set_request_id(absl::StrCat("lg-", seed_, "-", n));
    call->intended = intended;
    call->context.set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoMicroseconds(absl::GetFlag(FLAGS_deadline)));
    auto& stub = stubs_[slot % stubs_.size()];
    stub->async()->Acquire(&call->context, &call->request, &call->response,
                           [this, call, slot](grpc::Status status) { Done(slot, call, status); });
  }

  bool Admit(size_t slot) {
    absl::MutexLock lock(&gen_mu_);
    return throttles_[slot % throttles_.size()]->Admit(gen_);
  }

  void Done(size_t slot, Call* call, const grpc::Status& status) {
    const absl::Time now = absl::Now();
    if (!throttles_.empty()) {
      // gRPC and absl status codes have the same numbers.
      throttles_[slot % throttles_.size()]->Record(!client::NoNodeAnswered(
          absl::Status(static_cast<absl::StatusCode>(status.error_code()), "")));
    }
    if (call->intended >= measure_from_ && now <= stop_at_) {
      if (status.ok()) {
        const int64_t ns = absl::ToInt64Nanoseconds(now - call->intended);
        std::lock_guard<std::mutex> lock(mu_);
        latencies_ns_.push_back(ns);
        if (call->response.allowed()) ++allowed_;
      } else {
        ++errors_;
      }
    }
    delete call;
    if (closed_ && now < stop_at_) {
      Issue(slot, absl::Now());
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      if (--outstanding_ == 0) done_.notify_all();
    }
  }

  void RunClosed() {
    closed_ = true;
    const int n = absl::GetFlag(FLAGS_concurrency);
    {
      std::lock_guard<std::mutex> lock(mu_);
      outstanding_ = n;
    }
    for (int i = 0; i < n; ++i) Issue(static_cast<size_t>(i), absl::Now());
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return outstanding_ == 0; });
  }

  void RunOpen(absl::Time start) {
    closed_ = false;
    const double rate = absl::GetFlag(FLAGS_rate);
    int64_t sent = 0;
    for (;;) {
      const absl::Time intended = start + absl::Seconds(static_cast<double>(sent) / rate);
      if (intended > stop_at_) break;
      const absl::Time now = absl::Now();
      if (intended > now) absl::SleepFor(std::min(intended - now, absl::Milliseconds(1)));
      if (absl::Now() < intended) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++outstanding_;
      }
      Issue(static_cast<size_t>(sent), intended);
      ++sent;
    }
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return outstanding_ == 0; });
  }

  const IdentitySource identities_;
  std::vector<std::unique_ptr<v1::QuotaService::Stub>> stubs_;
  const uint64_t seed_ = absl::Uniform<uint64_t>(absl::BitGen());
  std::atomic<uint64_t> next_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<int64_t> throttled_{0};
  std::vector<std::unique_ptr<client::AdaptiveThrottle>> throttles_;  // one per connection
  absl::Mutex gen_mu_;
  absl::BitGen gen_ ABSL_GUARDED_BY(gen_mu_);
  std::atomic<int64_t> allowed_{0};
  absl::Time measure_from_;
  absl::Time stop_at_;
  bool closed_ = true;
  std::mutex mu_;
  std::condition_variable done_;
  int outstanding_ = 0;
  std::vector<int64_t> latencies_ns_;
};

std::string ToJson(const Result& r) {
  return absl::StrFormat(
      "{\"label\":\"%s\",\"mode\":\"%s\",\"concurrency\":%d,\"offered_rate\":%.0f,\"seconds\":%.1f,"
      "\"ok\":%d,\"errors\":%d,\"allowed\":%d,\"qps\":%.0f,\"p50_us\":%.1f,\"p90_us\":%.1f,"
      "\"p99_us\":%.1f,\"p999_us\":%.1f,\"throttled\":%d}",
      r.label, r.mode, r.concurrency, r.offered_rate, r.seconds, r.ok, r.errors, r.allowed, r.qps,
      r.p50_us, r.p90_us, r.p99_us, r.p999_us, r.throttled);
}

void PrintHeader() {
  std::cout << absl::StrFormat("%-22s %-7s %6s %10s %9s %9s %9s %9s %8s %8s\n", "server", "mode",
                               "conc", "qps", "p50 us", "p90 us", "p99 us", "p99.9 us", "allowed",
                               "errors");
}

void PrintRow(const Result& r) {
  const double allowed_pct = r.ok > 0 ? 100.0 * static_cast<double>(r.allowed) / r.ok : 0;
  std::cout << absl::StrFormat("%-22s %-7s %6d %10.0f %9.1f %9.1f %9.1f %9.1f %7.1f%% %8d\n",
                               r.label, r.mode, r.concurrency, r.qps, r.p50_us, r.p90_us, r.p99_us,
                               r.p999_us, allowed_pct, r.errors);
}

int Summarize(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::map<std::pair<int, std::string>, Result> rows;
  std::vector<std::string> labels;
  std::vector<int> concurrencies;
  while (std::getline(in, line)) {
    google::protobuf::Struct s;
    if (line.empty() || !google::protobuf::util::JsonStringToMessage(line, &s).ok()) continue;
    const auto& f = s.fields();
    Result r;
    r.label = f.at("label").string_value();
    r.concurrency = static_cast<int>(f.at("concurrency").number_value());
    r.qps = f.at("qps").number_value();
    r.p50_us = f.at("p50_us").number_value();
    r.p90_us = f.at("p90_us").number_value();
    r.p99_us = f.at("p99_us").number_value();
    r.p999_us = f.at("p999_us").number_value();
    r.errors = static_cast<int64_t>(f.at("errors").number_value());
    r.ok = static_cast<int64_t>(f.at("ok").number_value());
    r.allowed = static_cast<int64_t>(f.at("allowed").number_value());
    r.mode = f.at("mode").string_value();
    if (std::find(labels.begin(), labels.end(), r.label) == labels.end()) labels.push_back(r.label);
    if (std::find(concurrencies.begin(), concurrencies.end(), r.concurrency) == concurrencies.end()) {
      concurrencies.push_back(r.concurrency);
    }
    rows[{r.concurrency, r.label}] = r;
  }
  PrintHeader();
  for (int c : concurrencies) {
    for (const auto& l : labels) {
      if (rows.count({c, l})) PrintRow(rows[{c, l}]);
    }
  }
  // Ratios against the ceiling ("echo") and the Redis peer ("redis-peer").
  std::cout << "\nratios (same machine, same run):\n";
  std::cout << absl::StrFormat("%-22s %6s %12s %12s %14s %14s %16s\n", "server", "conc", "qps/echo",
                               "qps/redis", "p99/echo p99", "p99/redis p99", "p50 - echo p50");
  for (int c : concurrencies) {
    for (const auto& l : labels) {
      if (l == "echo" || l == "redis-peer" || !rows.count({c, l})) continue;
      const Result& q = rows[{c, l}];
      const Result* e = rows.count({c, "echo"}) ? &rows[{c, "echo"}] : nullptr;
      const Result* p = rows.count({c, "redis-peer"}) ? &rows[{c, "redis-peer"}] : nullptr;
      std::cout << absl::StrFormat("%-22s %6d %12s %12s %14s %14s %16s\n", l, c,
                                   e ? absl::StrFormat("%.2f", q.qps / e->qps) : "-",
                                   p ? absl::StrFormat("%.2f", q.qps / p->qps) : "-",
                                   e ? absl::StrFormat("%.2f", q.p99_us / e->p99_us) : "-",
                                   p ? absl::StrFormat("%.2f", q.p99_us / p->p99_us) : "-",
                                   e ? absl::StrFormat("%+.1f us", q.p50_us - e->p50_us) : "-");
    }
  }
  return 0;
}

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  // The load generator shares the cores with the server under test: it
  // must not spend them on Debian Abseil's mutex deadlock detector (~4% of
  // its CPU in profiles), as none of the servers do.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_summarize).empty()) return quotad::Summarize(absl::GetFlag(FLAGS_summarize));
  if (absl::GetFlag(FLAGS_distribution) != "zipf" &&
      absl::GetFlag(FLAGS_distribution) != "uniform") {
    std::cerr << "--distribution must be zipf or uniform\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_client_throttle_k) > 0 && absl::GetFlag(FLAGS_mode) != "open") {
    std::cerr << "--client_throttle_k needs --mode=open\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_zipf_q) <= 1.0) {
    std::cerr << "--zipf_q must be > 1\n";
    return 2;
  }
  quotad::Runner runner;
  const quotad::Result r = runner.Run();
  quotad::PrintHeader();
  quotad::PrintRow(r);
  if (absl::GetFlag(FLAGS_json)) std::cout << quotad::ToJson(r) << std::endl;
  return r.ok > 0 ? 0 : 1;
}
