#include "quotad/server/flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address host:port (port 0 picks a free port; see --port_file)");
ABSL_FLAG(std::string, data_dir, "quotad-data", "RocksDB data directory (created if missing)");
ABSL_FLAG(std::string, policy, "deploy/policy/aup.textproto", "AUP policy textproto file");
ABSL_FLAG(std::string, node_id, "", "this node's id, unique in the cluster (default: hostname)");
ABSL_FLAG(std::string, region, "local", "this node's region name");
ABSL_FLAG(std::string, hash_key_file, "",
          "secret key for identity hashing, shared by all nodes (required with --peers); "
          "created with mode 0600 if absent (default: <data_dir>/identity.key)");
ABSL_FLAG(std::string, previous_hash_key_file, "",
          "during a key rotation: the previous key; usage hashed with it still counts (read "
          "only). Remove one window (24h) after every node has the new key.");
ABSL_FLAG(bool, sync_writes, false, "fsync the RocksDB WAL before acknowledging a charge");
ABSL_FLAG(std::string, port_file, "", "if set, write the bound port here once serving");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(absl::Duration, idempotency_ttl, absl::Hours(1),
          "how long a request_id's answer is kept for replays and refunds (>= 10m)");
ABSL_FLAG(int64_t, cache_counters, 1 << 20, "how many counters the in-memory cache holds");
ABSL_FLAG(int32_t, max_inflight_calls, 2048,
          "QuotaService calls in progress at once; past it RESOURCE_EXHAUSTED at once");
ABSL_FLAG(int64_t, max_commit_queue, 4096,
          "decided charges waiting for the disk; past it RESOURCE_EXHAUSTED at once");
ABSL_FLAG(std::string, peers, "",
          "other nodes of the cluster: comma-separated node_id=host:port of their peer "
          "listeners (--peer_listen; DNS names allowed)");
ABSL_FLAG(std::string, peer_listen, "",
          "GossipService listen address host:port for the other nodes (required with --peers; "
          "keep it on a private network)");
ABSL_FLAG(std::string, peer_port_file, "", "if set, write the peer port here once serving");
ABSL_FLAG(absl::Duration, gossip_interval, absl::Milliseconds(200),
          "how often changed counter slots are pushed to peers");
ABSL_FLAG(absl::Duration, anti_entropy_interval, absl::Seconds(5),
          "how often digests are compared with each peer to repair differences");
ABSL_FLAG(absl::Duration, max_clock_skew, absl::Minutes(5),
          "peer buckets further than this in the future are rejected");
ABSL_FLAG(int64_t, gossip_max_pending_slots, 1 << 20,
          "slots queued per peer before the queue is dropped and left to anti-entropy "
          "(~100 bytes each)");
ABSL_FLAG(absl::Duration, startup_sync_timeout, absl::Seconds(3),
          "at start, how long to pull missed counts from peers before serving");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:50052",
          "AdminService listen address (keep it on loopback or a private network)");
ABSL_FLAG(std::string, admin_port_file, "", "if set, write the admin port here once serving");
ABSL_FLAG(std::string, admin_token_file, "",
          "bearer token for admin calls; created (0600) if absent (default: "
          "<data_dir>/admin.token)");
ABSL_FLAG(std::string, metrics_listen, "", "serve Prometheus /metrics on host:port (empty = off)");
ABSL_FLAG(std::string, metrics_port_file, "", "if set, write the metrics port here");
ABSL_FLAG(std::string, callers_file, "",
          "textproto of callers and their roles (proto/quotad/v1/callers.proto); reloaded on "
          "SIGHUP. Unset: anyone may call the quota surface (a warning at start)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for every listener and for calls to peers; TLS is on when "
          "this, --tls_key_file and --tls_ca_file are set");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA certificate: peers must present a certificate it signed that names their "
          "node id (mTLS on the peer listener); callers' certificates are verified with it");
ABSL_FLAG(absl::Duration, policy_reload_interval, absl::ZeroDuration(),
          "re-read the policy and callers files this often and reload them when their content "
          "changed, as SIGHUP does (e.g. a Kubernetes ConfigMap volume); 0 = only on SIGHUP");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "how long SIGTERM waits for in-flight calls");

namespace quotad {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", what));
}

}  // namespace

absl::Status CheckFlags() {
  auto level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return Invalid("log_level", level.status().message());
  SetMinLogLevel(*level);
  if (absl::GetFlag(FLAGS_data_dir).empty()) return Invalid("data_dir", "must not be empty");
  if (absl::GetFlag(FLAGS_region).empty()) return Invalid("region", "must not be empty");
  if (absl::GetFlag(FLAGS_idempotency_ttl) < absl::Minutes(10)) {
    return Invalid("idempotency_ttl", "must be at least 10m");
  }
  if (absl::GetFlag(FLAGS_cache_counters) < 1) return Invalid("cache_counters", "must be >= 1");
  if (absl::GetFlag(FLAGS_max_inflight_calls) < 1) {
    return Invalid("max_inflight_calls", "must be >= 1");
  }
  if (absl::GetFlag(FLAGS_max_commit_queue) < 1) return Invalid("max_commit_queue", "must be >= 1");
  if (absl::GetFlag(FLAGS_gossip_interval) < absl::Milliseconds(10)) {
    return Invalid("gossip_interval", "must be at least 10ms");
  }
  if (absl::GetFlag(FLAGS_anti_entropy_interval) < absl::Milliseconds(100)) {
    return Invalid("anti_entropy_interval", "must be at least 100ms");
  }
  if (absl::GetFlag(FLAGS_gossip_max_pending_slots) < 1) {
    return Invalid("gossip_max_pending_slots", "must be >= 1");
  }
  return absl::OkStatus();
}

absl::Status CheckClusterFlags(bool has_peers) {
  if (!has_peers) return absl::OkStatus();
  if (absl::GetFlag(FLAGS_hash_key_file).empty()) {
    return absl::InvalidArgumentError(
        "--hash_key_file: required with --peers: every node of a cluster must hash client "
        "identities with the same key (a key generated in each data dir would count one client "
        "under a different id on every node)");
  }
  if (absl::GetFlag(FLAGS_peer_listen).empty()) {
    return absl::InvalidArgumentError(
        "--peer_listen: required with --peers (the peers' gossip reaches this node there)");
  }
  return absl::OkStatus();
}

}  // namespace quotad
