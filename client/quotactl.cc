// quotactl: command-line client for quotad.
//
//   quotactl --target=127.0.0.1:50051 acquire --ip=192.0.2.7 --user-agent=ndt7-js/0.1
//   quotactl --target=... check  --ip=... [--json]
//   quotactl --target=... refund --request-id=...
//
// Admin commands talk to the node's admin listener (--target=HOST:ADMIN_PORT)
// with a bearer token (--admin-token-file):
//   override set|delete|list, ban, unban, usage, reset, policy show|reload,
//   cluster status, stats, audit.   "quotactl COMMAND --help" explains each.
//
// Flag names accept dashes or underscores. Exit status: 0 when the call
// succeeded (whatever the decision), 1 on RPC errors, 2 on usage errors.
// Commands live in one table so the admin commands slot in beside these.
#include <cstdio>
#include <fstream>
#include <optional>
#include <functional>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/quota_client.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/admin.grpc.pb.h"

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
ABSL_FLAG(std::string, admin_token_file, "", "file with the admin bearer token (admin commands)");
ABSL_FLAG(std::string, token_file, "",
          "file with a bearer token of the node's --callers_file (every command; admin commands "
          "use --admin-token-file instead when it is set)");
ABSL_FLAG(std::string, tls_ca_file, "", "PEM CA that signed the node's certificate (TLS on when set)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM client certificate (mTLS; with --tls_key_file)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, prefix, "", "address prefix (CIDR) to match, e.g. 203.0.113.0/24");
ABSL_FLAG(std::string, tier, "", "tier name (override set; filter for override list)");
ABSL_FLAG(int64_t, daily_limit, 0, "custom per-client daily limit for an override (0 = tier's)");
ABSL_FLAG(std::string, for, "", "how long an override or ban lasts, e.g. 24h (empty = permanent)");
ABSL_FLAG(std::string, reason, "", "free-text reason recorded with an override or ban");
ABSL_FLAG(std::string, id, "", "override id (override delete), e.g. cidr/203.0.113.0/24");
ABSL_FLAG(int32_t, limit, 0, "how many audit entries (default 100)");

namespace quotad {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRpcError = 1;
constexpr int kExitUsage = 2;

struct Command {
  std::string name;  // one or two words, e.g. "override set"
  std::string help;
  std::string flags;  // the flags it takes, for --help
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

TlsFiles TlsFromFlags() {
  return {absl::GetFlag(FLAGS_tls_cert_file), absl::GetFlag(FLAGS_tls_key_file),
          absl::GetFlag(FLAGS_tls_ca_file)};
}

std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  const TlsFiles tls = TlsFromFlags();
  return tls.enabled() ? MakeChannelCredentials(tls) : grpc::InsecureChannelCredentials();
}

// The first line of `path`, trimmed ("" for no path); nullopt if unreadable.
std::optional<std::string> ReadToken(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(token));
}

client::QuotaClient MakeClient() {
  client::ClientOptions options{absl::GetFlag(FLAGS_target), absl::GetFlag(FLAGS_timeout)};
  options.tls = TlsFromFlags();
  options.bearer_token = ReadToken(absl::GetFlag(FLAGS_token_file)).value_or("");
  return client::QuotaClient(client::MakeQuotaConnection(options));
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
            << (r.replayed() ? (r.refunded() ? "  (replayed; refunded since)" : "  (replayed)") : "")
            << "  node=" << r.node_id()
            << " region=" << r.region() << "\n";
  for (const v1::LimitStatus& l : r.limits()) {
    std::cout << "  " << l.name() << ": " << l.used() << "/" << l.limit() << " used, "
              << l.remaining() << " remaining";
    if (l.has_reset_time()) std::cout << ", frees at " << FormatTimestamp(l.reset_time());
    if (l.exceeded()) std::cout << "  [EXCEEDED]";
    std::cout << "\n";
  }
  if (r.has_retry_after()) std::cout << "  retry after: " << r.retry_after().seconds() << "s\n";
  if (r.has_next_request())
    std::cout << "  next request: " << FormatTimestamp(r.next_request()) << "\n";
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

// ---- admin commands ----

struct AdminCall {
  std::unique_ptr<v1::AdminService::Stub> stub;
  std::string token;
  // A fresh context with the deadline and the bearer token.
  std::unique_ptr<grpc::ClientContext> Context() const {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoMicroseconds(absl::GetFlag(FLAGS_timeout)));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }
};

absl::StatusOr<AdminCall> MakeAdmin() {
  AdminCall call;
  const bool admin_file = !absl::GetFlag(FLAGS_admin_token_file).empty();
  const std::string path =
      admin_file ? absl::GetFlag(FLAGS_admin_token_file) : absl::GetFlag(FLAGS_token_file);
  std::optional<std::string> token = ReadToken(path);
  if (!token) {
    return absl::InvalidArgumentError(
        absl::StrCat(admin_file ? "--admin-token-file" : "--token_file", ": cannot read ", path));
  }
  call.token = *token;
  call.stub = v1::AdminService::NewStub(grpc::CreateChannel(absl::GetFlag(FLAGS_target), Credentials()));
  return call;
}

int GrpcError(const grpc::Status& s) {
  return RpcError(rpc::FromGrpcStatus(s));
}

// Calls one admin RPC with the bearer token; prints the response as JSON with
// --json, otherwise with `print`.
template <typename Request, typename Response>
int CallAdmin(grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*, const Request&,
                                                             Response*),
              const Request& request, const std::function<void(const Response&)>& print) {
  auto admin = MakeAdmin();
  if (!admin.ok()) return Usage(std::string(admin.status().message()));
  Response response;
  auto ctx = admin->Context();
  if (grpc::Status s = ((*admin->stub).*method)(ctx.get(), request, &response); !s.ok()) {
    return GrpcError(s);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(response);
  } else {
    print(response);
  }
  return kExitOk;
}

