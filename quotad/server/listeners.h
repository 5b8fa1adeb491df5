// The one place quotad's gRPC listeners are built. main() and every test
// that serves quotad's services over gRPC call StartListener, so tests run
// the listeners production runs: the same per-surface message limits and
// the same options (a regression here is what hid the gossip wedge: test
// servers had no receive limit while production capped it at 64 KiB).
//
// Three surfaces, each on its own port with its own limits:
//   kQuota  QuotaService for callers (locate); small requests only.
//   kPeer   GossipService for other nodes; batches up to kPeerBatchBytes,
//           accepted up to kPeerMaxMessageBytes.
//   kAdmin  AdminService for operators.
// Every listener also serves grpc.health.v1 and server reflection.
#ifndef QUOTAD_SERVER_LISTENERS_H_
#define QUOTAD_SERVER_LISTENERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace quotad {

enum class ListenerKind { kQuota, kPeer, kAdmin };

// The fixed options of one kind of listener.
struct ListenerLimits {
  const char* name = "";       // "quota", "peer", "admin" (for errors and logs)
  int max_receive_bytes = 0;   // larger requests fail with RESOURCE_EXHAUSTED
  int max_send_bytes = 0;      // larger responses fail (never built: pages are bounded)
  // Calls one connection may have open at once (HTTP/2 streams); more wait
  // in the caller's channel, so a flood of calls cannot grow the node's
  // memory without bound.
  int max_streams_per_connection = 0;
};
ListenerLimits LimitsOf(ListenerKind kind);

struct Listener {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the bound port (useful when the address asked for port 0)
};

// Builds and starts a listener of `kind` on `address` (host:port, [v6]:port;
// port 0 picks a free port) serving `services`, which are borrowed and must
// outlive the server. The port is bound exclusively (no SO_REUSEPORT), so a
// second node on a taken port fails instead of silently sharing it.
// `credentials`: null for plaintext, else TLS (quotad/rpc/tls.h).
// Errors: Unavailable naming the surface and address when it cannot listen.
absl::StatusOr<Listener> StartListener(
    ListenerKind kind, const std::string& address, const std::vector<grpc::Service*>& services,
    std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);

}  // namespace quotad

#endif  // QUOTAD_SERVER_LISTENERS_H_
