// Errors in a policy file that name the source line and the field path:
// "aup.textproto:12: tiers[1].daily_limit: must be >= 0".
#ifndef QUOTAD_POLICY_POLICY_ERRORS_H_
#define QUOTAD_POLICY_POLICY_ERRORS_H_

#include <initializer_list>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"

namespace quotad {

class ErrorReporter {
 public:
  using ParseInfoTree = google::protobuf::TextFormat::ParseInfoTree;
  // `tree` (may be null: no line numbers) must outlive the reporter.
  ErrorReporter(absl::string_view source, const ParseInfoTree* tree)
      : source_(source), tree_(tree) {}

  // InvalidArgument naming the line (when known) and `path`, a list of
  // (field name, index) from the policy root; index -1 for singular fields.
  absl::Status Error(std::initializer_list<std::pair<absl::string_view, int>> path,
                     absl::string_view message) const;

 private:
  absl::string_view source_;
  const ParseInfoTree* tree_;
};

}  // namespace quotad

#endif  // QUOTAD_POLICY_POLICY_ERRORS_H_
