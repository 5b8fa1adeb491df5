#include "quotad/policy/policy_errors.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "quotad/v1/policy.pb.h"

namespace quotad {

using google::protobuf::Descriptor;

absl::Status ErrorReporter::Error(std::initializer_list<std::pair<absl::string_view, int>> path,
                                  absl::string_view message) const {
  const ParseInfoTree* tree = tree_;
  const Descriptor* desc = v1::Policy::descriptor();
  int line = -1;
  std::string field_path;
  for (const auto& [name, index] : path) {
    const auto* field = desc ? desc->FindFieldByName(std::string(name)) : nullptr;
    absl::StrAppend(&field_path, field_path.empty() ? "" : ".", name);
    if (index >= 0) absl::StrAppend(&field_path, "[", index, "]");
    if (field == nullptr || tree == nullptr) continue;
    // ParseInfoTree wants index -1 exactly for singular fields; a repeated
    // field named without an index has no single location.
    if (field->is_repeated() != (index >= 0)) {
      tree = nullptr;
      continue;
    }
    const auto loc = tree->GetLocation(field, index);
    if (loc.line >= 0) line = loc.line;
    tree = field->message_type() ? tree->GetTreeForNested(field, index) : nullptr;
    desc = field->message_type();
  }
  std::string where = std::string(source_);
  if (line >= 0) absl::StrAppend(&where, ":", line + 1);
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", field_path, ": ", message));
}

}  // namespace quotad
