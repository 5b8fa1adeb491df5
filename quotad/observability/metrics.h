// Prometheus metrics of a node (prometheus-cpp), served on --metrics_listen
// at /metrics. Every series carries the node's constant labels (main():
// `region` and `node`), so dashboards and alerts can select and group by
// them whatever the scrape configuration. Request-path updates are
// lock-light: label children are resolved once and cached. Dynamic values
// (gossip state, RocksDB) are read at scrape time through registered gauge
// callbacks. Thread-safe.
#ifndef QUOTAD_OBSERVABILITY_METRICS_H_
#define QUOTAD_OBSERVABILITY_METRICS_H_

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

class Metrics {
 public:
  // A gauge sample computed at scrape time.
  struct Sample {
    std::map<std::string, std::string> labels;
    double value = 0;
  };
  using GaugeFn = std::function<std::vector<Sample>()>;

  // `labels`: constant labels added to every series (a gauge sample's own
  // label of the same name wins).
  explicit Metrics(std::map<std::string, std::string> labels = {});
  ~Metrics();

  // Serves /metrics on `address` ("host:port", port 0 picks one).
  // Errors: Unavailable when it cannot listen.
  absl::Status Serve(const std::string& address);
  // The port /metrics is served on (0 before Serve()).
  int port() const;

  // Request-path updates: after the first call per label set, a shared
  // (reader) lock and an array index; no allocation.
  void ObserveRpc(absl::string_view rpc, absl::StatusCode code, absl::Duration latency);
  void CountDecision(absl::string_view tier, v1::Reason reason, bool shadow);
  void CountPolicyReload(bool ok);
  // Creates the per-tier shadow-mode series at zero so dashboards show them
  // before the first event. Call at start and after each policy reload.
  void DeclareTiers(const std::vector<std::string>& tiers);
  // Registers a gauge family whose samples are computed at each scrape.
  void AddGauge(const std::string& name, const std::string& help, GaugeFn fn);

 private:
  class DynamicGauges;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<DynamicGauges> dynamic_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Histogram>* rpc_latency_;
  prometheus::Family<prometheus::Counter>* decisions_;
  prometheus::Family<prometheus::Counter>* would_deny_;
  prometheus::Family<prometheus::Counter>* reloads_;

  static constexpr int kCodes = 17;  // absl::StatusCode 0..16
  static constexpr int kReasons = v1::Reason_ARRAYSIZE;
  struct RpcChildren {
    std::array<prometheus::Histogram*, kCodes> by_code{};
  };
  struct TierChildren {
    // [reason][shadow]
    std::array<std::array<prometheus::Counter*, 2>, kReasons> decisions{};
    std::array<prometheus::Counter*, kReasons> would_deny{};
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, RpcChildren> rpc_children_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, TierChildren> tier_children_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quotad

#endif  // QUOTAD_OBSERVABILITY_METRICS_H_
