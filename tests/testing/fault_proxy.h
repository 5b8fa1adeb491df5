// A user-space TCP proxy that simulates a WAN link between two quotad nodes
// on loopback (tc netem is not available): one-way delay in each direction,
// connection resets with a probability per forwarded chunk ("loss": TCP
// cannot lose bytes silently, so loss shows as broken connections that gRPC
// reconnects), and full partitions (existing connections cut, new ones
// refused). Listens on 127.0.0.1 only. Thread-safe.
#ifndef QUOTAD_TESTS_TESTING_FAULT_PROXY_H_
#define QUOTAD_TESTS_TESTING_FAULT_PROXY_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace quotad::testing {

class FaultProxy {
 public:
  FaultProxy();  // binds 127.0.0.1:0 and starts accepting
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  // Where accepted connections go (127.0.0.1:target_port). Until set,
  // connections are closed at once.
  void SetTarget(int target_port) { target_port_ = target_port; }
  void SetDelay(absl::Duration one_way) { delay_us_ = absl::ToInt64Microseconds(one_way); }
  void SetResetProbability(double p) { reset_per_million_ = static_cast<int>(p * 1e6); }
  // Cuts every open connection and refuses new ones until healed.
  void SetPartitioned(bool partitioned);

 private:
  void AcceptLoop();
  void Forward(int from, int to);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> target_port_{0};
  std::atomic<int64_t> delay_us_{0};
  std::atomic<int> reset_per_million_{0};
  std::atomic<bool> partitioned_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<int> open_fds_;  // guarded by mu_
  std::vector<std::thread> threads_;  // guarded by mu_
  std::thread accept_thread_;
};

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_FAULT_PROXY_H_
