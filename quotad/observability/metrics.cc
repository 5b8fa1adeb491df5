#include "quotad/observability/metrics.h"

#include "absl/strings/str_cat.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace quotad {

class Metrics::DynamicGauges final : public prometheus::Collectable {
 public:
  explicit DynamicGauges(std::map<std::string, std::string> labels) : labels_(std::move(labels)) {}
  void Add(const std::string& name, const std::string& help, GaugeFn fn) {
    absl::MutexLock lock(&mu_);
    gauges_.push_back({name, help, std::move(fn)});
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    absl::MutexLock lock(&mu_);
    for (const auto& g : gauges_) {
      prometheus::MetricFamily family;
      family.name = g.name;
      family.help = g.help;
      family.type = prometheus::MetricType::Gauge;
      for (const Sample& s : g.fn()) {
        prometheus::ClientMetric metric;
        std::map<std::string, std::string> all = s.labels;  // sorted, as the families' are
        all.insert(labels_.begin(), labels_.end());         // a sample's own label wins
        for (const auto& [k, v] : all) metric.label.push_back({k, v});
        metric.gauge.value = s.value;
        family.metric.push_back(std::move(metric));
      }
      out.push_back(std::move(family));
    }
    return out;
  }

 private:
  struct Gauge {
    std::string name;
    std::string help;
    GaugeFn fn;
  };
  const std::map<std::string, std::string> labels_;
  mutable absl::Mutex mu_;
  std::vector<Gauge> gauges_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics(std::map<std::string, std::string> labels)
    : registry_(std::make_shared<prometheus::Registry>()),
      dynamic_(std::make_shared<DynamicGauges>(labels)) {
  rpc_latency_ = &prometheus::BuildHistogram()
                      .Name("quotad_rpc_duration_seconds")
                      .Labels(labels)
                      .Help("Server-side latency of each RPC, by method and status code")
                      .Register(*registry_);
  decisions_ = &prometheus::BuildCounter()
                    .Name("quotad_decisions_total")
                    .Labels(labels)
                    .Help("Acquire decisions by tier, reason and shadow mode")
                    .Register(*registry_);
  would_deny_ = &prometheus::BuildCounter()
                     .Name("quotad_shadow_would_deny_total")
                     .Labels(labels)
                     .Help("Requests allowed only because their limit is in shadow mode")
                     .Register(*registry_);
  reloads_ = &prometheus::BuildCounter()
                  .Name("quotad_policy_reloads_total")
                  .Labels(labels)
                  .Help("Policy reloads by result")
                  .Register(*registry_);
  reloads_->Add({{"result", "success"}});
  reloads_->Add({{"result", "failure"}});
}

void Metrics::DeclareTiers(const std::vector<std::string>& tiers) {
  for (const std::string& tier : tiers) {
    for (v1::Reason reason : {v1::REASON_DAILY_LIMIT, v1::REASON_GROUP_LIMIT,
                              v1::REASON_INTEGRATION_LIMIT, v1::REASON_BURST_LIMIT,
                              v1::REASON_BANNED}) {
      would_deny_->Add({{"tier", tier}, {"reason", v1::Reason_Name(reason)}});
    }
  }
}

Metrics::~Metrics() = default;

absl::Status Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  exposer_->RegisterCollectable(dynamic_);
  return absl::OkStatus();
}

int Metrics::port() const {
  if (!exposer_) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::ObserveRpc(absl::string_view rpc, absl::StatusCode code, absl::Duration latency) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1};
  const int index = static_cast<int>(code);
  if (index < 0 || index >= kCodes) return;
  prometheus::Histogram* h = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = rpc_children_.find(rpc); it != rpc_children_.end()) h = it->second.by_code[index];
  }
  if (h == nullptr) {
    absl::MutexLock lock(&mu_);
    prometheus::Histogram*& slot = rpc_children_[rpc].by_code[index];
    if (slot == nullptr) {
      slot = &rpc_latency_->Add({{"rpc", std::string(rpc)}, {"code", absl::StatusCodeToString(code)}},
                                kBuckets);
    }
    h = slot;
  }
  h->Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::CountDecision(absl::string_view tier, v1::Reason reason, bool shadow) {
  const int r = static_cast<int>(reason);
  if (r < 0 || r >= kReasons) return;
  prometheus::Counter* counter = nullptr;
  prometheus::Counter* shadow_counter = nullptr;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto it = tier_children_.find(tier); it != tier_children_.end()) {
      counter = it->second.decisions[r][shadow];
      shadow_counter = it->second.would_deny[r];
    }
  }
  if (counter == nullptr || (shadow && shadow_counter == nullptr)) {
    absl::MutexLock lock(&mu_);
    TierChildren& children = tier_children_[tier];
    const std::string reason_name = v1::Reason_Name(reason);
    prometheus::Counter*& slot = children.decisions[r][shadow];
    if (slot == nullptr) {
      slot = &decisions_->Add({{"tier", std::string(tier)},
                               {"reason", reason_name},
                               {"shadow", shadow ? "true" : "false"}});
    }
    counter = slot;
    if (shadow) {
      prometheus::Counter*& would = children.would_deny[r];
      if (would == nullptr) {
        would = &would_deny_->Add({{"tier", std::string(tier)}, {"reason", reason_name}});
      }
      shadow_counter = would;
    }
  }
  counter->Increment();
  if (shadow) shadow_counter->Increment();
}

void Metrics::CountPolicyReload(bool ok) {
  reloads_->Add({{"result", ok ? "success" : "failure"}}).Increment();
}

void Metrics::AddGauge(const std::string& name, const std::string& help, GaugeFn fn) {
  dynamic_->Add(name, help, std::move(fn));
}

}  // namespace quotad
