#include "quotad/service/quota_service.h"

#include <string>

namespace quotad {
namespace {

template <typename Response>
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                 absl::StatusOr<Response> result, Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!result.ok()) {
    reactor->Finish(ToGrpcStatus(result.status()));
  } else {
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Acquire(grpc::CallbackServerContext* context,
                                                    const v1::AcquireRequest* request,
                                                    v1::AcquireResponse* response) {
  return Finish(context, admission_->Acquire(*request), response);
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Check(grpc::CallbackServerContext* context,
                                                  const v1::AcquireRequest* request,
                                                  v1::AcquireResponse* response) {
  return Finish(context, admission_->Check(*request), response);
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Refund(grpc::CallbackServerContext* context,
                                                   const v1::RefundRequest* request,
                                                   v1::RefundResponse* response) {
  return Finish(context, admission_->Refund(*request), response);
}

}  // namespace quotad
