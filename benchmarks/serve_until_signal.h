// Shared main() body of the comparison servers: listen, write the port file,
// serve until SIGTERM/SIGINT.
#ifndef QUOTAD_BENCHMARKS_SERVE_UNTIL_SIGNAL_H_
#define QUOTAD_BENCHMARKS_SERVE_UNTIL_SIGNAL_H_

#include <csignal>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace quotad::bench {

// Returns the process exit code.
inline int ServeUntilSignal(grpc::Service* service, const std::string& listen,
                            const std::string& port_file, const char* name) {
  // As in quotad's main(): Debian's Abseil has Mutex deadlock detection on,
  // which costs the comparison servers as much as quotad (gRPC locks
  // absl::Mutex on every call). A ceiling must not carry a cost quotad sheds.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(service);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << name << ": cannot listen on " << listen << "\n";
    return 1;
  }
  if (!port_file.empty()) std::ofstream(port_file) << port << "\n";
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown();
  return 0;
}

}  // namespace quotad::bench

#endif  // QUOTAD_BENCHMARKS_SERVE_UNTIL_SIGNAL_H_
