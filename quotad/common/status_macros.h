// Small helpers for absl::Status plumbing (the Debian Abseil release ships
// none).
#ifndef QUOTAD_COMMON_STATUS_MACROS_H_
#define QUOTAD_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace quotad {

// Storage and peer failures surface to callers as UNAVAILABLE (they choose
// fail-open or fail-closed); OK and UNAVAILABLE pass through unchanged.
inline absl::Status AsUnavailable(const absl::Status& s) {
  if (s.ok() || absl::IsUnavailable(s)) return s;
  return absl::UnavailableError(s.message());
}

}  // namespace quotad

#define QUOTAD_CONCAT_INNER_(a, b) a##b
#define QUOTAD_CONCAT_(a, b) QUOTAD_CONCAT_INNER_(a, b)

// Returns `expr` from the enclosing function if it is not OK.
#define QUOTAD_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    if (::absl::Status quotad_status_ = (expr);      \
        !quotad_status_.ok()) {                      \
      return quotad_status_;                         \
    }                                                \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status on error,
// otherwise moves the value into `lhs` (which may be a declaration).
#define QUOTAD_ASSIGN_OR_RETURN(lhs, rexpr) \
  QUOTAD_ASSIGN_OR_RETURN_IMPL_(QUOTAD_CONCAT_(quotad_statusor_, __LINE__), lhs, rexpr)

#define QUOTAD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) {                                     \
    return std::move(statusor).status();                    \
  }                                                         \
  lhs = std::move(statusor).value()

#endif  // QUOTAD_COMMON_STATUS_MACROS_H_
