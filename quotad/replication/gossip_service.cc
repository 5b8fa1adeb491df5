#include "quotad/replication/gossip_service.h"

#include <string>

namespace quotad {
namespace {

template <typename Response>
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context,
                                 absl::StatusOr<Response> result, Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!result.ok()) {
    reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(result.status().code()),
                                 std::string(result.status().message())));
  } else {
    *response = std::move(*result);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* GossipServiceImpl::Push(grpc::CallbackServerContext* context,
                                                  const v1::PushRequest* request,
                                                  v1::PushResponse* response) {
  return Finish(context, replicator_->HandlePush(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::Digest(grpc::CallbackServerContext* context,
                                                    const v1::DigestRequest* request,
                                                    v1::DigestResponse* response) {
  return Finish(context, replicator_->HandleDigest(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::PullRange(grpc::CallbackServerContext* context,
                                                       const v1::PullRangeRequest* request,
                                                       v1::PullRangeResponse* response) {
  return Finish(context, replicator_->HandlePullRange(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::PullRecords(grpc::CallbackServerContext* context,
                                                         const v1::PullRecordsRequest* request,
                                                         v1::PullRecordsResponse* response) {
  return Finish(context, replicator_->HandlePullRecords(*request), response);
}

grpc::ServerUnaryReactor* GossipServiceImpl::Status(grpc::CallbackServerContext* context,
                                                    const v1::GossipStatusRequest*,
                                                    v1::GossipStatusResponse* response) {
  return Finish(context, absl::StatusOr<v1::GossipStatusResponse>(replicator_->Status()),
                response);
}

}  // namespace quotad
