#include "tests/testing/quotad_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "grpcpp/grpcpp.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/temp_dir.h"

namespace quotad::testing {
namespace {

std::vector<char*> Argv(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool WaitFor(pid_t pid, absl::Duration timeout, int* code) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      *code = DecodeWait(status);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

QuotadProcess::QuotadProcess(std::string data_dir, std::string log_path,
                             std::vector<std::string> args)
    : data_dir_(std::move(data_dir)), log_path_(std::move(log_path)), args_(std::move(args)) {}

QuotadProcess::~QuotadProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

absl::Status QuotadProcess::Start(absl::Duration timeout) {
  const std::string port_file = absl::StrCat(data_dir_, ".port");
  const std::string admin_port_file = absl::StrCat(data_dir_, ".admin_port");
  const std::string peer_port_file = absl::StrCat(data_dir_, ".peer_port");
  ::unlink(port_file.c_str());
  ::unlink(admin_port_file.c_str());
  ::unlink(peer_port_file.c_str());
  std::vector<std::string> args = {"--listen=127.0.0.1:0", "--port_file=" + port_file,
                                   "--admin_listen=127.0.0.1:0",
                                   "--admin_port_file=" + admin_port_file,
                                   "--peer_listen=127.0.0.1:0",
                                   "--peer_port_file=" + peer_port_file,
                                   "--data_dir=" + data_dir_, "--node_id=test-node",
                                   "--region=test"};
  bool has_policy = false;
  for (const auto& a : args_) has_policy |= a.rfind("--policy=", 0) == 0;
  if (!has_policy) args.push_back(absl::StrCat("--policy=", QUOTAD_SOURCE_DIR, "/deploy/policy/aup.textproto"));
  args.insert(args.end(), args_.begin(), args_.end());
  const std::string binary = QUOTAD_BINARY;
  auto argv = Argv(binary, args);
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
    }
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int code;
    if (WaitFor(pid_, absl::Milliseconds(20), &code)) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("quotad exited with ", code, ": ", ReadFile(log_path_)));
    }
    std::string text = ReadFile(port_file);
    int port = 0;
    if (!text.empty() && absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) {
      port_ = port;
      break;
    }
  }
  if (port_ == 0) return absl::DeadlineExceededError("quotad did not write its port file");
  // Written before the quota port file; 0 when the node has no such listener.
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(admin_port_file)), &admin_port_)) {
    admin_port_ = 0;
  }
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(peer_port_file)), &peer_port_)) {
    peer_port_ = 0;
  }
  while (absl::Now() < deadline) {
    if (auto serving = Health(); serving.ok() && *serving) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("quotad never reported SERVING");
}

std::shared_ptr<grpc::ChannelCredentials> QuotadProcess::ClientCredentials() const {
  return client_tls_.enabled() ? MakeChannelCredentials(client_tls_)
                               : grpc::InsecureChannelCredentials();
}

absl::Status MakeCertificates(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> args = {QUOTAD_SOURCE_DIR "/deploy/tls/make-certs.sh", dir};
  args.insert(args.end(), names.begin(), names.end());
  CommandResult r = RunCommand("/bin/bash", args);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("make-certs.sh failed: ", r.err));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> QuotadProcess::Health() const {
  auto channel = grpc::CreateChannel(target(), ClientCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  if (grpc::Status s = health->Check(&ctx, req, &resp); !s.ok()) {
    return absl::UnavailableError(absl::StrCat("health check: ", s.error_message()));
  }
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

void QuotadProcess::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

bool QuotadProcess::Running() {
  if (pid_ <= 0) return false;
  int code;
  if (WaitFor(pid_, absl::ZeroDuration(), &code)) {
    pid_ = -1;
    return false;
  }
  return true;
}

int QuotadProcess::StopWith(int sig, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int code = -1;
  if (!WaitFor(pid_, timeout, &code)) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    code = -2;
  }
  pid_ = -1;
  return code;
}

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args) {
  TempDir tmp;
  const std::string out_path = tmp.Sub("out");
  const std::string err_path = tmp.Sub("err");
  auto argv = Argv(binary, args);
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {DecodeWait(status), ReadFile(out_path), ReadFile(err_path)};
}

CommandResult RunQuotadToExit(const std::vector<std::string>& args, absl::Duration timeout) {
  // quotad that starts successfully would serve forever; callers pass
  // arguments that must fail, and we bound the wait regardless.
  TempDir tmp;
  const std::string err_path = tmp.Sub("err");
  const std::string binary = QUOTAD_BINARY;
  auto argv = Argv(binary, args);
  pid_t pid = ::fork();
  if (pid == 0) {
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(err, STDERR_FILENO);
    ::dup2(err, STDOUT_FILENO);
    ::execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int code = -1;
  if (!WaitFor(pid, timeout, &code)) {
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    code = -2;
  }
  return {code, "", ReadFile(err_path)};
}

}  // namespace quotad::testing
