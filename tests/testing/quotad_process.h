// Runs the real quotad binary as a child process on 127.0.0.1 with a free
// port, for end-to-end tests. Also runs quotactl and captures its output.
#ifndef QUOTAD_TESTS_TESTING_QUOTAD_PROCESS_H_
#define QUOTAD_TESTS_TESTING_QUOTAD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace quotad::testing {

class QuotadProcess {
 public:
  // `args` are extra flags; --listen, --port_file and (unless given)
  // --policy are supplied. stderr goes to `log_path`.
  QuotadProcess(std::string data_dir, std::string log_path, std::vector<std::string> args = {});
  ~QuotadProcess();  // SIGKILLs the child if still running

  // Starts and waits until the port file appears and the health service
  // answers SERVING. Errors: the child's exit or a timeout.
  absl::Status Start(absl::Duration timeout = absl::Seconds(20));
  // Sends `sig` and, for terminating signals, waits; returns the exit code
  // (or 128+signal).
  int StopWith(int sig, absl::Duration timeout = absl::Seconds(20));
  void Signal(int sig);
  bool Running();

  int port() const { return port_; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string data_dir_;
  std::string log_path_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int port_ = 0;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `binary` with `args` and waits. No shell is involved.
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args);

// Runs quotad directly (not as a server) and waits, e.g. for bad-flag tests.
CommandResult RunQuotadToExit(const std::vector<std::string>& args,
                              absl::Duration timeout = absl::Seconds(20));

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_QUOTAD_PROCESS_H_
