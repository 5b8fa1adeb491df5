#include "quotad/admin/cluster_stats.h"

#include <map>
#include <tuple>

#include "quotad/observability/decision_stats.h"

namespace quotad {
namespace {

using DecisionKey = std::tuple<std::string, int, bool>;  // tier, reason, shadow

void AddDecisions(const v1::StatsResponse& from, std::map<DecisionKey, v1::DecisionCount>* into) {
  for (const v1::DecisionCount& d : from.decisions()) {
    v1::DecisionCount& row = (*into)[{d.tier(), static_cast<int>(d.reason()), d.shadow()}];
    row.set_tier(d.tier());
    row.set_reason(d.reason());
    row.set_shadow(d.shadow());
    row.set_last_minute(row.last_minute() + d.last_minute());
    row.set_last_hour(row.last_hour() + d.last_hour());
    row.set_last_day(row.last_day() + d.last_day());
  }
}

// Integration -> (tests, denials), from both of a node's top lists (a name
// in both is counted once).
void AddIntegrations(const v1::StatsResponse& from,
                     absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>>* into) {
  std::map<std::string, const v1::IntegrationCount*> seen;
  for (const auto& i : from.top_by_tests()) seen.emplace(i.integration(), &i);
  for (const auto& i : from.top_by_denials()) seen.emplace(i.integration(), &i);
  for (const auto& [name, count] : seen) {
    (*into)[name].first += count->tests();
    (*into)[name].second += count->denials();
  }
}

v1::NodeStats NodeEntry(const v1::StatsResponse& stats) {
  v1::NodeStats node;
  node.set_node_id(stats.node_id());
  node.set_region(stats.region());
  node.set_reachable(true);
  *node.mutable_stats() = stats;
  return node;
}

}  // namespace

v1::StatsResponse MergeClusterStats(const v1::StatsResponse& local,
                                    const std::vector<PeerStats>& peers, size_t top) {
  v1::StatsResponse out = local;
  out.set_cluster(true);
  std::map<DecisionKey, v1::DecisionCount> decisions;
  std::map<std::pair<std::string, std::string>, int64_t> near;  // (tier, subject)
  absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> integrations;
  auto add = [&](const v1::StatsResponse& s) {
    AddDecisions(s, &decisions);
    for (const auto& n : s.near_limit()) near[{n.tier(), n.subject()}] += n.count();
    AddIntegrations(s, &integrations);
  };
  add(local);
  *out.add_nodes() = NodeEntry(local);
  for (const PeerStats& peer : peers) {
    if (peer.stats.ok()) {
      add(*peer.stats);
      *out.add_nodes() = NodeEntry(*peer.stats);
      continue;
    }
    v1::NodeStats* node = out.add_nodes();
    node->set_node_id(peer.node_id);
    node->set_region(peer.region);
    node->set_reachable(false);
    node->set_error(std::string(peer.stats.status().ToString()));
    out.set_unreachable_nodes(out.unreachable_nodes() + 1);
  }
  out.clear_decisions();
  for (auto& [key, row] : decisions) *out.add_decisions() = std::move(row);
  out.clear_near_limit();
  for (const auto& [key, count] : near) {
    v1::NearLimitCount* n = out.add_near_limit();
    n->set_tier(key.first);
    n->set_subject(key.second);
    n->set_count(count);
  }
  out.clear_top_by_tests();
  for (auto& i : RankIntegrations(integrations, false, top)) *out.add_top_by_tests() = std::move(i);
  out.clear_top_by_denials();
  for (auto& i : RankIntegrations(integrations, true, top))
    *out.add_top_by_denials() = std::move(i);
  return out;
}

}  // namespace quotad
