// What every node announces about itself in replicated records, so any node
// can name a peer's region and version and an origin slot's node: the
// "node/<id>" and "origin/<16 hex digits>" record kinds, value
// "node_id|region|version|origin_hex" (a node record's key and writer are
// its node id; an origin record's writer is the node in its value).
#ifndef QUOTAD_ADMIN_NODE_RECORDS_H_
#define QUOTAD_ADMIN_NODE_RECORDS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "quotad/replication/replicator.h"

namespace quotad {

struct NodeInfo {
  std::string node_id;
  std::string region;
  std::string version;
};

// Registers both record kinds (with their checks) with `replicator`.
void AddNodeRecordKinds(Replicator* replicator);

// Registers this node and its current origin (the origin record expires
// after the counters it could name).
absl::Status AnnounceNode(Replicator* replicator, uint64_t origin, const std::string& node_id,
                          const std::string& region, const std::string& version);

// Every announced node by id; every announced origin (16 lowercase hex
// digits, OriginHex) with the node that wrote under it. Errors: Unavailable.
absl::StatusOr<std::map<std::string, NodeInfo>> ListNodes(Replicator* replicator);
absl::StatusOr<std::map<std::string, NodeInfo>> ListOrigins(Replicator* replicator);

std::string OriginHex(uint64_t origin);

}  // namespace quotad

#endif  // QUOTAD_ADMIN_NODE_RECORDS_H_
