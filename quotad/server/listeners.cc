#include "quotad/server/listeners.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "quotad/replication/peer_limits.h"

namespace quotad {

ListenerLimits LimitsOf(ListenerKind kind) {
  switch (kind) {
    case ListenerKind::kQuota:
      // An AcquireRequest is a few hundred bytes; 64 KiB leaves room for any
      // valid one and refuses junk before it is parsed.
      return {"quota", 64 << 10, 1 << 20, 256};
    case ListenerKind::kPeer:
      return {"peer", kPeerMaxMessageBytes, kPeerMaxMessageBytes, 16};
    case ListenerKind::kAdmin:
      return {"admin", 1 << 20, 16 << 20, 16};
  }
  return {"unknown", 64 << 10, 1 << 20, 16};
}

absl::StatusOr<Listener> StartListener(ListenerKind kind, const std::string& address,
                                       const std::vector<grpc::Service*>& services,
                                       std::shared_ptr<grpc::ServerCredentials> credentials) {
  // Process-wide switches: every server built afterwards gets them.
  static std::once_flag plugins;
  std::call_once(plugins, [] {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  });
  const ListenerLimits limits = LimitsOf(kind);
  grpc::ServerBuilder builder;
  Listener out;
  if (credentials == nullptr) credentials = grpc::InsecureServerCredentials();
  builder.AddListeningPort(address, credentials, &out.port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(limits.max_receive_bytes);
  builder.SetMaxSendMessageSize(limits.max_send_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_streams_per_connection);
  // Without this gRPC sets SO_REUSEPORT and a second node on the same port
  // would silently share it instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  out.server = builder.BuildAndStart();
  if (out.server == nullptr || out.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " (", limits.name, " listener)"));
  }
  return out;
}

}  // namespace quotad
