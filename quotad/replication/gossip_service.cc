#include "quotad/replication/gossip_service.h"

#include <string>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "quotad/rpc/tls.h"
#include "quotad/rpc/unary.h"

namespace quotad {

absl::Status GossipServiceImpl::Authenticate(const grpc::CallbackServerContext& context,
                                             const std::string& from) {
  if (!check_certificates_) return absl::OkStatus();
  const std::vector<std::string> names = ClientCertificateNames(context);
  if (absl::c_linear_search(names, from)) return absl::OkStatus();
  replicator_->CountCertificateMismatch();
  return absl::PermissionDeniedError(absl::StrCat("from_node_id: '", from,
                                                  "' is not named by the caller's certificate ([",
                                                  absl::StrJoin(names, ","), "])"));
}

grpc::ServerUnaryReactor* GossipServiceImpl::Push(grpc::CallbackServerContext* context,
                                                  const v1::PushRequest* request,
                                                  v1::PushResponse* response) {
  return Serve(context, request, response, &Replicator::HandlePush);
}

grpc::ServerUnaryReactor* GossipServiceImpl::Digest(grpc::CallbackServerContext* context,
                                                    const v1::DigestRequest* request,
                                                    v1::DigestResponse* response) {
  return Serve(context, request, response, &Replicator::HandleDigest);
}

grpc::ServerUnaryReactor* GossipServiceImpl::PullRange(grpc::CallbackServerContext* context,
                                                       const v1::PullRangeRequest* request,
                                                       v1::PullRangeResponse* response) {
  return Serve(context, request, response, &Replicator::HandlePullRange);
}

grpc::ServerUnaryReactor* GossipServiceImpl::PullRecords(grpc::CallbackServerContext* context,
                                                         const v1::PullRecordsRequest* request,
                                                         v1::PullRecordsResponse* response) {
  return Serve(context, request, response, &Replicator::HandlePullRecords);
}

grpc::ServerUnaryReactor* GossipServiceImpl::NodeStats(grpc::CallbackServerContext* context,
                                                       const v1::NodeStatsRequest* request,
                                                       v1::StatsResponse* response) {
  return Serve(context, request, response, &Replicator::HandleNodeStats);
}

grpc::ServerUnaryReactor* GossipServiceImpl::Status(grpc::CallbackServerContext* context,
                                                    const v1::GossipStatusRequest*,
                                                    v1::GossipStatusResponse* response) {
  return rpc::FinishUnary(context, absl::StatusOr<v1::GossipStatusResponse>(replicator_->Status()),
                response);
}

}  // namespace quotad
