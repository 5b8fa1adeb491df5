#include "client/quota_client.h"

#include <chrono>

#include "grpcpp/grpcpp.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/quota.grpc.pb.h"

namespace quotad::client {
namespace {

class GrpcQuotaConnection final : public QuotaConnection {
 public:
  explicit GrpcQuotaConnection(const ClientOptions& options)
      : timeout_(options.timeout),
        authorization_(options.bearer_token.empty() ? "" : "Bearer " + options.bearer_token),
        stub_(v1::QuotaService::NewStub(grpc::CreateChannel(
            options.target, options.tls.enabled() ? MakeChannelCredentials(options.tls)
                                                  : grpc::InsecureChannelCredentials()))) {}

  absl::StatusOr<v1::AcquireResponse> Acquire(const v1::AcquireRequest& request) override {
    return Call(&v1::QuotaService::Stub::Acquire, request, v1::AcquireResponse());
  }
  absl::StatusOr<v1::AcquireResponse> Check(const v1::AcquireRequest& request) override {
    return Call(&v1::QuotaService::Stub::Check, request, v1::AcquireResponse());
  }
  absl::StatusOr<v1::RefundResponse> Refund(const v1::RefundRequest& request) override {
    return Call(&v1::QuotaService::Stub::Refund, request, v1::RefundResponse());
  }

 private:
  template <typename Method, typename Request, typename Response>
  absl::StatusOr<Response> Call(Method method, const Request& request, Response response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout_));
    if (!authorization_.empty()) context.AddMetadata("authorization", authorization_);
    grpc::Status status = ((*stub_).*method)(&context, request, &response);
    if (!status.ok()) return rpc::FromGrpcStatus(status);
    return response;
  }

  absl::Duration timeout_;
  std::string authorization_;
  std::unique_ptr<v1::QuotaService::Stub> stub_;
};

}  // namespace

std::shared_ptr<QuotaConnection> MakeQuotaConnection(const ClientOptions& options) {
  return std::make_shared<GrpcQuotaConnection>(options);
}

bool NoNodeAnswered(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status);
}

Decision QuotaClient::Decide(const v1::AcquireRequest& request, FailurePolicy policy) {
  absl::StatusOr<v1::AcquireResponse> answer = connection_->Acquire(request);
  Decision d;
  if (answer.ok()) {
    d.allowed = answer->allowed();
    d.response = *std::move(answer);
    return d;
  }
  d.error = answer.status();
  d.degraded = NoNodeAnswered(d.error);
  d.allowed = d.degraded && policy == FailurePolicy::kFailOpen;
  return d;
}

}  // namespace quotad::client
