#include "quotad/service/envoy_rls.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

using Unit = rls::RateLimitResponse::RateLimit;

// An entry key and the request field it fills.
struct Field {
  absl::string_view key;
  std::string* (v1::AcquireRequest::*target)();
};

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("envoy rate limit request: ", what));
}

// Sets `*out` to `value` unless it already holds another value.
absl::Status SetOnce(absl::string_view key, absl::string_view value, std::string* out) {
  if (!out->empty() && *out != value) {
    return Invalid(absl::StrCat("descriptor key '", key, "' given twice with different values"));
  }
  *out = std::string(value);
  return absl::OkStatus();
}

// The cost: a descriptor's own hits_addend overrides the request's (as in
// Envoy); descriptors that set one must agree. 0 means 1.
absl::StatusOr<int64_t> Cost(const rls::RateLimitRequest& request) {
  uint64_t cost = request.hits_addend();
  int from = -1;  // the descriptor that set it
  for (int i = 0; i < request.descriptors_size(); ++i) {
    const auto& d = request.descriptors(i);
    if (!d.has_hits_addend()) continue;
    if (from >= 0 && d.hits_addend().value() != cost) {
      return Invalid(absl::StrCat("descriptors[", i, "].hits_addend ", d.hits_addend().value(),
                                  " differs from descriptors[", from, "]'s ", cost,
                                  " (quotad charges one request)"));
    }
    cost = d.hits_addend().value();
    from = i;
  }
  if (cost == 0) return 1;
  return static_cast<int64_t>(std::min<uint64_t>(cost, std::numeric_limits<int64_t>::max()));
}

// The Envoy unit of a limit's window.
Unit::Unit EnvoyUnit(const v1::LimitStatus& limit) {
  if (limit.name() == "automated_burst") return Unit::MINUTE;
  switch (limit.window()) {
    case v1::MINUTE_UTC:
      return Unit::MINUTE;
    case v1::HOUR_UTC:
      return Unit::HOUR;
    case v1::CALENDAR_MONTH_UTC:
      return Unit::MONTH;
    default:
      return Unit::DAY;
  }
}

uint32_t Clamp32(int64_t v) {
  return static_cast<uint32_t>(std::clamp<int64_t>(v, 0, std::numeric_limits<uint32_t>::max()));
}

// The limit an RLS caller is told about: the first that refused, else the
// one with the least remaining. Null when there is none.
const v1::LimitStatus* DecidingLimit(const v1::AcquireResponse& response) {
  const v1::LimitStatus* best = nullptr;
  for (const v1::LimitStatus& l : response.limits()) {
    if (l.exceeded()) return &l;
    if (best == nullptr || l.remaining() < best->remaining()) best = &l;
  }
  return best;
}

void AddHeader(rls::RateLimitResponse* out, absl::string_view key, absl::string_view value) {
  auto* h = out->add_response_headers_to_add();
  h->set_key(std::string(key));
  h->set_value(std::string(value));
}

int64_t CeilSeconds(absl::Duration d) {
  return absl::ToInt64Seconds(absl::Ceil(std::max(d, absl::ZeroDuration()), absl::Seconds(1)));
}

}  // namespace

absl::StatusOr<v1::AcquireRequest> ToAcquireRequest(const rls::RateLimitRequest& request) {
  static constexpr std::array<Field, 7> kFields = {{
      {"remote_address", &v1::AcquireRequest::mutable_ip},
      {"user_agent", &v1::AcquireRequest::mutable_user_agent},
      {"client_name", &v1::AcquireRequest::mutable_client_name},
      {"integration_id", &v1::AcquireRequest::mutable_integration_id},
      {"integration_tier", &v1::AcquireRequest::mutable_integration_tier},
      {"request_id", &v1::AcquireRequest::mutable_request_id},
      {"service", &v1::AcquireRequest::mutable_service},
  }};
  if (request.domain().empty()) return Invalid("domain: required");
  if (request.descriptors().empty()) return Invalid("descriptors: at least one");
  v1::AcquireRequest out;
  for (int i = 0; i < request.descriptors_size(); ++i) {
    const auto& d = request.descriptors(i);
    if (d.has_limit()) {
      return Invalid(absl::StrCat("descriptors[", i,
                                  "].limit: quotad's limits are its policy rows; remove the "
                                  "descriptor's limit override"));
    }
    for (const auto& e : d.entries()) {
      absl::string_view key = e.key();
      if (key == "generic_key") key = "service";  // Envoy's generic_key action
      const Field* field = nullptr;
      for (const Field& f : kFields) {
        if (f.key == key) field = &f;
      }
      if (field == nullptr) {
        return Invalid(
            absl::StrCat("descriptors[", i, "]: unknown key '", e.key(),
                         "' (known: remote_address, user_agent, client_name, integration_id, "
                         "integration_tier, service, generic_key, request_id)"));
      }
      if (absl::Status s = SetOnce(e.key(), e.value(), (out.*(field->target))()); !s.ok()) {
        return s;
      }
    }
  }
  if (out.ip().empty()) return Invalid("no remote_address entry (the client's address)");
  out.set_service(out.service().empty() ? request.domain()
                                        : absl::StrCat(request.domain(), "/", out.service()));
  absl::StatusOr<int64_t> cost = Cost(request);
  if (!cost.ok()) return cost.status();
  out.set_cost(*cost);
  return out;
}

rls::RateLimitResponse ToRateLimitResponse(const v1::AcquireResponse& response, int descriptors,
                                           absl::Time now) {
  rls::RateLimitResponse out;
  const auto code =
      response.allowed() ? rls::RateLimitResponse::OK : rls::RateLimitResponse::OVER_LIMIT;
  out.set_overall_code(code);
  const v1::LimitStatus* limit = DecidingLimit(response);
  rls::RateLimitResponse::DescriptorStatus status;
  status.set_code(code);
  if (limit != nullptr) {
    auto* current = status.mutable_current_limit();
    current->set_name(limit->name());
    current->set_requests_per_unit(Clamp32(limit->limit()));
    current->set_unit(EnvoyUnit(*limit));
    status.set_limit_remaining(Clamp32(limit->remaining()));
    absl::Duration until = absl::ZeroDuration();  // until the limit frees capacity
    if (limit->has_reset_time()) {
      until = std::max(rpc::FromTimestamp(limit->reset_time()) - now, absl::ZeroDuration());
      rpc::SetDuration(until, status.mutable_duration_until_reset());
    }
    AddHeader(&out, "ratelimit-limit", absl::StrCat(limit->limit()));
    AddHeader(&out, "ratelimit-remaining", absl::StrCat(std::max<int64_t>(limit->remaining(), 0)));
    AddHeader(&out, "ratelimit-reset", absl::StrCat(CeilSeconds(until)));
  }
  for (int i = 0; i < descriptors; ++i) *out.add_statuses() = status;
  if (!response.allowed()) {
    AddHeader(
        &out, "retry-after",
        absl::StrCat(std::max<int64_t>(
            response.has_retry_after() ? CeilSeconds(rpc::FromDuration(response.retry_after())) : 0,
            1)));
    AddHeader(&out, "x-quotad-reason", v1::Reason_Name(response.reason()));
  }
  if (response.has_next_request()) {
    AddHeader(&out, "x-quotad-next-request",
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", rpc::FromTimestamp(response.next_request()),
                               absl::UTCTimeZone()));
  }
  return out;
}

}  // namespace quotad
