#include "quotad/service/quota_service.h"

#include <string>

#include "quotad/rpc/unary.h"

namespace quotad {

void QuotaServiceImpl::Observe(const char* rpc, absl::Time start, const absl::Status& status,
                               const v1::AcquireRequest* request,
                               const v1::AcquireResponse* response) {
  if (metrics_ != nullptr) {
    metrics_->ObserveRpc(rpc, status.code(), absl::Now() - start);
    if (response != nullptr && !response->replayed()) {
      metrics_->CountDecision(response->tier(), response->reason(), response->shadow_denied());
    }
  }
  if (stats_ != nullptr && response != nullptr && !response->replayed()) {
    const std::string& integration =
        request->integration_id().empty() ? request->client_name() : request->integration_id();
    stats_->Record(response->tier(), response->reason(), response->shadow_denied(),
                   response->allowed(), integration);
  }
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Acquire(grpc::CallbackServerContext* context,
                                                    const v1::AcquireRequest* request,
                                                    v1::AcquireResponse* response) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The decision is made here; the durable write is group-committed by the
  // admission controller, which finishes the call when it is in the WAL. No
  // gRPC thread ever waits for the disk.
  admission_->AcquireAsync(
      *request, [this, start, request, response, reactor](absl::StatusOr<v1::AcquireResponse> r) {
        Observe("Acquire", start, r.status(), request, r.ok() ? &*r : nullptr);
        if (!r.ok()) {
          reactor->Finish(rpc::ToGrpcStatus(r.status()));
          return;
        }
        *response = std::move(*r);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Check(grpc::CallbackServerContext* context,
                                                  const v1::AcquireRequest* request,
                                                  v1::AcquireResponse* response) {
  const absl::Time start = absl::Now();
  auto result = admission_->Check(*request);
  Observe("Check", start, result.status(), nullptr, nullptr);
  return rpc::FinishUnary(context, std::move(result), response);
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Refund(grpc::CallbackServerContext* context,
                                                   const v1::RefundRequest* request,
                                                   v1::RefundResponse* response) {
  const absl::Time start = absl::Now();
  auto result = admission_->Refund(*request);
  Observe("Refund", start, result.status(), nullptr, nullptr);
  return rpc::FinishUnary(context, std::move(result), response);
}

}  // namespace quotad