std::string FormatTs(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return FormatTimestamp(ts);
}

// Exactly one of --ip, --prefix, --client-name, --integration-id, --user-agent.
absl::StatusOr<v1::Match> MatchFromFlags() {
  v1::Match m;
  int n = 0;
  if (!absl::GetFlag(FLAGS_ip).empty()) m.set_ip(absl::GetFlag(FLAGS_ip)), ++n;
  if (!absl::GetFlag(FLAGS_prefix).empty()) m.set_cidr(absl::GetFlag(FLAGS_prefix)), ++n;
  if (!absl::GetFlag(FLAGS_client_name).empty())
    m.set_client_name(absl::GetFlag(FLAGS_client_name)), ++n;
  if (!absl::GetFlag(FLAGS_integration_id).empty()) {
    m.set_integration_id(absl::GetFlag(FLAGS_integration_id));
    ++n;
  }
  if (!absl::GetFlag(FLAGS_user_agent).empty()) {
    m.set_user_agent_regex(absl::GetFlag(FLAGS_user_agent));
    ++n;
  }
  if (n != 1) {
    return absl::InvalidArgumentError(
        "give exactly one of --ip, --prefix, --client-name, --integration-id, --user-agent");
  }
  return m;
}

void PrintOverrides(const std::vector<v1::Override>& list) {
  std::cout << std::left << std::setw(36) << "ID" << std::setw(16) << "TIER" << std::setw(7)
            << "LIMIT" << std::setw(22) << "EXPIRES"
            << "REASON\n";
  for (const auto& o : list) {
    std::cout << std::setw(36) << o.id() << std::setw(16) << o.tier() << std::setw(7)
              << (o.daily_limit() > 0 ? std::to_string(o.daily_limit()) : "-") << std::setw(22)
              << (o.has_expires_at() ? FormatTs(o.expires_at()) : "never") << o.reason() << "\n";
  }
}

int SetOverride(const std::string& tier) {
  auto match = MatchFromFlags();
  if (!match.ok()) return Usage(std::string(match.status().message()));
  v1::SetOverrideRequest req;
  *req.mutable_match() = *match;
  req.set_tier(tier);
  req.set_daily_limit(absl::GetFlag(FLAGS_daily_limit));
  req.set_reason(absl::GetFlag(FLAGS_reason));
  if (const std::string d = absl::GetFlag(FLAGS_for); !d.empty()) {
    absl::Duration ttl;
    if (!absl::ParseDuration(d, &ttl)) return Usage("--for: not a duration (e.g. 24h, 90m)");
    const int64_t seconds = absl::ToInt64Seconds(ttl);
    req.mutable_ttl()->set_seconds(seconds);
    req.mutable_ttl()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(ttl - absl::Seconds(seconds))));
  }
  return CallAdmin<v1::SetOverrideRequest, v1::Override>(
      &v1::AdminService::Stub::SetOverride, req,
      [](const v1::Override& o) { PrintOverrides({o}); });
}

int DeleteOverride(const std::string& id) {
  v1::DeleteOverrideRequest req;
  req.set_id(id);
  return CallAdmin<v1::DeleteOverrideRequest, v1::DeleteOverrideResponse>(
      &v1::AdminService::Stub::DeleteOverride, req,
      [&](const v1::DeleteOverrideResponse&) { std::cout << "deleted " << id << "\n"; });
}

int ListOverrides(const std::string& tier) {
  v1::ListOverridesRequest req;
  req.set_tier(tier);
  return CallAdmin<v1::ListOverridesRequest, v1::ListOverridesResponse>(
      &v1::AdminService::Stub::ListOverrides, req, [](const v1::ListOverridesResponse& r) {
        PrintOverrides({r.overrides().begin(), r.overrides().end()});
      });
}

