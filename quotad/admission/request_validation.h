// Validation of request-path input. Every error is InvalidArgument and its
// message starts with the offending field name ("ip: ...", "cost: ...").
#ifndef QUOTAD_ADMISSION_REQUEST_VALIDATION_H_
#define QUOTAD_ADMISSION_REQUEST_VALIDATION_H_

#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "quotad/identity/ip_address.h"
#include "quotad/policy/policy.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

// Longest accepted string field, in bytes.
inline constexpr size_t kMaxStringFieldBytes = 1024;

// A request that passed validation. String views point into the request
// proto, which must outlive this value.
struct ValidatedRequest {
  IpAddress ip;
  absl::string_view user_agent;
  absl::string_view client_name;
  absl::string_view integration_id;
  absl::string_view service;
  absl::string_view request_id;
  const TierConfig* claimed_tier = nullptr;  // owned by the policy
  int64_t cost = 1;
};

// Checks `request` against `policy`: ip present and parseable; cost in
// [1, policy.max_cost()] (absent = 1); every string <= 1 KiB; a non-empty
// integration_tier names a claimable tier or alias and comes with an
// integration_id.
absl::StatusOr<ValidatedRequest> ValidateAcquireRequest(const v1::AcquireRequest& request,
                                                        const CompiledPolicy& policy);

// request_id required, <= 1 KiB.
absl::Status ValidateRefundRequest(const v1::RefundRequest& request);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_REQUEST_VALIDATION_H_
