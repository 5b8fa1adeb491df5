// The node's command-line flags (defined in flags.cc, read by main()) and
// the checks on them: CheckFlags() runs before anything starts and names the
// flag in its error ("--region: must not be empty"); CheckClusterFlags()
// once the peer list is parsed. Checks that need other inputs (TLS files,
// the key files' contents) stay in main(), where those inputs are read.
#ifndef QUOTAD_SERVER_FLAGS_H_
#define QUOTAD_SERVER_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, listen);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(std::string, policy);
ABSL_DECLARE_FLAG(std::string, node_id);
ABSL_DECLARE_FLAG(std::string, region);
ABSL_DECLARE_FLAG(std::string, hash_key_file);
ABSL_DECLARE_FLAG(std::string, previous_hash_key_file);
ABSL_DECLARE_FLAG(bool, sync_writes);
ABSL_DECLARE_FLAG(std::string, port_file);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(absl::Duration, idempotency_ttl);
ABSL_DECLARE_FLAG(int64_t, cache_counters);
ABSL_DECLARE_FLAG(int32_t, max_inflight_calls);
ABSL_DECLARE_FLAG(int64_t, max_commit_queue);
ABSL_DECLARE_FLAG(std::string, peers);
ABSL_DECLARE_FLAG(std::string, peer_listen);
ABSL_DECLARE_FLAG(std::string, peer_port_file);
ABSL_DECLARE_FLAG(absl::Duration, gossip_interval);
ABSL_DECLARE_FLAG(absl::Duration, anti_entropy_interval);
ABSL_DECLARE_FLAG(absl::Duration, max_clock_skew);
ABSL_DECLARE_FLAG(int64_t, gossip_max_pending_slots);
ABSL_DECLARE_FLAG(absl::Duration, startup_sync_timeout);
ABSL_DECLARE_FLAG(std::string, admin_listen);
ABSL_DECLARE_FLAG(std::string, admin_port_file);
ABSL_DECLARE_FLAG(std::string, admin_token_file);
ABSL_DECLARE_FLAG(std::string, metrics_listen);
ABSL_DECLARE_FLAG(std::string, metrics_port_file);
ABSL_DECLARE_FLAG(std::string, callers_file);
ABSL_DECLARE_FLAG(std::string, tls_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_key_file);
ABSL_DECLARE_FLAG(std::string, tls_ca_file);
ABSL_DECLARE_FLAG(absl::Duration, policy_reload_interval);
ABSL_DECLARE_FLAG(absl::Duration, drain_timeout);

namespace quotad {

// Sets the log level from --log_level, then checks every flag that can be
// checked alone. Errors: InvalidArgument naming the flag.
absl::Status CheckFlags();

// The flags a node with peers needs (--hash_key_file, --peer_listen).
// Errors: InvalidArgument naming the flag.
absl::Status CheckClusterFlags(bool has_peers);

}  // namespace quotad

#endif  // QUOTAD_SERVER_FLAGS_H_