int Unban() {
  auto match = MatchFromFlags();
  if (!match.ok()) return Usage(std::string(match.status().message()));
  v1::DeleteOverrideRequest req;
  *req.mutable_match() = *match;  // the server derives the canonical id
  return CallAdmin<v1::DeleteOverrideRequest, v1::DeleteOverrideResponse>(
      &v1::AdminService::Stub::DeleteOverride, req,
      [](const v1::DeleteOverrideResponse&) { std::cout << "ban lifted\n"; });
}

v1::UsageRequest UsageFromFlags() {
  v1::UsageRequest req;
  req.set_ip(absl::GetFlag(FLAGS_ip));
  req.set_user_agent(absl::GetFlag(FLAGS_user_agent));
  req.set_client_name(absl::GetFlag(FLAGS_client_name));
  req.set_integration_id(absl::GetFlag(FLAGS_integration_id));
  req.set_integration_tier(absl::GetFlag(FLAGS_integration_tier));
  return req;
}

int RunUsage() {
  if (absl::GetFlag(FLAGS_ip).empty()) return Usage("--ip is required");
  return CallAdmin<v1::UsageRequest, v1::UsageResponse>(
      &v1::AdminService::Stub::GetUsage, UsageFromFlags(), [](const v1::UsageResponse& resp) {
        std::cout << "tier: " << resp.tier() << " (via " << resp.tier_source()
                  << (resp.override_id().empty() ? "" : " " + resp.override_id())
                  << (resp.rule().empty() ? "" : " " + resp.rule()) << ")\n";
        std::cout << std::left << std::setw(20) << "LIMIT" << std::setw(8) << "USED" << std::setw(8)
                  << "OF" << std::setw(11) << "REMAINING" << std::setw(22) << "FREES AT"
                  << "BY REGION\n";
        for (const auto& l : resp.limits()) {
          std::string regions;
          for (const auto& r : l.regions())
            absl::StrAppend(&regions, r.region(), "=", r.used(), " ");
          std::cout << std::setw(20) << l.status().name() << std::setw(8) << l.status().used()
                    << std::setw(8) << l.status().limit() << std::setw(11) << l.status().remaining()
                    << std::setw(22) << FormatTs(l.status().reset_time()) << regions << "\n";
        }
        std::cout << "decision now: ";
        PrintDecision(resp.decision());
      });
}

int RunReset() {
  if (absl::GetFlag(FLAGS_ip).empty()) return Usage("--ip is required");
  return CallAdmin<v1::UsageRequest, v1::ResetUsageResponse>(
      &v1::AdminService::Stub::ResetUsage, UsageFromFlags(), [](const v1::ResetUsageResponse& r) {
        std::cout << "cleared " << r.cleared()
                  << " units from the client's counters (each test counts once per row)\n";
      });
}

int RunPolicy(bool reload) {
  auto print = [reload](const v1::GetPolicyResponse& resp) {
    if (reload) std::cout << "# reloaded\n";
    std::cout << "# " << resp.path() << " (loaded " << FormatTs(resp.loaded_at()) << ")\n"
              << resp.textproto();
  };
  if (reload) {
    return CallAdmin<v1::ReloadPolicyRequest, v1::GetPolicyResponse>(
        &v1::AdminService::Stub::ReloadPolicy, v1::ReloadPolicyRequest(), print);
  }
  return CallAdmin<v1::GetPolicyRequest, v1::GetPolicyResponse>(&v1::AdminService::Stub::GetPolicy,
                                                                v1::GetPolicyRequest(), print);
}

int RunClusterStatus() {
  return CallAdmin<v1::ClusterStatusRequest, v1::ClusterStatusResponse>(
      &v1::AdminService::Stub::ClusterStatus, v1::ClusterStatusRequest(),
      [](const v1::ClusterStatusResponse& resp) {
        std::cout << std::left << std::setw(10) << "NODE" << std::setw(16) << "REGION"
                  << std::setw(6) << "UP" << std::setw(22) << "LAST CONTACT" << std::setw(10)
                  << "LAG" << std::setw(9) << "VERSION"
                  << "PENDING/ERRORS\n";
        auto row = [](const v1::NodeStatus& n, bool self) {
          std::cout << std::setw(10) << (n.node_id() + (self ? "*" : "")) << std::setw(16)
                    << n.region() << std::setw(6) << (n.up() ? "up" : "DOWN") << std::setw(22)
                    << FormatTs(n.last_contact()) << std::setw(10)
                    << absl::StrCat(n.replication_lag().seconds() * 1000 +
                                        n.replication_lag().nanos() / 1000000,
                                    "ms")
                    << std::setw(9) << n.version() << n.pending_slots() << "/" << n.errors()
                    << "\n";
          if (!n.last_error().empty()) {
            std::cout << "          last error: " << n.last_error() << "\n";
          }
          if (self) {
            std::cout << "          identity key " << n.key_fingerprint() << ", policy "
                      << n.policy_fingerprint() << "\n";
          }
          if (n.key_mismatch()) {
            std::cout << "          IDENTITY KEY DIFFERS: its gossip is refused (same "
                         "--hash_key_file on every node)\n";
          }
          if (n.policy_differs()) {
            std::cout << "          policy differs: " << n.policy_fingerprint() << "\n";
          }
        };
        row(resp.self(), true);
        for (const auto& p : resp.peers()) row(p, false);
      });
}

