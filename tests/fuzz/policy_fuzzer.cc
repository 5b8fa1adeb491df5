// The policy parser (CompiledPolicy::FromText) on arbitrary text. Holds:
// text is either refused with InvalidArgument whose message starts with
// the source name, or compiles into a policy that prints and compiles again
// to the same fingerprint, and classifies a client into one of its tiers.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "quotad/policy/policy.h"
#include "tests/fuzz/fuzz_node.h"

namespace quotad::fuzz {
namespace {

void CheckCompiled(const CompiledPolicy& policy) {
  std::string text;
  FuzzCheck(google::protobuf::TextFormat::PrintToString(policy.proto(), &text), "print");
  auto again = CompiledPolicy::FromText(text, "printed");
  FuzzCheck(again.ok(), absl::StrCat("a compiled policy, printed, is refused: ",
                                     again.status().ToString(), "\n", text));
  FuzzCheck((*again)->fingerprint() == policy.fingerprint(), "fingerprint changed in a round trip");
  FuzzCheck(policy.fingerprint().size() == 16, "fingerprint is not 16 hex digits");

  ClientFacts facts;
  facts.ip = *IpAddress::Parse("203.0.113.7");
  facts.user_agent = "ndt7-client-go/0.8";
  facts.client_name = "murakami";
  const Classification c = policy.Classify(facts, nullptr, nullptr, kFuzzNow);
  FuzzCheck(c.tier != nullptr && policy.FindTier(c.tier->name) == c.tier,
            "classified into a tier the policy does not have");
}

}  // namespace
}  // namespace quotad::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quotad;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = CompiledPolicy::FromText(text, "fuzz.textproto");
  if (!policy.ok()) {
    fuzz::FuzzCheckError(policy.status(), absl::StatusCode::kInvalidArgument, "refused policy");
    fuzz::FuzzCheck(absl::StartsWith(policy.status().message(), "fuzz.textproto"),
                    absl::StrCat("error does not name the source: ", policy.status().message()));
    return 0;
  }
  fuzz::CheckCompiled(**policy);
  return 0;
}
