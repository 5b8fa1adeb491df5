// One cluster-wide stats answer from every node's own (GetStats with
// `cluster`): pure, no I/O.
//
// The answering node's usage distribution and active clients stand for the
// cluster: they are computed from its merged counters, which hold every
// region's charges (a client seen in two regions is one client), never
// added up per node. Decisions are events of one node each, so they are
// summed over the nodes that answered; so are the near-limit counts (a
// client near its limit in two regions counts in both) and the integrations'
// tests and denials (from each node's top list: an integration outside a
// node's list is missing that node's share). Every peer is listed in
// `nodes`, an unreachable one with reachable=false and its error, and its
// figures are not in the merged ones; `unreachable_nodes` counts them.
#ifndef QUOTAD_ADMIN_CLUSTER_STATS_H_
#define QUOTAD_ADMIN_CLUSTER_STATS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quotad/v1/admin.pb.h"

namespace quotad {

struct PeerStats {
  std::string node_id;
  std::string region;                       // as far as known (shown for an unreachable peer)
  absl::StatusOr<v1::StatsResponse> stats;  // the peer's own answer, or why there is none
};

// `local` is this node's own answer; `top` bounds the merged top lists.
v1::StatsResponse MergeClusterStats(const v1::StatsResponse& local,
                                    const std::vector<PeerStats>& peers, size_t top);

}  // namespace quotad

#endif  // QUOTAD_ADMIN_CLUSTER_STATS_H_