int RunStats() {
  return CallAdmin<v1::GetStatsRequest, v1::StatsResponse>(
      &v1::AdminService::Stub::GetStats, v1::GetStatsRequest(), [](const v1::StatsResponse& resp) {
        std::cout << "node " << resp.node_id() << " (" << resp.region() << ")\n\n";
        std::cout << std::left << std::setw(16) << "TIER" << std::setw(28) << "REASON"
                  << std::setw(8) << "SHADOW" << std::setw(10) << "1m" << std::setw(10) << "1h"
                  << "1d\n";
        for (const auto& d : resp.decisions()) {
          std::cout << std::setw(16) << d.tier() << std::setw(28) << v1::Reason_Name(d.reason())
                    << std::setw(8) << (d.shadow() ? "yes" : "") << std::setw(10) << d.last_minute()
                    << std::setw(10) << d.last_hour() << d.last_day() << "\n";
        }
        std::cout << "\nclients by tests used in the last 24h:\n";
        for (const auto& b : resp.usage_distribution()) {
          std::cout << "  " << std::setw(6) << b.tests() << b.clients() << "\n";
        }
        std::cout << "\ntop integrations by tests (tests/denials):\n";
        for (const auto& i : resp.top_by_tests()) {
          std::cout << "  " << std::setw(30) << i.integration() << i.tests() << "/" << i.denials()
                    << "\n";
        }
        std::cout << "\ntop integrations by denials:\n";
        for (const auto& i : resp.top_by_denials()) {
          std::cout << "  " << std::setw(30) << i.integration() << i.denials() << "\n";
        }
      });
}

int RunAudit() {
  v1::ListAuditRequest req;
  req.set_limit(static_cast<uint32_t>(std::max(0, absl::GetFlag(FLAGS_limit))));
  return CallAdmin<v1::ListAuditRequest, v1::ListAuditResponse>(
      &v1::AdminService::Stub::ListAudit, req, [](const v1::ListAuditResponse& resp) {
        std::cout << std::left << std::setw(22) << "TIME" << std::setw(16) << "METHOD"
                  << std::setw(5) << "OK" << std::setw(40) << "TARGET"
                  << "ACTOR\n";
        for (const auto& e : resp.entries()) {
          std::cout << std::setw(22) << FormatTs(e.time()) << std::setw(16) << e.method()
                    << std::setw(5) << (e.ok() ? "ok" : "FAIL") << std::setw(40) << e.target()
                    << e.actor() << "\n";
        }
      });
}

constexpr char kMatchFlags[] =
    "one of --ip, --prefix=CIDR, --client-name, --integration-id, --user-agent=REGEX";

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
      {"stats", "decisions per tier and reason, usage distribution, top integrations", "--json",
       [] { return RunStats(); }},
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
}  // namespace quotad

int main(int argc, char** argv) {
  using quotad::Commands;
  std::string usage =
      "quotactl [--target=HOST:PORT] COMMAND [flags]   (admin commands: --target=HOST:ADMIN_PORT "
      "--admin-token-file=F)\n\nCommands:\n";
  for (const auto& c : Commands()) absl::StrAppend(&usage, "  ", c.name, "\t", c.help, "\n");
  absl::StrAppend(&usage, "\n'quotactl COMMAND --help' shows a command's flags.");
  absl::SetProgramUsageMessage(usage);

  std::vector<std::string> args = quotad::NormalizeFlagNames(argc, argv);
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
  if (rest.size() < 2) return quotad::Usage("missing command");
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
    return quotad::Usage(absl::StrCat("unexpected argument '", rest[consumed], "'"));
  }
  if (!quotad::ReadToken(absl::GetFlag(FLAGS_token_file))) {
    return quotad::Usage(absl::StrCat("--token_file: cannot read ", absl::GetFlag(FLAGS_token_file)));
  }
  if (const quotad::TlsFiles tls = quotad::TlsFromFlags(); tls.enabled()) {
    if (absl::Status s = quotad::CheckClientTlsFiles(tls); !s.ok()) {
      return quotad::Usage(std::string(s.message()));
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
  return quotad::Usage(absl::StrCat("unknown command '", name, "'"));
}
