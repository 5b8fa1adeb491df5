// Replication without sockets: a LoopbackNetwork gives each node a
// PeerTransport whose calls go straight to the peer Replicator's Handle*
// methods in this process. Links can be cut one way or both (calls over a
// cut link fail with UNAVAILABLE, like an unreachable peer). Blocking calls
// run on the caller's thread; pushes run on the network's one worker thread,
// so `done` never runs inside Push (except after Shutdown, as the
// PeerChannel contract allows). Thread-safe.
#ifndef QUOTAD_TESTS_TESTING_LOOPBACK_TRANSPORT_H_
#define QUOTAD_TESTS_TESTING_LOOPBACK_TRANSPORT_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "quotad/replication/peer_transport.h"
#include "quotad/replication/replicator.h"

namespace quotad::testing {

class LoopbackNetwork {
 public:
  LoopbackNetwork();
  // Runs the pushes still queued, then stops the worker. Stop every
  // replicator on the network first.
  ~LoopbackNetwork();

  // The transport node `node_id` uses to reach its peers. Owned by the
  // network; valid for its lifetime.
  PeerTransport* TransportFor(const std::string& node_id);
  // Where calls to `node_id` go (null to take it away: calls then fail
  // with UNAVAILABLE). The replicator must outlive its registration.
  void Register(const std::string& node_id, Replicator* replicator);
  // Cuts or restores the link from -> to (one way).
  void SetLink(const std::string& from, const std::string& to, bool up);
  // Cuts or restores every link to and from `node_id`.
  void Partition(const std::string& node_id, bool cut);
  // Calls that reached a peer so far (any kind).
  int64_t delivered() const;

 private:
  class Transport;
  class Channel;
  friend class Channel;

  // The peer's replicator when the link from -> to is up, else null.
  Replicator* Route(const std::string& from, const std::string& to);
  void Post(std::function<void()> task);
  void Work();

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Replicator*> nodes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::pair<std::string, std::string>> cut_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Transport>> transports_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t delivered_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread worker_;
};

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_LOOPBACK_TRANSPORT_H_
