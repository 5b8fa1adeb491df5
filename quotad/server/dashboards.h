// The dashboards' aggregates of one node, kept up to date as it decides and
// as its counters change (quotad/admission/usage_observer.h), so stats calls
// and scrapes cost the size of their answer: the usage distribution
// (UsageTracker) and the near-limit counts (NearLimitTracker), plus their
// gauges on /metrics and a background thread that takes hours leaving the
// window out once a second (off the request path).
#ifndef QUOTAD_SERVER_DASHBOARDS_H_
#define QUOTAD_SERVER_DASHBOARDS_H_

#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/observability/metrics.h"
#include "quotad/observability/near_limit.h"
#include "quotad/observability/usage_tracker.h"
#include "quotad/policy/policy.h"

namespace quotad {

class Dashboards {
 public:
  explicit Dashboards(Clock* clock) : usage_(clock), near_limit_(clock) {}
  ~Dashboards();

  // Seeds the usage distribution from `store` and registers both trackers
  // with `admission`. Call once, before the node replicates or serves (no
  // counter may change meanwhile). Both pointers are borrowed and must
  // outlive this object's last use. Errors: Unavailable (storage).
  absl::Status Attach(CounterStore* store, AdmissionController* admission);

  // quotad_active_clients, quotad_usage_tracker_bytes and
  // quotad_near_limit{tier,subject} (a series for every tier of the serving
  // policy and both subjects, 0 until one is near). `policy` is borrowed.
  void AddGauges(Metrics* metrics, PolicyHolder* policy);

  UsageTracker* usage() { return &usage_; }
  NearLimitTracker* near_limit() { return &near_limit_; }

 private:
  UsageTracker usage_;
  NearLimitTracker near_limit_;
  absl::Notification stop_;
  std::thread advancer_;
};

}  // namespace quotad

#endif  // QUOTAD_SERVER_DASHBOARDS_H_
