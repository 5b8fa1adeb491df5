// The request path on arbitrary AcquireRequest / RefundRequest bytes:
// validation (ValidateAcquireRequest) and the admission controller of a
// whole node (FuzzNode). Holds:
//   - a refused request is InvalidArgument whose message starts with a
//     field name ("ip: ...") and charges nothing (Check reads the same
//     usage before and after);
//   - an accepted one has a cost in [1, max_cost] and strings <= 1 KiB;
//   - an admitted, enforced, fresh answer exceeds no limit and uses no more
//     than a limit allows;
//   - Refund of anything answers OK, NotFound or InvalidArgument.
#include <cstddef>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "quotad/admission/request_validation.h"
#include "tests/fuzz/fuzz_node.h"

namespace quotad::fuzz {
namespace {

bool StartsWithFieldName(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == 0 || colon == absl::string_view::npos) return false;
  for (char c : message.substr(0, colon)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  }
  return true;
}

void CheckValidation(const v1::AcquireRequest& request, const CompiledPolicy& policy) {
  auto valid = ValidateAcquireRequest(request, policy);
  if (!valid.ok()) {
    FuzzCheckError(valid.status(), absl::StatusCode::kInvalidArgument, "refused request");
    FuzzCheck(StartsWithFieldName(valid.status().message()),
              absl::StrCat("error does not start with a field: ", valid.status().message()));
    return;
  }
  FuzzCheck(valid->cost >= 1 && valid->cost <= policy.max_cost(), "cost out of range");
  for (absl::string_view s : {valid->user_agent, valid->client_name, valid->integration_id,
                              valid->service, valid->request_id}) {
    FuzzCheck(s.size() <= kMaxStringFieldBytes, "a string above the limit was accepted");
  }
}

}  // namespace
}  // namespace quotad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quotad;
  v1::AcquireRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  fuzz::CheckValidation(request, *fuzz::ProductionPolicy());
  (void)fuzz::CheckedAcquire(request);
  v1::RefundRequest refund;
  refund.set_request_id(request.request_id());
  const auto refunded = fuzz::FuzzNode::Get().admission().Refund(refund);
  const absl::StatusCode code = refunded.status().code();
  fuzz::FuzzCheck(code == absl::StatusCode::kOk || code == absl::StatusCode::kNotFound ||
                      code == absl::StatusCode::kInvalidArgument,
                  absl::StrCat("refund: ", refunded.status().ToString()));
  return 0;
}
