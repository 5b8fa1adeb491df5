// gRPC adapter for quotad.v1.QuotaService: decode -> AdmissionController ->
// encode. Uses the callback API: the decision runs inline on gRPC's callback
// thread (hashing, a cached read, in-memory locks); Acquire's durable write is
// handed to the admission controller's group committer, which finishes the
// call once it is in the WAL, so no callback thread blocks on the disk.
#ifndef QUOTAD_SERVICE_QUOTA_SERVICE_H_
#define QUOTAD_SERVICE_QUOTA_SERVICE_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/observability/decision_stats.h"
#include "quotad/observability/metrics.h"
#include "quotad/v1/quota.grpc.pb.h"

namespace quotad {

class QuotaServiceImpl final : public v1::QuotaService::CallbackService {
 public:
  // `admission` is borrowed and must outlive the service. `metrics` and
  // `stats` (borrowed, may be null) observe every call.
  explicit QuotaServiceImpl(AdmissionController* admission, Metrics* metrics = nullptr,
                            DecisionStats* stats = nullptr)
      : admission_(admission), metrics_(metrics), stats_(stats) {}

  grpc::ServerUnaryReactor* Acquire(grpc::CallbackServerContext* context,
                                    const v1::AcquireRequest* request,
                                    v1::AcquireResponse* response) override;
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::AcquireRequest* request,
                                  v1::AcquireResponse* response) override;
  grpc::ServerUnaryReactor* Refund(grpc::CallbackServerContext* context,
                                   const v1::RefundRequest* request,
                                   v1::RefundResponse* response) override;

 private:
  void Observe(const char* rpc, absl::Time start, const absl::Status& status,
               const v1::AcquireRequest* request, const v1::AcquireResponse* response);

  AdmissionController* admission_;
  Metrics* metrics_;
  DecisionStats* stats_;
};

}  // namespace quotad

#endif  // QUOTAD_SERVICE_QUOTA_SERVICE_H_
