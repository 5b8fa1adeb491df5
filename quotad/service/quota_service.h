// gRPC adapter for quotad.v1.QuotaService: decode -> AdmissionController ->
// encode. Uses the callback API: the decision runs inline on gRPC's callback
// thread (hashing, a cached read, in-memory locks); Acquire's durable write is
// handed to the admission controller's group committer, which finishes the
// call once it is in the WAL, so no callback thread waits for another
// request's write (the writer of a batch writes on its own callback thread).
//
// Callers: with an Authorizer, Acquire and Refund need the "charge" role and
// Check "charge" or "read" (UNAUTHENTICATED / PERMISSION_DENIED otherwise,
// before anything else, nothing charged); a Check by a caller without
// "charge" is answered without its tier claims (integration_tier,
// integration_id), so a read-only caller cannot learn what a claim grants.
// Without one, every caller may do everything (development).
//
// Overload: at most `max_inflight_calls` calls are in progress at once (this
// service's and those of surfaces that go through StartAcquire, such as
// Envoy's rate limit service); one more is answered RESOURCE_EXHAUSTED at
// once, nothing charged. An Acquire's
// gRPC deadline and cancellation reach the group committer, so a call given
// up before its charge is written is not charged.
#ifndef QUOTAD_SERVICE_QUOTA_SERVICE_H_
#define QUOTAD_SERVICE_QUOTA_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/observability/decision_stats.h"
#include "quotad/observability/metrics.h"
#include "quotad/security/authorizer.h"
#include "quotad/v1/quota.grpc.pb.h"

namespace quotad {

class QuotaServiceImpl final : public v1::QuotaService::CallbackService {
 public:
  // `admission` is borrowed and must outlive the service. `metrics` and
  // `stats` (borrowed, may be null) observe every call.
  // `max_inflight_calls` <= 0: unbounded. `authorizer` (borrowed) null: one
  // without a callers file (open), owned by the service.
  explicit QuotaServiceImpl(AdmissionController* admission, Metrics* metrics = nullptr,
                            DecisionStats* stats = nullptr, int max_inflight_calls = 0,
                            const Authorizer* authorizer = nullptr)
      : admission_(admission),
        metrics_(metrics),
        stats_(stats),
        max_inflight_(max_inflight_calls > 0 ? max_inflight_calls : INT32_MAX),
        own_authorizer_(authorizer == nullptr ? std::make_unique<Authorizer>("") : nullptr),
        authorizer_(authorizer != nullptr ? authorizer : own_authorizer_.get()) {}

  grpc::ServerUnaryReactor* Acquire(grpc::CallbackServerContext* context,
                                    const v1::AcquireRequest* request,
                                    v1::AcquireResponse* response) override;
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::AcquireRequest* request,
                                  v1::AcquireResponse* response) override;
  grpc::ServerUnaryReactor* Refund(grpc::CallbackServerContext* context,
                                   const v1::RefundRequest* request,
                                   v1::RefundResponse* response) override;

  // What Acquire does, for any surface that maps its own request to one
  // (EnvoyRlsServiceImpl): the "charge" role, the in-flight bound, the
  // call's deadline and cancellation, metrics and stats under the rpc label
  // `rpc`. `done` gets the answer exactly once, on a gRPC callback thread or
  // the group committer's; `request` is kept alive until then.
  using AcquireDone = AdmissionController::AcquireCallback;
  void StartAcquire(grpc::CallbackServerContext* context, const char* rpc,
                    std::shared_ptr<const v1::AcquireRequest> request, AcquireDone done);
  // Counts a call refused before it reached the admission controller (e.g.
  // a request another surface could not map).
  void ObserveRefused(const char* rpc, const absl::Status& status) {
    Observe(rpc, absl::Now(), status, nullptr, nullptr);
  }

 private:
  void Observe(const char* rpc, absl::Time start, const absl::Status& status,
               const v1::AcquireRequest* request, const v1::AcquireResponse* response);
  // Takes an in-flight slot; false (nothing taken) past the bound.
  bool Enter();
  void Leave() { inflight_.fetch_sub(1, std::memory_order_relaxed); }
  absl::Status Overloaded() const;

  AdmissionController* admission_;
  Metrics* metrics_;
  DecisionStats* stats_;
  const int max_inflight_;
  const std::unique_ptr<Authorizer> own_authorizer_;
  const Authorizer* authorizer_;
  std::atomic<int> inflight_{0};
};

}  // namespace quotad

#endif  // QUOTAD_SERVICE_QUOTA_SERVICE_H_
