// Cross-region replication of counter slots (a state-based CRDT).
//
// Model: every counter bucket has one grow-only slot per origin (a node
// incarnation); only the owning process increments its slot; replicas merge
// slots by maximum; a counter is the sum of its slots. Merge is commutative,
// associative and idempotent, so duplicated, reordered or replayed gossip is
// harmless.
//
// Two mechanisms, both over GossipService on the peers' peer listeners
// (reached through a PeerTransport: gRPC in production, any other in tests):
//  * Delta push: local increments mark slots dirty; every gossip interval a
//    collector reads their absolute values and queues them per peer (a
//    PeerLink); one asynchronous Push per peer is in flight at a time, each
//    batch bounded by encoded bytes (peer_limits.h); acknowledged entries
//    leave the queue and, while a backlog remains, the next batch is sent at
//    once. A queue that outgrows its bound is dropped (counted) and
//    anti-entropy repairs the peer.
//  * Anti-entropy: every interval, per peer, compare per-range sketches
//    (SlotDigests) over the live hours, then the live days, and pull only
//    the ranges that differ (minute buckets travel by push only).
//    A node back from an hour-long partition pulls what it missed without a
//    full state transfer.
//
// Admissions: pushes also carry this node's admitted request_ids (and their
// refunds), so a retry or Refund of a request_id on any node after
// convergence finds the first answer. Pushed only (no anti-entropy): one
// dropped with a refused batch or a full queue (kMaxPendingAdmissions) is
// not repaired, and a retry of it elsewhere is charged again.
//
// Records: the same channel carries last-writer-wins records (operator
// overrides and bans) stamped with a hybrid logical clock and the writer's
// node id; the larger (hlc, node_id) wins on every node. Deletes are
// tombstones, kept for good (a peer back from any absence cannot revive a
// deleted record); records expired for expired_record_ttl are dropped. Push carries changed
// records; anti-entropy compares a records digest and pulls all records, page by page, on mismatch
// (records are few).
//
// Validation: batches from unknown node ids, addressed to another node id,
// carrying slots of another origin than the sender's, a slot value above
// kMaxSlotValue, or a record of an unregistered kind or one its kind's check
// refuses (e.g. an override whose key does not match its id) are refused
// whole; future
// buckets beyond the clock-skew bound and claims about this incarnation's own
// slot are dropped; every rejection is counted in Status().
#ifndef QUOTAD_REPLICATION_REPLICATOR_H_
#define QUOTAD_REPLICATION_REPLICATOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/common/clock.h"
#include "quotad/policy/policy.h"
#include "quotad/replication/hlc.h"
#include "quotad/replication/peer_link.h"
#include "quotad/replication/peer_transport.h"
#include "quotad/replication/peers.h"
#include "quotad/replication/slot_digests.h"
#include "quotad/rpc/unary.h"
#include "quotad/storage/counter_store.h"
#include "quotad/storage/record_store.h"
#include "quotad/v1/gossip.grpc.pb.h"

namespace quotad {

struct ReplicatorOptions {
  std::string node_id;
  std::vector<PeerConfig> peers;
  absl::Duration gossip_interval = absl::Milliseconds(200);
  absl::Duration anti_entropy_interval = absl::Seconds(5);
  absl::Duration max_clock_skew = absl::Minutes(5);
  absl::Duration rpc_timeout = absl::Seconds(2);
  // Anti-entropy calls: the first page of a pull builds a view of the
  // counters (a memtable copy), which takes seconds on a busy node.
  absl::Duration anti_entropy_rpc_timeout = absl::Seconds(15);
  // A background anti-entropy round may take this long (at least the interval).
  absl::Duration anti_entropy_round_timeout = absl::Seconds(30);
  size_t max_pending_slots = 1 << 20;
  absl::Duration expired_record_ttl = absl::Hours(24 * 7);
  // How peers are reached; null: gRPC (NewGrpcPeerTransport). Borrowed.
  PeerTransport* transport = nullptr;
};

class Replicator final : public SlotChangeListener {
 public:
  // Borrowed pointers must outlive the replicator. Registers itself as the
  // admission controller's change listener when it has peers.
  Replicator(AdmissionController* admission, CounterStore* store, RecordStore* records,
             PolicyHolder* policy, Clock* clock, ReplicatorOptions options);
  ~Replicator() override;  // Stop()s

