#include "tests/testing/loopback_transport.h"

#include "absl/strings/str_cat.h"

namespace quotad::testing {

class LoopbackNetwork::Channel final : public PeerChannel {
 public:
  Channel(LoopbackNetwork* network, std::string from, std::string to)
      : network_(network), from_(std::move(from)), to_(std::move(to)) {}

  void Push(const v1::PushRequest& request, v1::PushResponse* response, absl::Time /*deadline*/,
            std::function<void(absl::Status)> done) override {
    if (shut_down()) return done(absl::CancelledError("replication is stopping"));
    network_->Post([this, &request, response, done = std::move(done)] {
      done(Deliver(&Replicator::HandlePush, request, response));
    });
  }
  absl::Status Digest(const v1::DigestRequest& request, v1::DigestResponse* response,
                      absl::Time /*deadline*/) override {
    return Deliver(&Replicator::HandleDigest, request, response);
  }
  absl::Status PullRange(const v1::PullRangeRequest& request, v1::PullRangeResponse* response,
                         absl::Time /*deadline*/) override {
    return Deliver(&Replicator::HandlePullRange, request, response);
  }
  absl::Status PullRecords(const v1::PullRecordsRequest& request,
                           v1::PullRecordsResponse* response, absl::Time /*deadline*/) override {
    return Deliver(&Replicator::HandlePullRecords, request, response);
  }
  absl::Status NodeStats(const v1::NodeStatsRequest& request, v1::StatsResponse* response,
                         absl::Time /*deadline*/) override {
    return Deliver(&Replicator::HandleNodeStats, request, response);
  }
  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
  }

 private:
  bool shut_down() {
    absl::MutexLock lock(&mu_);
    return shut_down_;
  }
  // In-process calls finish at once, so there is nothing in progress for
  // Shutdown to cut short; it only refuses later calls.
  template <typename Request, typename Response>
  absl::Status Deliver(absl::StatusOr<Response> (Replicator::*handler)(const Request&),
                       const Request& request, Response* response) {
    if (shut_down()) return absl::CancelledError("replication is stopping");
    Replicator* peer = network_->Route(from_, to_);
    if (peer == nullptr) return absl::UnavailableError(absl::StrCat(to_, " is unreachable"));
    absl::StatusOr<Response> result = (peer->*handler)(request);
    if (!result.ok()) return result.status();
    *response = *std::move(result);
    return absl::OkStatus();
  }

  LoopbackNetwork* network_;
  const std::string from_;
  const std::string to_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

class LoopbackNetwork::Transport final : public PeerTransport {
 public:
  Transport(LoopbackNetwork* network, std::string self)
      : network_(network), self_(std::move(self)) {}
  std::unique_ptr<PeerChannel> Connect(const PeerConfig& peer) override {
    return std::make_unique<Channel>(network_, self_, peer.node_id);
  }

 private:
  LoopbackNetwork* network_;
  const std::string self_;
};

LoopbackNetwork::LoopbackNetwork() : worker_([this] { Work(); }) {}

LoopbackNetwork::~LoopbackNetwork() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
}

PeerTransport* LoopbackNetwork::TransportFor(const std::string& node_id) {
  absl::MutexLock lock(&mu_);
  auto& transport = transports_[node_id];
  if (transport == nullptr) transport = std::make_unique<Transport>(this, node_id);
  return transport.get();
}

void LoopbackNetwork::Register(const std::string& node_id, Replicator* replicator) {
  absl::MutexLock lock(&mu_);
  nodes_[node_id] = replicator;
}

void LoopbackNetwork::SetLink(const std::string& from, const std::string& to, bool up) {
  absl::MutexLock lock(&mu_);
  if (up) {
    cut_.erase({from, to});
  } else {
    cut_.insert({from, to});
  }
}

void LoopbackNetwork::Partition(const std::string& node_id, bool cut) {
  std::vector<std::string> others;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, replicator] : nodes_) {
      if (id != node_id) others.push_back(id);
    }
  }
  for (const std::string& other : others) {
    SetLink(node_id, other, !cut);
    SetLink(other, node_id, !cut);
  }
}

int64_t LoopbackNetwork::delivered() const {
  absl::MutexLock lock(&mu_);
  return delivered_;
}

Replicator* LoopbackNetwork::Route(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  if (cut_.contains({from, to})) return nullptr;
  auto it = nodes_.find(to);
  if (it == nodes_.end() || it->second == nullptr) return nullptr;
  ++delivered_;
  return it->second;
}

void LoopbackNetwork::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
}

void LoopbackNetwork::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LoopbackNetwork* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->tasks_.empty();
          },
          this));
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace quotad::testing
