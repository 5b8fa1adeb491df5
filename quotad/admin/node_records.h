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
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "quotad/policy/policy.h"
#include "quotad/replication/replicator.h"

namespace quotad {

struct NodeInfo {
  std::string node_id;
  std::string region;
  std::string version;
};

// Registers both record kinds (with their checks) with `replicator`.
void AddNodeRecordKinds(Replicator* replicator);

// Registers this node and its current origin; the origin record expires
// `origin_ttl` from now (after the counters it could name).
absl::Status AnnounceNode(Replicator* replicator, uint64_t origin, const std::string& node_id,
                          const std::string& region, const std::string& version,
                          absl::Duration origin_ttl);

// Announces this node at Start and again once a day (an hour after a
// failure), so the record naming
// its origin lives as long as the counters written under it can: the
// policy's meter_retention_days after the last announcement, plus 2 days
// (a usage report names the region of a year-old charge). Stops (joins) on
// destruction. Borrowed pointers must outlive it.
class NodeAnnouncer {
 public:
  NodeAnnouncer(Replicator* replicator, PolicyHolder* policy, NodeInfo self, uint64_t origin)
      : replicator_(replicator), policy_(policy), self_(std::move(self)), origin_(origin) {}
  ~NodeAnnouncer();
  // Announces now (errors: Unavailable, nothing started), then daily.
  absl::Status Start();

 private:
  absl::Status Announce();
  Replicator* replicator_;
  PolicyHolder* policy_;
  NodeInfo self_;
  uint64_t origin_;
  absl::Notification stop_;
  std::thread thread_;
};

// Every announced node by id; every announced origin (16 lowercase hex
// digits, OriginHex) with the node that wrote under it. Errors: Unavailable.
absl::StatusOr<std::map<std::string, NodeInfo>> ListNodes(Replicator* replicator);
absl::StatusOr<std::map<std::string, NodeInfo>> ListOrigins(Replicator* replicator);

std::string OriginHex(uint64_t origin);

}  // namespace quotad

#endif  // QUOTAD_ADMIN_NODE_RECORDS_H_