  // Builds the sketches from a full scan of the store (skipped when there
  // are no peers: nobody would ask for them). Call once, before Start() and
  // before serving.
  absl::Status RebuildDigests();
  // Moves the record clock past every stored record's timestamp, so a write
  // made right after a restart (even with the wall clock stepped back) wins
  // over every record written before it. Call once, before serving.
  // Errors: Unavailable.
  absl::Status RestoreRecordClock();
  // One anti-entropy round with every peer, bounded by `timeout` in total;
  // used at start so a restarted node catches up before it serves.
  void InitialSync(absl::Duration timeout);
  // Starts the gossip and anti-entropy threads. Stop() joins them and waits
  // for in-flight pushes.
  void Start();
  void Stop();

  void OnLocalSlotAdded(const SlotKey& key, uint64_t amount) override;
  // Queues the admitted request_id for every peer (pushed with the next
  // batch; peers store it with AdmissionController::MergeRemoteAdmissions).
  void OnAdmissionRecorded(const IdentityHash& key, absl::Time expires,
                           const std::string& record) override;

  // Server side of GossipService. Errors: InvalidArgument (malformed),
  // PermissionDenied (unknown sender), FailedPrecondition (wrong target),
  // Unavailable (storage).
  absl::StatusOr<v1::PushResponse> HandlePush(const v1::PushRequest& request);
  absl::StatusOr<v1::DigestResponse> HandleDigest(const v1::DigestRequest& request);
  absl::StatusOr<v1::PullRangeResponse> HandlePullRange(const v1::PullRangeRequest& request);
  absl::StatusOr<v1::PullRecordsResponse> HandlePullRecords(const v1::PullRecordsRequest& request);
  v1::GossipStatusResponse Status() const;
  // This node's own stats for a peer (replicator_stats.cc); FailedPrecondition
  // until SetStatsProvider.
  absl::StatusOr<v1::StatsResponse> HandleNodeStats(const v1::NodeStatsRequest& request);
  // What HandleNodeStats answers (the admin service's own GetStats). Set
  // before the peer listener serves; may be empty.
  using StatsProvider = std::function<absl::StatusOr<v1::StatsResponse>()>;
  void SetStatsProvider(StatsProvider provider) { stats_provider_ = std::move(provider); }
  // Asks every peer for its own stats, all at once, each call bounded by
  // `timeout`; one result per configured peer, in --peers order.
  struct PeerStatsResult {
    std::string node_id;
    absl::StatusOr<v1::StatsResponse> stats;
  };
  std::vector<PeerStatsResult> CollectPeerStats(absl::Duration timeout);
  // A call refused because its certificate did not name its sender (the
  // gRPC adapter checks certificates; counted here for Status()).
  void CountCertificateMismatch() {
    rejected_certificate_mismatch_.fetch_add(1, std::memory_order_relaxed);
  }
  // Status() computed at most once per `max_age`: a metrics scrape reads
  // many gauges, and each Status() walks every peer's queue (up to 1M
  // entries while a peer is down).
  v1::GossipStatusResponse RecentStatus(absl::Duration max_age) const;

  // Writes a record stamped now and replicates it. `expires` =
  // InfiniteFuture for never. Errors: InvalidArgument (empty or oversized
  // key/value), Unavailable.
  absl::StatusOr<v1::ReplicatedRecord> PutRecord(const std::string& key, const std::string& value,
                                                 absl::Time expires);
  // Writes a tombstone for `key` and replicates it.
  absl::StatusOr<v1::ReplicatedRecord> DeleteRecord(const std::string& key);
  // The live record (not deleted, not expired) or nullopt.
  absl::StatusOr<std::optional<v1::ReplicatedRecord>> GetRecord(const std::string& key);
  // Visits live records whose key starts with `prefix`.
  absl::Status ListRecords(const std::string& prefix,
                           const std::function<bool(const v1::ReplicatedRecord&)>& fn);

  // Record kinds. A record's key must start with a registered prefix, and
  // that kind's check (if any) must accept the record, tombstones included
  // (the check sees `deleted`). Otherwise a local write fails with
  // InvalidArgument, a Push carrying it is refused whole (counted as
  // malformed), and a pulled one is skipped (counted as a rejected record).
  // Register every kind before the first exchange with a peer (InitialSync,
  // Start, serving); the prefix "" admits every key (tests).
  using RecordCheck = std::function<absl::Status(const v1::ReplicatedRecord&)>;
  void AddRecordKind(std::string prefix, RecordCheck check = nullptr) {
    record_kinds_.emplace_back(std::move(prefix), std::move(check));
  }

