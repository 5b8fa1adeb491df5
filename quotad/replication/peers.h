// Peer list parsing: --peers=n2=host:port,n3=host:port
#ifndef QUOTAD_REPLICATION_PEERS_H_
#define QUOTAD_REPLICATION_PEERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quotad {

struct PeerConfig {
  std::string node_id;
  std::string address;  // gRPC target: host:port, [v6]:port, or a DNS name:port
};

// Parses comma-separated node_id=host:port entries. Node ids must be unique.
// The entry naming `self_node_id` is skipped, so every node of a cluster can
// be given the same cluster-wide list (as a Kubernetes ConfigMap does).
// Empty spec = no peers.
// Errors: InvalidArgument naming the entry.
absl::StatusOr<std::vector<PeerConfig>> ParsePeers(absl::string_view spec,
                                                   absl::string_view self_node_id);

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_PEERS_H_
