// PeerTransport over gRPC: the production transport (see peer_transport.h).
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "quotad/replication/peer_limits.h"
#include "quotad/replication/peer_transport.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/gossip.grpc.pb.h"

namespace quotad {
namespace {

class GrpcPeerChannel final : public PeerChannel {
 public:
  GrpcPeerChannel(const PeerConfig& peer, std::shared_ptr<grpc::ChannelCredentials> credentials) {
    grpc::ChannelArguments args;
    // Reconnect quickly after a partition heals.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Pages are bounded far below this; the limit is explicit on both ends.
    args.SetMaxReceiveMessageSize(kPeerMaxMessageBytes);
    args.SetMaxSendMessageSize(kPeerMaxMessageBytes);
    if (credentials == nullptr) {
      credentials = grpc::InsecureChannelCredentials();
    } else {
      args.SetSslTargetNameOverride(peer.node_id);  // the certificate must name the node
    }
    stub_ = v1::GossipService::NewStub(
        grpc::CreateCustomChannel(peer.address, credentials, args));
  }

  void Push(const v1::PushRequest& request, v1::PushResponse* response, absl::Time deadline,
            std::function<void(absl::Status)> done) override {
    if (shut_down()) return done(absl::CancelledError("replication is stopping"));
    auto context = std::make_shared<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(deadline));
    stub_->async()->Push(context.get(), &request, response,
                         [context, done = std::move(done)](grpc::Status status) {
                           done(rpc::FromGrpcStatus(status));
                         });
  }
  absl::Status Digest(const v1::DigestRequest& request, v1::DigestResponse* response,
                      absl::Time deadline) override {
    return Call(&v1::GossipService::Stub::Digest, request, response, deadline);
  }
  absl::Status PullRange(const v1::PullRangeRequest& request, v1::PullRangeResponse* response,
                         absl::Time deadline) override {
    return Call(&v1::GossipService::Stub::PullRange, request, response, deadline);
  }
  absl::Status PullRecords(const v1::PullRecordsRequest& request,
                           v1::PullRecordsResponse* response, absl::Time deadline) override {
    return Call(&v1::GossipService::Stub::PullRecords, request, response, deadline);
  }
  absl::Status NodeStats(const v1::NodeStatsRequest& request, v1::StatsResponse* response,
                         absl::Time deadline) override {
    return Call(&v1::GossipService::Stub::NodeStats, request, response, deadline);
  }
  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (grpc::ClientContext* context : calls_) context->TryCancel();
  }

 private:
  bool shut_down() {
    absl::MutexLock lock(&mu_);
    return shut_down_;
  }

  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (v1::GossipService::Stub::*method)(grpc::ClientContext*,
                                                                    const Request&, Response*),
                    const Request& request, Response* response, absl::Time deadline) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    {
      absl::MutexLock lock(&mu_);
      if (shut_down_) return absl::CancelledError("replication is stopping");
      calls_.insert(&context);
    }
    const grpc::Status status = (stub_.get()->*method)(&context, request, response);
    absl::MutexLock lock(&mu_);
    calls_.erase(&context);
    return rpc::FromGrpcStatus(status);
  }

  std::unique_ptr<v1::GossipService::Stub> stub_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<grpc::ClientContext*> calls_ ABSL_GUARDED_BY(mu_);
};

class GrpcPeerTransport final : public PeerTransport {
 public:
  explicit GrpcPeerTransport(std::shared_ptr<grpc::ChannelCredentials> credentials)
      : credentials_(std::move(credentials)) {}
  std::unique_ptr<PeerChannel> Connect(const PeerConfig& peer) override {
    return std::make_unique<GrpcPeerChannel>(peer, credentials_);
  }

 private:
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

}  // namespace

std::unique_ptr<PeerTransport> NewGrpcPeerTransport(
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return std::make_unique<GrpcPeerTransport>(std::move(credentials));
}

}  // namespace quotad
