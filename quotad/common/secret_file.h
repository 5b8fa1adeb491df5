// Small secret files (identity hash key, admin token): created once with mode
// 0600, read back whole.
#ifndef QUOTAD_COMMON_SECRET_FILE_H_
#define QUOTAD_COMMON_SECRET_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quotad {

// Creates `path` holding `contents` with mode 0600, atomically (written to a
// temp file, fsynced, then linked into place). If `path` already exists —
// including when a concurrent creator wins — leaves it untouched. Returns
// true when this call created the file. Errors: Internal/errno statuses.
absl::StatusOr<bool> CreateSecretFileIfAbsent(const std::string& path, absl::string_view contents);

// The whole content of a small file (at most `max_bytes`; more is an error).
// Errors: errno statuses naming the path; FailedPrecondition when too large.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes = 4096);

}  // namespace quotad

#endif  // QUOTAD_COMMON_SECRET_FILE_H_
