// Envoy's rate limit service (RLS v3) in quotad's terms: pure translation
// between envoy.service.ratelimit.v3 messages and quotad's Acquire, no I/O.
// The service adapter (envoy_rls_service.h) runs the translated request
// through the same path as QuotaService.Acquire.
//
// Request. quotad decides a request, not each descriptor: the entries of
// every descriptor are read together as one AcquireRequest.
//   remote_address   -> ip (required; Envoy's remote_address action)
//   user_agent       -> user_agent
//   client_name      -> client_name
//   integration_id   -> integration_id    integration_tier -> integration_tier
//   service          -> service, as "<domain>/<value>"; no service entry:
//   generic_key         the service is the domain itself (generic_key, the
//                       key of Envoy's generic_key action, is the same)
//   request_id       -> request_id (idempotency, as Acquire)
// `hits_addend` is the cost (0 means 1); a descriptor's own hits_addend
// overrides it, as in Envoy, and descriptors that set one must agree. Limits are the policy's rows
// (a `service` pattern selects rows by the mapped service), so a descriptor proposing its own
// `limit` is refused. Errors (INVALID_ARGUMENT, naming the field): an empty domain, no descriptor,
// an empty or unknown key, a key given twice with different values, a descriptor limit, disagreeing
// hits_addend.
//
// Response. overall_code OK when the request was admitted (a shadow-mode
// denial is admitted), OVER_LIMIT when refused. One DescriptorStatus per
// descriptor, all the same: the deciding limit (the first that refused;
// else the one with the least remaining) as current_limit (its row name,
// limit, unit: MINUTE_UTC and the burst budget MINUTE, HOUR_UTC HOUR,
// CALENDAR_MONTH_UTC MONTH, the rolling 24 h and the UTC day DAY),
// limit_remaining, and duration_until_reset (until it frees capacity).
// response_headers_to_add: `ratelimit-limit`, `ratelimit-remaining`,
// `ratelimit-reset` (seconds) of that limit; on OVER_LIMIT `retry-after`
// (whole seconds, rounded up) and `x-quotad-reason`; `x-quotad-next-request`
// (RFC 3339) whenever quotad suggests one.
#ifndef QUOTAD_SERVICE_ENVOY_RLS_H_
#define QUOTAD_SERVICE_ENVOY_RLS_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

namespace rls = ::envoy::service::ratelimit::v3;

absl::StatusOr<v1::AcquireRequest> ToAcquireRequest(const rls::RateLimitRequest& request);

// `descriptors`: how many the request carried (one status each).
rls::RateLimitResponse ToRateLimitResponse(const v1::AcquireResponse& response, int descriptors,
                                           absl::Time now);

}  // namespace quotad

#endif  // QUOTAD_SERVICE_ENVOY_RLS_H_
