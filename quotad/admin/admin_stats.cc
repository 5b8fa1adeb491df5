// AdminServiceImpl, the identity-free aggregates: GetStats for this node
// (every figure read from aggregates kept up to date: no scan) or for the
// cluster (each peer's own answer over the peer listener, merged); and
// GetUsageReport (one usage meter's days, usage_report.h).
#include <string>

#include "absl/strings/str_cat.h"
#include "quotad/admin/admin_service.h"
#include "quotad/admin/cluster_stats.h"
#include "quotad/admin/usage_report.h"
#include "quotad/common/status_macros.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

constexpr size_t kTopIntegrations = 20;

}  // namespace

absl::StatusOr<v1::StatsResponse> AdminServiceImpl::DoGetStats(const v1::GetStatsRequest& req) {
  v1::StatsResponse out;
  out.set_node_id(deps_.node_id);
  out.set_region(deps_.region);
  for (auto& d : deps_.stats->Decisions()) *out.add_decisions() = std::move(d);
  const UsageTracker::Distribution usage = deps_.usage->Read();
  for (const auto& [tests, clients] : usage.buckets) {
    v1::UsageBucket* b = out.add_usage_distribution();
    b->set_tests(tests);
    b->set_clients(clients);
  }
  out.set_active_clients(usage.clients);
  for (const auto& c : deps_.near_limit->Counts()) {
    v1::NearLimitCount* n = out.add_near_limit();
    n->set_tier(c.tier);
    n->set_subject(NearLimitTracker::SubjectName(c.subject));
    n->set_count(c.count);
  }
  for (auto& i : deps_.stats->TopIntegrations(kTopIntegrations, false)) {
    *out.add_top_by_tests() = std::move(i);
  }
  for (auto& i : deps_.stats->TopIntegrations(kTopIntegrations, true)) {
    *out.add_top_by_denials() = std::move(i);
  }
  rpc::SetTimestamp(deps_.clock->Now(), out.mutable_computed_at());
  if (!req.cluster()) return out;

  // Regions as the node records name them (for peers that do not answer);
  // a courtesy: the answer stands without them.
  auto nodes = ListNodes(deps_.replicator);
  std::vector<PeerStats> peers;
  for (auto& result : deps_.replicator->CollectPeerStats(kClusterStatsTimeout)) {
    std::string region;
    if (nodes.ok()) {
      if (auto it = nodes->find(result.node_id); it != nodes->end()) region = it->second.region;
    }
    peers.push_back({result.node_id, region, std::move(result.stats)});
  }
  return MergeClusterStats(out, peers, kTopIntegrations);
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStats(grpc::CallbackServerContext* ctx,
                                                     const v1::GetStatsRequest* req,
                                                     v1::StatsResponse* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "GetStats", Access::kRead, &caller))
    return rejected;
  if (!req->cluster()) return rpc::FinishUnary(ctx, DoGetStats(*req), resp);
  // The peers take up to kClusterStatsTimeout to answer: off the callback
  // threads (request and response live until the reactor is finished).
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const bool started = cluster_calls_.TryRun([this, req, resp, reactor] {
    absl::StatusOr<v1::StatsResponse> result = DoGetStats(*req);
    if (result.ok()) *resp = std::move(*result);
    reactor->Finish(rpc::ToGrpcStatus(result.status()));
  });
  if (!started) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 absl::StrCat("cluster stats: ", kMaxClusterCalls,
                                              " calls already wait for the peers; retry")));
  }
  return reactor;
}

absl::StatusOr<v1::UsageReport> AdminServiceImpl::DoGetUsageReport(
    const v1::UsageReportRequest& req) {
  QUOTAD_ASSIGN_OR_RETURN(const UsageReportQuery query, CheckUsageReportRequest(req));
  QUOTAD_ASSIGN_OR_RETURN(const std::vector<SlotValue> slots,
                          deps_.store->ReadCounterSlots(query.meter, query.from_day));
  QUOTAD_ASSIGN_OR_RETURN(const auto origins, ListOrigins(deps_.replicator));
  const uint32_t oldest_kept =
      OldestLiveBucket(BucketUnit::kDay, deps_.clock->Now(), deps_.policy->Current()->retention());
  v1::UsageReport report = BuildUsageReport(req, query, slots, origins, oldest_kept);
  report.set_node_id(deps_.node_id);
  report.set_region(deps_.region);
  return report;
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetUsageReport(grpc::CallbackServerContext* ctx,
                                                           const v1::UsageReportRequest* req,
                                                           v1::UsageReport* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "GetUsageReport", Access::kRead, &caller))
    return rejected;
  return rpc::FinishUnary(ctx, DoGetUsageReport(*req), resp);
}

}  // namespace quotad
