// The callers file parser (CallerTable::FromText) on arbitrary text. Holds:
// text is refused with InvalidArgument naming the source, or gives a table
// in which every principal has a name and roles, no empty token or
// certificate name finds anyone, and a random token finds nobody.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "quotad/security/callers.h"
#include "tests/fuzz/fuzz_node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace quotad;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto table = CallerTable::FromText(text, "callers.textproto");
  if (!table.ok()) {
    fuzz::FuzzCheckError(table.status(), absl::StatusCode::kInvalidArgument, "refused callers");
    fuzz::FuzzCheck(absl::StartsWith(table.status().message(), "callers.textproto"),
                    absl::StrCat("error does not name the source: ", table.status().message()));
    return 0;
  }
  fuzz::FuzzCheck((*table)->FindByToken("") == nullptr, "the empty token finds a principal");
  fuzz::FuzzCheck((*table)->FindByCertificate({}) == nullptr, "no certificate names find one");
  fuzz::FuzzCheck((*table)->FindByCertificate({""}) == nullptr, "an empty name finds one");
  // The file holds only hashes: the text itself, used as a token, matches
  // only if it is a preimage of one of them (never, in practice).
  if (const Principal* p = (*table)->FindByToken(text)) {
    fuzz::FuzzCheck(!p->name.empty() && p->roles != 0, "a principal without name or roles");
  }
  return 0;
}
