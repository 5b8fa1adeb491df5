#include "quotad/service/quota_service.h"

#include <string>

#include "absl/strings/str_cat.h"
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

bool QuotaServiceImpl::Enter() {
  if (inflight_.fetch_add(1, std::memory_order_relaxed) < max_inflight_) return true;
  inflight_.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

absl::Status QuotaServiceImpl::Overloaded() const {
  return absl::ResourceExhaustedError(absl::StrCat(
      "overloaded: ", max_inflight_, " calls already in progress; nothing charged, retry later"));
}

void QuotaServiceImpl::StartAcquire(grpc::CallbackServerContext* context, const char* rpc,
                                    std::shared_ptr<const v1::AcquireRequest> request,
                                    AcquireDone done) {
  const absl::Time start = absl::Now();
  if (auto caller = authorizer_->Authorize(*context, Surface::kQuota, {Role::kCharge});
      !caller.ok()) {
    Observe(rpc, start, caller.status(), nullptr, nullptr);
    done(caller.status());
    return;
  }
  if (!Enter()) {
    Observe(rpc, start, Overloaded(), nullptr, nullptr);
    done(Overloaded());
    return;
  }
  CallState call;
  call.deadline = absl::FromChrono(context->deadline());
  call.cancelled = [context] { return context->IsCancelled(); };
  // The decision is made here; the durable write is group-committed by the
  // admission controller, which answers when it is in the WAL.
  const v1::AcquireRequest& req = *request;
  admission_->AcquireAsync(
      req,
      [this, rpc, start, request = std::move(request),
       done = std::move(done)](absl::StatusOr<v1::AcquireResponse> r) {
        Observe(rpc, start, r.status(), request.get(), r.ok() ? &*r : nullptr);
        Leave();
        done(std::move(r));
      },
      std::move(call));
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Acquire(grpc::CallbackServerContext* context,
                                                    const v1::AcquireRequest* request,
                                                    v1::AcquireResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // gRPC owns the request until Finish: shared without ownership.
  StartAcquire(context, "Acquire",
               std::shared_ptr<const v1::AcquireRequest>(std::shared_ptr<void>(), request),
               [response, reactor](absl::StatusOr<v1::AcquireResponse> r) {
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
  auto caller = authorizer_->Authorize(*context, Surface::kQuota, {Role::kCharge, Role::kRead});
  if (!caller.ok()) {
    Observe("Check", start, caller.status(), nullptr, nullptr);
    return rpc::FinishUnary<v1::AcquireResponse>(context, caller.status(), response);
  }
  if (!Enter()) return rpc::FinishUnary(context, absl::StatusOr<v1::AcquireResponse>(Overloaded()), response);
  absl::StatusOr<v1::AcquireResponse> result;
  if (!caller->Has(Role::kCharge) &&
      (!request->integration_tier().empty() || !request->integration_id().empty())) {
    v1::AcquireRequest unclaimed = *request;  // tier claims count only from chargers
    unclaimed.clear_integration_tier();
    unclaimed.clear_integration_id();
    result = admission_->Check(unclaimed);
  } else {
    result = admission_->Check(*request);
  }
  Leave();
  Observe("Check", start, result.status(), nullptr, nullptr);
  return rpc::FinishUnary(context, std::move(result), response);
}

grpc::ServerUnaryReactor* QuotaServiceImpl::Refund(grpc::CallbackServerContext* context,
                                                   const v1::RefundRequest* request,
                                                   v1::RefundResponse* response) {
  const absl::Time start = absl::Now();
  if (auto caller = authorizer_->Authorize(*context, Surface::kQuota, {Role::kCharge});
      !caller.ok()) {
    Observe("Refund", start, caller.status(), nullptr, nullptr);
    return rpc::FinishUnary<v1::RefundResponse>(context, caller.status(), response);
  }
  if (!Enter()) return rpc::FinishUnary(context, absl::StatusOr<v1::RefundResponse>(Overloaded()), response);
  auto result = admission_->Refund(*request);
  Leave();
  Observe("Refund", start, result.status(), nullptr, nullptr);
  return rpc::FinishUnary(context, std::move(result), response);
}

}  // namespace quotad
