// gRPC adapter for envoy.service.ratelimit.v3.RateLimitService, served on
// the quota listener next to QuotaService: decode (envoy_rls.h) ->
// QuotaServiceImpl::StartAcquire -> encode. The same roles ("charge"), the
// same in-flight bound, deadline, decision, charge, idempotency and
// metrics as Acquire (the rpc label is "ShouldRateLimit"). A request that
// cannot be mapped is INVALID_ARGUMENT, nothing charged.
#ifndef QUOTAD_SERVICE_ENVOY_RLS_SERVICE_H_
#define QUOTAD_SERVICE_ENVOY_RLS_SERVICE_H_

#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "quotad/common/clock.h"
#include "quotad/service/quota_service.h"

namespace quotad {

class EnvoyRlsServiceImpl final
    : public ::envoy::service::ratelimit::v3::RateLimitService::CallbackService {
 public:
  // `quota` and `clock` are borrowed and must outlive the service.
  EnvoyRlsServiceImpl(QuotaServiceImpl* quota, const Clock* clock) : quota_(quota), clock_(clock) {}

  grpc::ServerUnaryReactor* ShouldRateLimit(
      grpc::CallbackServerContext* context,
      const ::envoy::service::ratelimit::v3::RateLimitRequest* request,
      ::envoy::service::ratelimit::v3::RateLimitResponse* response) override;

 private:
  QuotaServiceImpl* quota_;
  const Clock* clock_;
};

}  // namespace quotad

#endif  // QUOTAD_SERVICE_ENVOY_RLS_SERVICE_H_
