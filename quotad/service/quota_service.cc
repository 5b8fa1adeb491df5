#include "quotad/service/quota_service.h"

#include <string>

#include "quotad/rpc/unary.h"

namespace quotad {

grpc::Status ToGrpcStatus(const absl::Status& status) { return rpc::ToGrpcStatus(status); }

void QuotaServiceImpl::Observe(const char* rpc, absl::Time start, const absl::Status& status,
                               const v1::AcquireRequest* request,
                               const v1::AcquireResponse* response) {
  if (metrics_ != nullptr) {
    metrics_->ObserveRpc(rpc, absl::StatusCodeToString(status.code()), absl::Now() - start);
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
  auto result = admission_->Acquire(*request);
  Observe("Acquire", start, result.status(), request, result.ok() ? &*result : nullptr);
  return rpc::FinishUnary(context, std::move(result), response);
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
