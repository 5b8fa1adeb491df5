#include "client/quotactl_admin.h"

#include <chrono>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/quotactl_common.h"
#include "client/quotactl_report.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/admin.grpc.pb.h"

namespace quotad::quotactl {
namespace {

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
  call.stub =
      v1::AdminService::NewStub(grpc::CreateChannel(absl::GetFlag(FLAGS_target), Credentials()));
  return call;
}

int GrpcError(const grpc::Status& s) { return RpcError(rpc::FromGrpcStatus(s)); }

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

}  // namespace

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

static v1::UsageRequest UsageFromFlags() {
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

int RunReport() {
  v1::UsageReportRequest req;
  req.set_integration_id(absl::GetFlag(FLAGS_integration).empty()
                             ? absl::GetFlag(FLAGS_integration_id)
                             : absl::GetFlag(FLAGS_integration));
  req.set_tier(absl::GetFlag(FLAGS_tier));
  // Default range: the last 30 UTC days, today included.
  std::string to = absl::GetFlag(FLAGS_to);
  if (to.empty()) to = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  req.set_to(to);
  if (absl::GetFlag(FLAGS_from).empty()) {
    absl::Time to;
    std::string err;
    if (!absl::ParseTime("%Y-%m-%d", req.to(), absl::UTCTimeZone(), &to, &err)) {
      return Usage("--to: not a UTC day YYYY-MM-DD");
    }
    req.set_from(absl::FormatTime("%Y-%m-%d", to - absl::Hours(24 * 29), absl::UTCTimeZone()));
  } else {
    req.set_from(absl::GetFlag(FLAGS_from));
  }
  return CallAdmin<v1::UsageReportRequest, v1::UsageReport>(&v1::AdminService::Stub::GetUsageReport,
                                                            req, [](const v1::UsageReport& resp) {
                                                              if (absl::GetFlag(FLAGS_csv)) {
                                                                PrintReportCsv(resp, std::cout);
                                                              } else {
                                                                PrintReportTable(resp, std::cout);
                                                              }
                                                            });
}

int RunStats() {
  v1::GetStatsRequest req;
  req.set_cluster(absl::GetFlag(FLAGS_cluster));
  return CallAdmin<v1::GetStatsRequest, v1::StatsResponse>(
      &v1::AdminService::Stub::GetStats, req, [](const v1::StatsResponse& resp) {
        std::cout << "node " << resp.node_id() << " (" << resp.region() << ")\n\n";
        if (resp.cluster()) {
          std::cout << "cluster: " << resp.nodes_size() << " nodes, " << resp.unreachable_nodes()
                    << " unreachable; figures below merged over the reachable ones\n"
                    << std::left << std::setw(20) << "NODE" << std::setw(16) << "REGION"
                    << std::setw(14) << "DECISIONS/1h"
                    << "ACTIVE CLIENTS\n";
          for (const auto& n : resp.nodes()) {
            int64_t hour = 0;
            for (const auto& d : n.stats().decisions()) hour += d.last_hour();
            std::cout << std::setw(20) << n.node_id() << std::setw(16) << n.region();
            if (n.reachable()) {
              std::cout << std::setw(14) << hour << n.stats().active_clients() << "\n";
            } else {
              std::cout << "UNREACHABLE: " << n.error() << "\n";
            }
          }
          std::cout << "\n";
        }
        std::cout << std::left << std::setw(16) << "TIER" << std::setw(28) << "REASON"
                  << std::setw(8) << "SHADOW" << std::setw(10) << "1m" << std::setw(10) << "1h"
                  << "1d\n";
        for (const auto& d : resp.decisions()) {
          std::cout << std::setw(16) << d.tier() << std::setw(28) << v1::Reason_Name(d.reason())
                    << std::setw(8) << (d.shadow() ? "yes" : "") << std::setw(10) << d.last_minute()
                    << std::setw(10) << d.last_hour() << d.last_day() << "\n";
        }
        std::cout << "\n"
                  << resp.active_clients() << " clients active in the last 24h; by tests used:\n";
        for (const auto& b : resp.usage_distribution()) {
          std::cout << "  " << std::setw(6) << b.tests() << b.clients() << "\n";
        }
        std::cout << "\nat or above 80% of a limit (latest decision, last hour):\n";
        for (const auto& n : resp.near_limit()) {
          std::cout << "  " << std::setw(16) << n.tier() << std::setw(13) << n.subject()
                    << n.count() << "\n";
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

}  // namespace quotad::quotactl
