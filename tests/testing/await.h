// The one bounded wait of the test suite: poll until a condition holds or a
// deadline passes. A wait never proves that something did NOT happen; it
// waits for something that must happen, and fails with a message naming
// what it waited for and what it saw last.
#ifndef QUOTAD_TESTS_TESTING_AWAIT_H_
#define QUOTAD_TESTS_TESTING_AWAIT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace quotad::testing {

// Calls `probe` every `poll` until it returns OK (then returns OK) or
// `timeout` has passed (then DeadlineExceeded: "<what>: not within <timeout>;
// last: <the probe's last message>"). The probe's non-OK message describes
// the state it saw.
absl::Status Await(absl::string_view what, absl::Duration timeout,
                   const std::function<absl::Status()>& probe,
                   absl::Duration poll = absl::Milliseconds(10));

// The same for a plain condition (the last state is not described).
absl::Status AwaitTrue(absl::string_view what, absl::Duration timeout,
                       const std::function<bool()>& condition,
                       absl::Duration poll = absl::Milliseconds(10));

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_AWAIT_H_
