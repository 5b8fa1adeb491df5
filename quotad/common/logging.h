// Minimal leveled logging to stderr (Debian's Abseil predates absl/log).
//
//   QUOTAD_LOG(INFO) << "listening on " << addr;
//
// Privacy rule: raw client identities (IP, User-Agent) may only be logged at
// DEBUG; everything at INFO and above uses keyed hashes.
#ifndef QUOTAD_COMMON_LOGGING_H_
#define QUOTAD_COMMON_LOGGING_H_

#include <sstream>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace quotad {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" or "error".
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);
// Sets the minimum level written. Thread-safe.
void SetMinLogLevel(LogLevel level);
bool LogLevelEnabled(LogLevel level);

namespace internal {
// Collects one log line and writes it atomically to stderr on destruction.
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
// Turns the stream expression into void so both ?: branches match.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace internal

}  // namespace quotad

#define QUOTAD_LOG_LEVEL_DEBUG ::quotad::LogLevel::kDebug
#define QUOTAD_LOG_LEVEL_INFO ::quotad::LogLevel::kInfo
#define QUOTAD_LOG_LEVEL_WARNING ::quotad::LogLevel::kWarning
#define QUOTAD_LOG_LEVEL_ERROR ::quotad::LogLevel::kError

// Safe inside an unbraced if/else: expands to one expression.
#define QUOTAD_LOG(severity)                                                    \
  !::quotad::LogLevelEnabled(QUOTAD_LOG_LEVEL_##severity)                       \
      ? (void)0                                                                 \
      : ::quotad::internal::LogVoidify() &                                      \
            ::quotad::internal::LogMessage(QUOTAD_LOG_LEVEL_##severity, __FILE__, \
                                           __LINE__)                            \
                .stream()

#endif  // QUOTAD_COMMON_LOGGING_H_
