#include "quotad/admission/request_validation.h"

#include "absl/strings/str_cat.h"

namespace quotad {
namespace {

absl::Status CheckLength(absl::string_view field, absl::string_view value) {
  if (value.size() > kMaxStringFieldBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than ", kMaxStringFieldBytes,
                                                   " bytes (", value.size(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ValidatedRequest> ValidateAcquireRequest(const v1::AcquireRequest& request,
                                                        const CompiledPolicy& policy) {
  const std::pair<absl::string_view, const std::string*> strings[] = {
      {"ip", &request.ip()},
      {"user_agent", &request.user_agent()},
      {"client_name", &request.client_name()},
      {"integration_id", &request.integration_id()},
      {"integration_tier", &request.integration_tier()},
      {"service", &request.service()},
      {"request_id", &request.request_id()}};
  for (const auto& [field, value] : strings) {
    if (auto s = CheckLength(field, *value); !s.ok()) return s;
  }
  ValidatedRequest out;
  if (request.ip().empty()) return absl::InvalidArgumentError("ip: required");
  auto ip = IpAddress::Parse(request.ip());
  if (!ip.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("ip: ", ip.status().message()));
  }
  out.ip = *ip;
  if (request.has_cost()) {
    if (request.cost() <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("cost: must be >= 1, got ", request.cost()));
    }
    if (request.cost() > policy.max_cost()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cost: ", request.cost(), " exceeds max_cost ", policy.max_cost()));
    }
    out.cost = request.cost();
  }
  if (!request.integration_tier().empty()) {
    out.claimed_tier = policy.FindClaimableTier(request.integration_tier());
    if (out.claimed_tier == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "integration_tier: unknown or unclaimable tier '", request.integration_tier(), "'"));
    }
    if (request.integration_id().empty()) {
      return absl::InvalidArgumentError("integration_id: required with integration_tier");
    }
  }
  out.user_agent = request.user_agent();
  out.client_name = request.client_name();
  out.integration_id = request.integration_id();
  out.service = request.service();
  out.request_id = request.request_id();
  return out;
}

absl::Status ValidateRefundRequest(const v1::RefundRequest& request) {
  if (request.request_id().empty()) return absl::InvalidArgumentError("request_id: required");
  return CheckLength("request_id", request.request_id());
}

}  // namespace quotad
