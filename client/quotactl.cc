// quotactl: command-line client for quotad.
//
//   quotactl --target=127.0.0.1:50051 acquire --ip=192.0.2.7 --user-agent=ndt7-js/0.1
//   quotactl --target=... check  --ip=... [--json]
//   quotactl --target=... refund --request-id=...
//
// Admin commands talk to the node's admin listener (--target=HOST:ADMIN_PORT)
// with a bearer token (--admin-token-file):
//   override set|delete|list, ban, unban, usage, reset, policy show|reload,
//   cluster status, stats, report, audit.   "quotactl COMMAND --help" explains each.
//
// Flag names accept dashes or underscores. Exit status: 0 when the call
// succeeded (whatever the decision), 1 on RPC errors, 2 on usage errors.
// Commands live in one table (Commands(), below): the quota commands are
// here, the admin commands in quotactl_admin.cc, shared flags and helpers in
// quotactl_common.h.
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "client/quota_client.h"
#include "client/quotactl_admin.h"
#include "client/quotactl_common.h"

namespace quotad::quotactl {
namespace {

struct Command {
  std::string name;  // one or two words, e.g. "override set"
  std::string help;
  std::string flags;  // the flags it takes, for --help
  std::function<int()> run;
};

client::QuotaClient MakeClient() {
  client::ClientOptions options{absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_timeout)};
  options.tls = TlsFromFlags();
  options.bearer_token = ReadToken(absl::GetFlag(FLAGS_token_file)).value_or("");
  return client::QuotaClient(client::MakeQuotaConnection(options));
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
    std::cout << "nothing to refund (already refunded, or its hours left the retention window)\n";
  }
  return kExitOk;
}

std::vector<Command> Commands() {
  return {
      {"acquire", "decide and charge one test",
       "--ip (required), --user-agent, --client-name, --integration-id, --integration-tier, "
       "--service, --cost, --request-id, --json",
       [] { return RunDecision(true); }},
      {"check", "decide without charging", "same as acquire", [] { return RunDecision(false); }},
      {"refund", "give back an Acquire", "--request-id (required), --json",
       [] { return RunRefund(); }},
      {"override set", "assign a tier (and optional custom limit) to clients",
       absl::StrCat(kMatchFlags, "; --tier (required), --daily-limit, --for=DURATION, --reason"),
       [] { return SetOverride(absl::GetFlag(FLAGS_tier)); }},
      {"override delete", "remove an override by id", "--id (from override list)",
       [] {
         if (absl::GetFlag(FLAGS_id).empty()) return Usage("--id is required");
         return DeleteOverride(absl::GetFlag(FLAGS_id));
       }},
      {"override list", "list live overrides and bans", "--tier (filter), --json",
       [] { return ListOverrides(absl::GetFlag(FLAGS_tier)); }},
      {"ban", "ban clients, temporarily (--for) or for good",
       absl::StrCat(kMatchFlags, "; --for=DURATION, --reason"),
       [] { return SetOverride("banned"); }},
      {"unban", "lift a ban", kMatchFlags, [] { return Unban(); }},
      {"usage", "why is this client refused? limits, usage per region, decision",
       "--ip (required), --user-agent, --client-name, --integration-id, --integration-tier, --json",
       [] { return RunUsage(); }},
      {"reset", "clear a client's daily counter in every region (audited)",
       "--ip (required), --user-agent, --client-name, --integration-id", [] { return RunReset(); }},
      {"policy show", "print the serving policy", "--json", [] { return RunPolicy(false); }},
      {"policy reload", "re-read the policy file (rejected with line and field if invalid)", "",
       [] { return RunPolicy(true); }},
      {"cluster status", "this node and each peer: region, up/down, lag, version", "--json",
       [] { return RunClusterStatus(); }},
      {"stats",
       "decisions per tier and reason, usage distribution, near-limit counts, top integrations",
       "[--cluster] --json", [] { return RunStats(); }},
      {"report", "units charged per UTC day to an integration or a tier, per region (billing)",
       "--integration=ID or --tier=NAME; --from, --to (YYYY-MM-DD, default the last 30 days), "
       "--csv or --json",
       [] { return RunReport(); }},
      {"audit", "recent admin changes, newest first", "--limit, --json", [] { return RunAudit(); }},
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
}  // namespace quotad::quotactl

int main(int argc, char** argv) {
  using quotad::quotactl::Commands;
  std::string usage =
      "quotactl [--target=HOST:PORT] COMMAND [flags]   (admin commands: --target=HOST:ADMIN_PORT "
      "--admin-token-file=F)\n\nCommands:\n";
  for (const auto& c : Commands()) absl::StrAppend(&usage, "  ", c.name, "\t", c.help, "\n");
  absl::StrAppend(&usage, "\n'quotactl COMMAND --help' shows a command's flags.");
  absl::SetProgramUsageMessage(usage);

  std::vector<std::string> args = quotad::quotactl::NormalizeFlagNames(argc, argv);
  // "quotactl COMMAND --help": the command's own help instead of every flag.
  bool command_help = false;
  std::vector<char*> cargs;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--help" || args[i] == "-h") && i > 1 && args[1].rfind("--", 0) != 0) {
      command_help = true;
      continue;
    }
    cargs.push_back(args[i].data());
  }
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(cargs.size()), cargs.data());
  if (rest.size() < 2) return quotad::quotactl::Usage("missing command");
  std::string name = rest[1];
  size_t consumed = 2;
  if (rest.size() >= 3) {
    const std::string two = absl::StrCat(rest[1], " ", rest[2]);
    for (const auto& c : Commands()) {
      if (c.name == two) {
        name = two;
        consumed = 3;
      }
    }
  }
  if (rest.size() > consumed) {
    return quotad::quotactl::Usage(absl::StrCat("unexpected argument '", rest[consumed], "'"));
  }
  if (!quotad::quotactl::ReadToken(absl::GetFlag(FLAGS_token_file))) {
    return quotad::quotactl::Usage(
        absl::StrCat("--token_file: cannot read ", absl::GetFlag(FLAGS_token_file)));
  }
  if (const quotad::TlsFiles tls = quotad::quotactl::TlsFromFlags(); tls.enabled()) {
    if (absl::Status s = quotad::CheckClientTlsFiles(tls); !s.ok()) {
      return quotad::quotactl::Usage(std::string(s.message()));
    }
  }
  for (const auto& c : Commands()) {
    if (c.name != name) continue;
    if (command_help) {
      std::cout << "quotactl " << c.name << ": " << c.help
                << "\n  flags: " << (c.flags.empty() ? "none" : c.flags) << "\n";
      return 0;
    }
    return c.run();
  }
  return quotad::quotactl::Usage(absl::StrCat("unknown command '", name, "'"));
}