  // Called (outside internal locks) whenever a record changes locally, by a
  // local write or a merge from a peer. Set before Start(); may be empty.
  void SetRecordListener(std::function<void(const std::string& key)> listener) {
    record_listener_ = std::move(listener);
  }

  // One anti-entropy round with peer `index` (0-based in options.peers),
  // bounded by `deadline`. A round compares per-range sketches, refines the
  // differing ranges to hours, and pulls the differing ranges over the hours
  // in which any of them differs, in byte-bounded pages. It leaves out the
  // origins whose changes arrive by push (this node's own slot, and each
  // peer's current slot while its pushes reach this node and it has dropped
  // nothing for it); `full` (start-up) leaves out only this node's own slot.
  // Then the same over the live day buckets, leaving out nothing (minute
  // buckets are never compared: time_buckets.h).
  absl::Status AntiEntropyWith(size_t index, absl::Time deadline, bool full = false);

 private:
  struct Peer {
    Peer(PeerConfig config, size_t max_pending_slots)
        : link(std::move(config), max_pending_slots) {}
    PeerLink link;
    std::unique_ptr<PeerChannel> channel;
  };
  struct DirtyStripe {
    absl::Mutex mu;
    std::vector<SlotKey> keys ABSL_GUARDED_BY(mu);
  };
  static constexpr int kDirtyStripes = 16;

  struct HourWindow {
    uint32_t from = 0;
    uint32_t to = 0;
  };
  // The calls of one anti-entropy round with one peer, each bounded by the
  // RPC timeout and the round's deadline. A failed call marks the peer down,
  // unless the round merely ran out of its own time.
  struct RoundCalls {
    Replicator* self;
    Peer& peer;
    absl::Time deadline;
    template <typename Request>
    Request Header() const {
      Request request;
      request.set_from_node_id(self->options_.node_id);
      request.set_to_node_id(peer.link.config().node_id);
      self->StampKeys(&request);
      return request;
    }
    template <typename Request, typename Response>
    absl::Status Run(absl::Status (PeerChannel::*method)(const Request&, Response*, absl::Time),
                     const Request& request, Response* response) {
      const absl::Time call_deadline =
          std::min(deadline, absl::Now() + self->options_.anti_entropy_rpc_timeout);
      absl::Status s = (peer.channel.get()->*method)(request, response, call_deadline);
      if (s.ok() || !absl::IsDeadlineExceeded(s) || absl::Now() < deadline) {
        peer.link.RecordContact(s, absl::Now());
      }
      return s;
    }
  };
  // The live hour buckets a round compares (at most SlotDigests::kHours);
  // the last 34 day buckets (what a calendar-month window reads; older usage
  // meters are final and were pushed).
  HourWindow LiveWindow() const;
  HourWindow LiveDayWindow() const;
  // Every call to a peer carries this node's key and policy fingerprints.
  template <typename Request>
  void StampKeys(Request* request) const {
    for (std::string& f : admission_->KeyFingerprints()) request->add_key_fingerprints(std::move(f));
    request->set_policy_fingerprint(policy_->Current()->fingerprint());
  }
  // A call from a peer: a configured sender, addressed to this node, sharing
  // one of its identity keys (else FAILED_PRECONDITION, counted).
  template <typename Request>
  absl::Status CheckSender(const Request& request) {
    if (absl::Status s = CheckSender(request.from_node_id(), request.to_node_id()); !s.ok()) {
      return s;
    }
    return CheckPeerKeys(request.from_node_id(), request.key_fingerprints(),
                         request.policy_fingerprint());
  }
  absl::Status CheckSender(const std::string& from, const std::string& to) const;
  absl::Status CheckPeerKeys(const std::string& from,
                             const google::protobuf::RepeatedPtrField<std::string>& theirs,
                             const std::string& policy_fingerprint);
  // Counts a malformed request or response (Status().rejected_malformed) and
  // returns `error`.
  absl::Status Malformed(absl::Status error) {
    rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
    return error;
  }
  // Pulls every record page from the round's peer and merges them.
  absl::Status PullRecordsFrom(RoundCalls& calls);
  // Compares the per-range sketches over `window` with the peer's (leaving
  // out what both can of `exclude`) and pulls the ranges that differ.
  // `remote` gets the peer's Digest answer. Returns how many ranges differed.
  absl::StatusOr<int> RepairWindow(RoundCalls& calls, HourWindow window,
                                   const std::vector<uint64_t>& exclude,
                                   v1::DigestResponse* remote);
  // Refines the differing ranges in `refine` to buckets and pulls those.
  absl::Status PullDiffering(RoundCalls& calls, HourWindow window,
                             const v1::DigestRequest& refine);
  // Pulls every page of `pull` and merges it.
  absl::Status PullPages(RoundCalls& calls, v1::PullRangeRequest pull);
  // This node's origin plus the current origins of peers whose pushes reach
  // it healthily (see AntiEntropyWith), those the sketches can leave out.
  std::vector<uint64_t> PushedOrigins(absl::Time now) const;
  // How recent a peer's last push must be for its origin to count as pushed.
  absl::Duration InboundFreshness() const;
  Peer* FindPeer(const std::string& node_id) const;
  // Validates and merges slots; updates sketches and counters.
  absl::StatusOr<RemoteMergeResult> Apply(std::vector<SlotValue> slots, size_t* rejected);
  // Apply in chunks of kMergeChunkSlots (a large batch never holds many
  // shard locks at once); `rejected` accumulates.
  absl::StatusOr<RemoteMergeResult> ApplyInChunks(std::vector<SlotValue> slots, size_t* rejected);

