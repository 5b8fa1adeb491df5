#include "quotad/replication/gossip_service.h"

#include <string>

#include "quotad/rpc/unary.h"

namespace quotad {

grpc::ServerUnaryReactor* GossipServiceImpl::Push(grpc::CallbackServerContext* context,
                                                  const v1::PushRequest* request,
                                                  v1::PushResponse* response) {
  return rpc::FinishUnary(context, replicator_->HandlePush(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::Digest(grpc::CallbackServerContext* context,
                                                    const v1::DigestRequest* request,
                                                    v1::DigestResponse* response) {
  return rpc::FinishUnary(context, replicator_->HandleDigest(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::PullRange(grpc::CallbackServerContext* context,
                                                       const v1::PullRangeRequest* request,
                                                       v1::PullRangeResponse* response) {
  return rpc::FinishUnary(context, replicator_->HandlePullRange(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::PullRecords(grpc::CallbackServerContext* context,
                                                         const v1::PullRecordsRequest* request,
                                                         v1::PullRecordsResponse* response) {
  return rpc::FinishUnary(context, replicator_->HandlePullRecords(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::Status(grpc::CallbackServerContext* context,
                                                    const v1::GossipStatusRequest*,
                                                    v1::GossipStatusResponse* response) {
  return rpc::FinishUnary(context, absl::StatusOr<v1::GossipStatusResponse>(replicator_->Status()),
                response);
}

}  // namespace quotad
