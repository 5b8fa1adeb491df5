// gRPC adapter for quotad.v1.QuotaService: decode -> AdmissionController ->
// encode. Uses the callback API; the admission work is short (hashing, a
// cached read and one WAL append) and runs inline on gRPC's callback threads.
#ifndef QUOTAD_SERVICE_QUOTA_SERVICE_H_
#define QUOTAD_SERVICE_QUOTA_SERVICE_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/v1/quota.grpc.pb.h"

namespace quotad {

// absl and gRPC status codes share google.rpc.Code numbering.
grpc::Status ToGrpcStatus(const absl::Status& status);

class QuotaServiceImpl final : public v1::QuotaService::CallbackService {
 public:
  // `admission` is borrowed and must outlive the service.
  explicit QuotaServiceImpl(AdmissionController* admission) : admission_(admission) {}

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
  AdmissionController* admission_;
};

}  // namespace quotad

#endif  // QUOTAD_SERVICE_QUOTA_SERVICE_H_
