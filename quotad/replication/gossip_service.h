// gRPC adapter for quotad.v1.GossipService over a Replicator. With
// `check_certificates` (the peer listener requires client certificates: mTLS)
// a call is served only when the caller's verified certificate names its
// from_node_id among its subject alternative names: a valid certificate for
// n2 cannot push as n3 (PERMISSION_DENIED, counted as
// rejected_certificate_mismatch in Status()).
#ifndef QUOTAD_REPLICATION_GOSSIP_SERVICE_H_
#define QUOTAD_REPLICATION_GOSSIP_SERVICE_H_

#include "quotad/replication/replicator.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/gossip.grpc.pb.h"

namespace quotad {

class GossipServiceImpl final : public v1::GossipService::CallbackService {
 public:
  // `replicator` is borrowed and must outlive the service.
  explicit GossipServiceImpl(Replicator* replicator, bool check_certificates = false)
      : replicator_(replicator), check_certificates_(check_certificates) {}

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
  grpc::ServerUnaryReactor* NodeStats(grpc::CallbackServerContext* context,
                                      const v1::NodeStatsRequest* request,
                                      v1::StatsResponse* response) override;

 private:
  // OK, or PERMISSION_DENIED when the certificate does not name `from`.
  absl::Status Authenticate(const grpc::CallbackServerContext& context, const std::string& from);
  // Authenticates the sender, then answers with `handler`'s result.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, const Request* request,
                                  Response* response,
                                  absl::StatusOr<Response> (Replicator::*handler)(const Request&)) {
    if (absl::Status s = Authenticate(*context, request->from_node_id()); !s.ok()) {
      return rpc::FinishUnary<Response>(context, s, response);
    }
    return rpc::FinishUnary(context, (replicator_->*handler)(*request), response);
  }

  Replicator* replicator_;
  const bool check_certificates_;
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_GOSSIP_SERVICE_H_
