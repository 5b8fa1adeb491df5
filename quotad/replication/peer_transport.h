// How a Replicator reaches its peers: one PeerChannel per peer, made by a
// PeerTransport. Production uses gRPC (NewGrpcPeerTransport: one channel per
// peer address, the explicit peer message limits, fast reconnect after a
// partition); tests can plug in a transport without sockets
// (tests/testing/loopback_transport.h) and drive replication directly.
//
// Contract of a PeerChannel (thread-safe):
//  - Digest, PullRange, PullRecords and NodeStats block until the peer answers, until
//    `deadline` (then DEADLINE_EXCEEDED), or until Shutdown() (CANCELLED).
//    Errors are the peer's status or the transport's (UNAVAILABLE when the
//    peer cannot be reached).
//  - Push is asynchronous: `done` runs exactly once with the call's status,
//    on a transport thread or, when the call fails before it starts (after
//    Shutdown), before Push returns. `request` and `response` must stay
//    valid until `done` runs; `response` is filled when the status is OK.
//  - Shutdown() makes blocking calls in progress end promptly with
//    CANCELLED and every later call fail at once with CANCELLED (it is
//    called once, when the replicator stops). Pushes in flight end by their
//    own deadline.
#ifndef QUOTAD_REPLICATION_PEER_TRANSPORT_H_
#define QUOTAD_REPLICATION_PEER_TRANSPORT_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "quotad/replication/peers.h"
#include "quotad/v1/gossip.pb.h"

namespace quotad {

class PeerChannel {
 public:
  virtual ~PeerChannel() = default;

  virtual void Push(const v1::PushRequest& request, v1::PushResponse* response,
                    absl::Time deadline, std::function<void(absl::Status)> done) = 0;
  virtual absl::Status Digest(const v1::DigestRequest& request, v1::DigestResponse* response,
                              absl::Time deadline) = 0;
  virtual absl::Status PullRange(const v1::PullRangeRequest& request,
                                 v1::PullRangeResponse* response, absl::Time deadline) = 0;
  virtual absl::Status PullRecords(const v1::PullRecordsRequest& request,
                                   v1::PullRecordsResponse* response, absl::Time deadline) = 0;
  virtual absl::Status NodeStats(const v1::NodeStatsRequest& request, v1::StatsResponse* response,
                                 absl::Time deadline) = 0;
  virtual void Shutdown() = 0;
};

class PeerTransport {
 public:
  virtual ~PeerTransport() = default;
  // A channel to `peer`; never fails (an unreachable peer fails its calls).
  virtual std::unique_ptr<PeerChannel> Connect(const PeerConfig& peer) = 0;
};

// gRPC to each peer's peer listener: plaintext when `credentials` is null;
// else TLS, where the peer's certificate must name its node id (the name
// checked is the node id from --peers, not the address's host).
std::unique_ptr<PeerTransport> NewGrpcPeerTransport(
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_PEER_TRANSPORT_H_
