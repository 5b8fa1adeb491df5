// Keeps the first error protobuf's text parser reports, as "line:column:
// message" (1-based), for messages that name the file and line of a bad
// policy or callers file.
#ifndef QUOTAD_COMMON_TEXTPROTO_ERRORS_H_
#define QUOTAD_COMMON_TEXTPROTO_ERRORS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"

namespace quotad {

class FirstTextprotoError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace quotad

#endif  // QUOTAD_COMMON_TEXTPROTO_ERRORS_H_
