// quotactl: command-line client for quotad.
//
//   quotactl --target=127.0.0.1:50051 acquire --ip=192.0.2.7 --user-agent=ndt7-js/0.1
//   quotactl --target=... check  --ip=... [--json]
//   quotactl --target=... refund --request-id=...
//
// Flag names accept dashes or underscores. Exit status: 0 when the call
// succeeded (whatever the decision), 1 on RPC errors, 2 on usage errors.
// Commands live in one table so the admin commands slot in beside these.
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/quota_client.h"
#include "google/protobuf/util/json_util.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "quotad address host:port");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5), "per-call deadline");
ABSL_FLAG(bool, json, false, "print the response as one JSON object (proto field names)");
ABSL_FLAG(std::string, ip, "", "client IP address (IPv4 or IPv6)");
ABSL_FLAG(std::string, user_agent, "", "client User-Agent");
ABSL_FLAG(std::string, client_name, "", "client_name parameter");
ABSL_FLAG(std::string, integration_id, "", "registered integration id");
ABSL_FLAG(std::string, integration_tier, "", "registered integration tier (name or alias)");
ABSL_FLAG(std::string, service, "", "measurement service, e.g. ndt/ndt7");
ABSL_FLAG(int64_t, cost, 0, "units to charge (0 = server default of 1)");
ABSL_FLAG(std::string, request_id, "", "idempotency key");

namespace quotad {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRpcError = 1;
constexpr int kExitUsage = 2;

struct Command {
  std::string name;
  std::string help;
  std::function<int()> run;
};

int Usage(const std::string& message) {
  std::fprintf(stderr, "quotactl: %s\nRun 'quotactl --help' for usage.\n", message.c_str());
  return kExitUsage;
}

int RpcError(const absl::Status& status) {
  std::fprintf(stderr, "quotactl: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return kExitRpcError;
}

client::QuotaClient MakeClient() {
  return client::QuotaClient(client::MakeQuotaConnection(
      {absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_timeout)}));
}

void PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (auto s = google::protobuf::util::MessageToJsonString(message, &out, options); !s.ok()) {
    out = "{}";
  }
  std::cout << out << std::endl;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

void PrintDecision(const v1::AcquireResponse& r) {
  std::string verdict = r.allowed() ? "ALLOWED" : "DENIED";
  if (r.shadow_denied()) verdict = "ALLOWED (shadow mode: would deny)";
  std::cout << verdict << "  tier=" << r.tier() << "  reason=" << v1::Reason_Name(r.reason())
            << (r.replayed() ? "  (replayed)" : "") << "  node=" << r.node_id()
            << " region=" << r.region() << "\n";
  for (const v1::LimitStatus& l : r.limits()) {
    std::cout << "  " << l.name() << ": " << l.used() << "/" << l.limit() << " used, "
              << l.remaining() << " remaining";
    if (l.has_reset_time()) std::cout << ", frees at " << FormatTimestamp(l.reset_time());
    if (l.exceeded()) std::cout << "  [EXCEEDED]";
    std::cout << "\n";
  }
  if (r.has_retry_after()) std::cout << "  retry after: " << r.retry_after().seconds() << "s\n";
  if (r.has_next_request()) std::cout << "  next request: " << FormatTimestamp(r.next_request()) << "\n";
}

v1::AcquireRequest RequestFromFlags() {
  v1::AcquireRequest req;
  req.set_ip(absl::GetFlag(FLAGS_ip));
  req.set_user_agent(absl::GetFlag(FLAGS_user_agent));
  req.set_client_name(absl::GetFlag(FLAGS_client_name));
  req.set_integration_id(absl::GetFlag(FLAGS_integration_id));
  req.set_integration_tier(absl::GetFlag(FLAGS_integration_tier));
  req.set_service(absl::GetFlag(FLAGS_service));
  if (absl::GetFlag(FLAGS_cost) != 0) req.set_cost(absl::GetFlag(FLAGS_cost));
  req.set_request_id(absl::GetFlag(FLAGS_request_id));
  return req;
}

int RunDecision(bool charge) {
  if (absl::GetFlag(FLAGS_ip).empty()) return Usage("--ip is required");
  auto client = MakeClient();
  const v1::AcquireRequest req = RequestFromFlags();
  auto resp = charge ? client.Acquire(req) : client.Check(req);
  if (!resp.ok()) return RpcError(resp.status());
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(*resp);
  } else {
    PrintDecision(*resp);
  }
  return kExitOk;
}

int RunRefund() {
  if (absl::GetFlag(FLAGS_request_id).empty()) return Usage("--request-id is required");
  auto client = MakeClient();
  v1::RefundRequest req;
  req.set_request_id(absl::GetFlag(FLAGS_request_id));
  auto resp = client.Refund(req);
  if (!resp.ok()) return RpcError(resp.status());
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(*resp);
  } else if (resp->refunded()) {
    std::cout << "refunded " << resp->refunded_cost() << "\n";
  } else {
    std::cout << "nothing to refund (denied, already refunded, or expired)\n";
  }
  return kExitOk;
}

std::vector<Command> Commands() {
  return {
      {"acquire", "decide and charge one test (--ip required)", [] { return RunDecision(true); }},
      {"check", "decide without charging (--ip required)", [] { return RunDecision(false); }},
      {"refund", "give back an Acquire by --request-id", [] { return RunRefund(); }},
  };
}

// absl flags want underscores; accept --user-agent as well as --user_agent.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> out;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      const size_t end = std::min(arg.find('='), arg.size());
      for (size_t j = 2; j < end; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  using quotad::Commands;
  std::string usage = "quotactl [--target=HOST:PORT] COMMAND [flags]\n\nCommands:\n";
  for (const auto& c : Commands()) absl::StrAppend(&usage, "  ", c.name, "\t", c.help, "\n");
  absl::SetProgramUsageMessage(usage);

  std::vector<std::string> args = quotad::NormalizeFlagNames(argc, argv);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(cargs.size()), cargs.data());
  if (rest.size() < 2) return quotad::Usage("missing command");
  if (rest.size() > 2) return quotad::Usage(absl::StrCat("unexpected argument '", rest[2], "'"));
  const std::string name = rest[1];
  for (const auto& c : Commands()) {
    if (c.name == name) return c.run();
  }
  return quotad::Usage(absl::StrCat("unknown command '", name, "'"));
}
