#include "quotad/service/envoy_rls_service.h"

#include <memory>
#include <utility>

#include "quotad/rpc/unary.h"
#include "quotad/service/envoy_rls.h"

namespace quotad {

grpc::ServerUnaryReactor* EnvoyRlsServiceImpl::ShouldRateLimit(grpc::CallbackServerContext* context,
                                                               const rls::RateLimitRequest* request,
                                                               rls::RateLimitResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::AcquireRequest> acquire = ToAcquireRequest(*request);
  if (!acquire.ok()) {
    quota_->ObserveRefused("ShouldRateLimit", acquire.status());
    reactor->Finish(rpc::ToGrpcStatus(acquire.status()));
    return reactor;
  }
  const int descriptors = request->descriptors_size();
  quota_->StartAcquire(
      context, "ShouldRateLimit", std::make_shared<v1::AcquireRequest>(*std::move(acquire)),
      [this, reactor, response, descriptors](absl::StatusOr<v1::AcquireResponse> r) {
        if (!r.ok()) {
          reactor->Finish(rpc::ToGrpcStatus(r.status()));
          return;
        }
        *response = ToRateLimitResponse(*r, descriptors, clock_->Now());
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace quotad
