#include "tests/testing/await.h"

#include "absl/strings/str_cat.h"

namespace quotad::testing {

absl::Status Await(absl::string_view what, absl::Duration timeout,
                   const std::function<absl::Status()>& probe, absl::Duration poll) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::UnknownError("never probed");
  for (;;) {
    last = probe();
    if (last.ok()) return last;
    if (absl::Now() >= deadline) break;
    absl::SleepFor(std::min(poll, deadline - absl::Now()));
  }
  return absl::DeadlineExceededError(absl::StrCat(what, ": not within ",
                                                  absl::FormatDuration(timeout),
                                                  "; last: ", last.message()));
}

absl::Status AwaitTrue(absl::string_view what, absl::Duration timeout,
                       const std::function<bool()>& condition, absl::Duration poll) {
  return Await(
      what, timeout,
      [&] { return condition() ? absl::OkStatus() : absl::FailedPreconditionError("false"); },
      poll);
}

}  // namespace quotad::testing