  // Last-writer-wins merge of one record; true if it replaced the local one.
  absl::StatusOr<bool> MergeRecord(const v1::ReplicatedRecord& record);
  absl::Status ValidateRecord(const v1::ReplicatedRecord& record) const;
  bool Droppable(const v1::ReplicatedRecord& record) const;
  bool Live(const v1::ReplicatedRecord& record) const;
  absl::StatusOr<uint64_t> RecordsDigest();
  void QueueRecord(const v1::ReplicatedRecord& record);

  void GossipLoop();
  void AntiEntropyLoop();
  void CollectDirty();
  void SendPush(Peer& peer);

  AdmissionController* admission_;
  CounterStore* store_;
  RecordStore* records_;
  PolicyHolder* policy_;
  Clock* clock_;
  ReplicatorOptions options_;
  std::unique_ptr<PeerTransport> own_transport_;  // when options_.transport is null
  std::vector<std::unique_ptr<Peer>> peers_;
  SlotDigests digests_;
  HybridLogicalClock hlc_;
  absl::Mutex records_mu_;  // serialises record read-merge-write
  std::function<void(const std::string&)> record_listener_;
  StatsProvider stats_provider_;
  std::vector<std::pair<std::string, RecordCheck>> record_kinds_;
  std::array<DirtyStripe, kDirtyStripes> dirty_;

  mutable std::atomic<uint64_t> rejected_unknown_node_{0};
  mutable std::atomic<uint64_t> rejected_wrong_target_{0};
  std::atomic<uint64_t> rejected_malformed_{0};
  std::atomic<uint64_t> rejected_future_bucket_{0};
  std::atomic<uint64_t> rejected_own_slot_{0};
  std::atomic<uint64_t> rejected_foreign_origin_{0};
  std::atomic<uint64_t> slots_applied_{0};
  std::atomic<uint64_t> records_applied_{0};
  std::atomic<uint64_t> rejected_records_{0};
  std::atomic<uint64_t> rejected_key_mismatch_{0};
  std::atomic<uint64_t> rejected_certificate_mismatch_{0};

  mutable absl::Mutex status_mu_;
  mutable v1::GossipStatusResponse recent_status_ ABSL_GUARDED_BY(status_mu_);
  mutable absl::Time recent_status_at_ ABSL_GUARDED_BY(status_mu_) = absl::InfinitePast();

  absl::Mutex lifecycle_mu_;
  bool stopping_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  int pushes_in_flight_ ABSL_GUARDED_BY(lifecycle_mu_) = 0;
  std::thread gossip_thread_;
  std::thread anti_entropy_thread_;
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_REPLICATOR_H_
