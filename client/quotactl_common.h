// quotactl's shared pieces: its flags (defined in quotactl_common.cc), exit
// codes, and the helpers every command uses (usage and RPC errors, TLS and
// token from flags, JSON and decision printing). Commands: quotactl.cc
// (quota surface, the command table, main) and quotactl_admin.cc (admin).
#ifndef QUOTAD_CLIENT_QUOTACTL_COMMON_H_
#define QUOTAD_CLIENT_QUOTACTL_COMMON_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"
#include "quotad/rpc/tls.h"
#include "quotad/v1/quota.pb.h"

ABSL_DECLARE_FLAG(std::string, target);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, ip);
ABSL_DECLARE_FLAG(std::string, user_agent);
ABSL_DECLARE_FLAG(std::string, client_name);
ABSL_DECLARE_FLAG(std::string, integration_id);
ABSL_DECLARE_FLAG(std::string, integration_tier);
ABSL_DECLARE_FLAG(std::string, service);
ABSL_DECLARE_FLAG(int64_t, cost);
ABSL_DECLARE_FLAG(std::string, request_id);
ABSL_DECLARE_FLAG(std::string, admin_token_file);
ABSL_DECLARE_FLAG(std::string, token_file);
ABSL_DECLARE_FLAG(std::string, tls_ca_file);
ABSL_DECLARE_FLAG(std::string, tls_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_key_file);
ABSL_DECLARE_FLAG(std::string, prefix);
ABSL_DECLARE_FLAG(std::string, tier);
ABSL_DECLARE_FLAG(int64_t, daily_limit);
ABSL_DECLARE_FLAG(std::string, for);
ABSL_DECLARE_FLAG(std::string, reason);
ABSL_DECLARE_FLAG(std::string, id);
ABSL_DECLARE_FLAG(int32_t, limit);
ABSL_DECLARE_FLAG(bool, cluster);

namespace quotad::quotactl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

// Prints the message and a hint to stderr; returns kExitUsage.
int Usage(const std::string& message);
// Prints the status to stderr; returns kExitRpcError.
int RpcError(const absl::Status& status);
TlsFiles TlsFromFlags();
// TLS credentials when --tls_ca_file is set, else insecure.
std::shared_ptr<grpc::ChannelCredentials> Credentials();
// The first line of `path`, trimmed ("" for no path); nullopt if unreadable.
std::optional<std::string> ReadToken(const std::string& path);
// One JSON object with proto field names and every primitive field.
void PrintJson(const google::protobuf::Message& message);
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);
void PrintDecision(const v1::AcquireResponse& r);

}  // namespace quotad::quotactl

#endif  // QUOTAD_CLIENT_QUOTACTL_COMMON_H_
