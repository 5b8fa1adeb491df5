// Replicator, the stats half: a peer's own dashboard aggregates over the
// peer listener, for cluster-wide stats (quotad/admin/cluster_stats.h).
#include <thread>

#include "quotad/common/status_macros.h"
#include "quotad/replication/replicator.h"

namespace quotad {

absl::StatusOr<v1::StatsResponse> Replicator::HandleNodeStats(const v1::NodeStatsRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request));
  if (!stats_provider_) return absl::FailedPreconditionError("this node serves no stats");
  return stats_provider_();
}

std::vector<Replicator::PeerStatsResult> Replicator::CollectPeerStats(absl::Duration timeout) {
  std::vector<PeerStatsResult> out(peers_.size());
  std::vector<std::thread> calls;
  const absl::Time deadline = absl::Now() + timeout;
  for (size_t i = 0; i < peers_.size(); ++i) {
    calls.emplace_back([this, i, deadline, &out] {
      Peer& peer = *peers_[i];
      v1::NodeStatsRequest request;
      request.set_from_node_id(options_.node_id);
      request.set_to_node_id(peer.link.config().node_id);
      StampKeys(&request);
      v1::StatsResponse response;
      const absl::Status s = peer.channel->NodeStats(request, &response, deadline);
      out[i].node_id = peer.link.config().node_id;
      out[i].stats = s.ok() ? absl::StatusOr<v1::StatsResponse>(std::move(response))
                            : absl::StatusOr<v1::StatsResponse>(s);
    });
  }
  for (std::thread& t : calls) t.join();
  return out;
}

}  // namespace quotad
