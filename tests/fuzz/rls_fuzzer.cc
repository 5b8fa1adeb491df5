// Envoy's rate limit service on arbitrary RateLimitRequest bytes: the
// translation (quotad/service/envoy_rls.h) and the admission controller of a
// whole node (FuzzNode). Holds:
//   - a request the translation refuses is InvalidArgument, says so ("envoy
//     rate limit request: ...") and reaches nothing;
//   - a mapped one has an address, a cost >= 1 and a service under its
//     domain;
//   - its Acquire keeps the request path's contract (CheckedAcquire: a
//     refusal charges nothing, an admission exceeds no limit);
//   - the answer has one status per descriptor, all with the overall code,
//     which is OK exactly when the request was admitted.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "quotad/service/envoy_rls.h"
#include "tests/fuzz/fuzz_node.h"

namespace quotad::fuzz {
namespace {

void CheckMapped(const rls::RateLimitRequest& request, const v1::AcquireRequest& mapped) {
  FuzzCheck(!mapped.ip().empty(), "mapped without an address");
  FuzzCheck(mapped.cost() >= 1, "mapped cost below 1");
  FuzzCheck(absl::StartsWith(mapped.service(), request.domain()), "service outside its domain");
  auto answer = CheckedAcquire(mapped);
  if (!answer.ok()) return;
  const auto out = ToRateLimitResponse(*answer, request.descriptors_size(), absl::Now());
  FuzzCheck(out.statuses_size() == request.descriptors_size(), "one status per descriptor");
  FuzzCheck((out.overall_code() == rls::RateLimitResponse::OK) == answer->allowed(),
            "overall code disagrees with the decision");
  for (const auto& s : out.statuses()) {
    FuzzCheck(s.code() == out.overall_code(), "a status disagrees with the overall code");
  }
}

}  // namespace
}  // namespace quotad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quotad;
  rls::RateLimitRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto mapped = ToAcquireRequest(request);
  if (!mapped.ok()) {
    fuzz::FuzzCheckError(mapped.status(), absl::StatusCode::kInvalidArgument, "refused request");
    fuzz::FuzzCheck(absl::StartsWith(mapped.status().message(), "envoy rate limit request: "),
                    absl::StrCat("unlabelled error: ", mapped.status().message()));
    return 0;
  }
  fuzz::CheckMapped(request, *mapped);
  return 0;
}
