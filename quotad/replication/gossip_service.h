// gRPC adapter for quotad.v1.GossipService over a Replicator.
#ifndef QUOTAD_REPLICATION_GOSSIP_SERVICE_H_
#define QUOTAD_REPLICATION_GOSSIP_SERVICE_H_

#include "quotad/replication/replicator.h"
#include "quotad/v1/gossip.grpc.pb.h"

namespace quotad {

class GossipServiceImpl final : public v1::GossipService::CallbackService {
 public:
  // `replicator` is borrowed and must outlive the service.
  explicit GossipServiceImpl(Replicator* replicator) : replicator_(replicator) {}

  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* context,
                                 const v1::PushRequest* request,
                                 v1::PushResponse* response) override;
  grpc::ServerUnaryReactor* Digest(grpc::CallbackServerContext* context,
                                   const v1::DigestRequest* request,
                                   v1::DigestResponse* response) override;
  grpc::ServerUnaryReactor* PullRange(grpc::CallbackServerContext* context,
                                      const v1::PullRangeRequest* request,
                                      v1::PullRangeResponse* response) override;
  grpc::ServerUnaryReactor* PullRecords(grpc::CallbackServerContext* context,
                                        const v1::PullRecordsRequest* request,
                                        v1::PullRecordsResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const v1::GossipStatusRequest* request,
                                   v1::GossipStatusResponse* response) override;

 private:
  Replicator* replicator_;
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_GOSSIP_SERVICE_H_
