#include "client/quotactl_common.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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
ABSL_FLAG(std::string, admin_token_file, "", "file with the admin bearer token (admin commands)");
ABSL_FLAG(std::string, token_file, "",
          "file with a bearer token of the node's --callers_file (every command; admin commands "
          "use --admin-token-file instead when it is set)");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA that signed the node's certificate (TLS on when set)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM client certificate (mTLS; with --tls_key_file)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(bool, cluster, false, "stats: every node of the cluster, per node and merged");
ABSL_FLAG(std::string, prefix, "", "address prefix (CIDR) to match, e.g. 203.0.113.0/24");
ABSL_FLAG(std::string, tier, "", "tier name (override set; filter for override list)");
ABSL_FLAG(int64_t, daily_limit, 0, "custom per-client daily limit for an override (0 = tier's)");
ABSL_FLAG(std::string, for, "", "how long an override or ban lasts, e.g. 24h (empty = permanent)");
ABSL_FLAG(std::string, reason, "", "free-text reason recorded with an override or ban");
ABSL_FLAG(std::string, id, "", "override id (override delete), e.g. cidr/203.0.113.0/24");
ABSL_FLAG(int32_t, limit, 0, "how many audit entries (default 100)");

namespace quotad::quotactl {

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

std::optional<std::string> ReadToken(const std::string& path) {
  if (path.empty()) return std::string();
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(token));
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
            << (r.replayed() ? (r.refunded() ? "  (replayed; refunded since)" : "  (replayed)")
                             : "")
            << "  node=" << r.node_id() << " region=" << r.region() << "\n";
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

}  // namespace quotad::quotactl
