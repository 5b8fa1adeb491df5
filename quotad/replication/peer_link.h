// One peer's outgoing replication state, with no I/O: the queue of slots and
// records that peer has not acknowledged yet, the byte-bounded Push batches
// cut from it, and the peer's health as seen from here. The Replicator sends
// the batches and reports each outcome back; tests drive it directly.
//
// Batches: every batch's encoded size stays within the current budget
// (kPeerBatchBytes, halved after RESOURCE_EXHAUSTED down to
// kPeerMinBatchBytes and doubled back after each success), whatever the
// backlog, so a backlog can never build a message the peer refuses. Records
// go first (few, and bans matter), then admitted request_ids (so a retry on
// the peer finds the first answer by the time it sees the charge), then
// slots; every batch carries at least one item. One push is in flight at a
// time.
//
// Outcomes: OK removes what the batch carried (unless a larger value was
// queued meanwhile). INVALID_ARGUMENT (the peer refuses the batch's content
// for good) drops the batch, counted and logged: anti-entropy repairs those
// slots. Any other error keeps the batch queued for the next attempt.
//
// Health: the first failure after success (or at start) logs one WARNING
// with the gRPC status; the first success after failure logs one INFO line.
// Errors are counted by status code. The queue is bounded: past
// max_pending_slots it is dropped (counted) and anti-entropy repairs the peer;
// past kMaxPendingAdmissions new admissions are dropped (counted).
//
// Thread-safe: every method takes the link's mutex.
#ifndef QUOTAD_REPLICATION_PEER_LINK_H_
#define QUOTAD_REPLICATION_PEER_LINK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "quotad/replication/peers.h"
#include "quotad/storage/counter_store.h"
#include "quotad/v1/gossip.pb.h"

namespace quotad {

// One Push cut from a link's queue.
struct PushBatch {
  v1::PushRequest request;
  std::vector<std::pair<SlotKey, uint64_t>> slots;  // what it carries, for the ack
  size_t bytes = 0;                                  // request.ByteSizeLong()
};

class PeerLink {
 public:
  PeerLink(PeerConfig config, size_t max_pending_slots);
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  const PeerConfig& config() const { return config_; }

  // Queues absolute slot values (the larger value wins per slot).
  // `values[i]` belongs to `keys[i]`.
  void QueueSlots(absl::Span<const SlotKey> keys, absl::Span<const uint64_t> values,
                  absl::Time now);
  // Queues a record (a newer version of the same key replaces it).
  void QueueRecord(const v1::ReplicatedRecord& record);
  // Queues an admitted request_id (a newer version of the same key replaces
  // it; a new key past kMaxPendingAdmissions is dropped, counted).
  void QueueAdmission(v1::Admission admission);

  // The next batch from `from_node_id` (whose slots carry `origin`), or
  // nullopt when a push is already in flight or nothing is queued. On a
  // batch the link counts a push in flight until Finish.
  std::optional<PushBatch> NextBatch(const std::string& from_node_id, uint64_t origin);
  // Ends the in-flight push. Returns true when more is queued and the
  // outcome allows sending again at once (OK): the caller may chain pushes.
  bool Finish(const PushBatch& batch, const absl::Status& status, absl::Time now);

  // Outcome of any other exchange with the peer (digests, pulls).
  void RecordContact(const absl::Status& status, absl::Time now);
  void CountAntiEntropy(uint64_t ranges_repaired);
  void CountReceived(uint64_t slots);
  void CountPulled(uint64_t slots, uint64_t bytes);

  // Inbound side: a Push from this peer arrived, carrying its current
  // origin and how often it dropped slots meant for this node.
  void RecordInbound(uint64_t origin, uint64_t dropped_for_me, absl::Time now);
  // The peer's current origin while its pushes reach this node healthily
  // (one arrived within `freshness` and nothing was dropped since the last
  // repair); else nullopt.
  std::optional<uint64_t> HealthyInboundOrigin(absl::Time now, absl::Duration freshness) const;
  // Drops reported so far; an anti-entropy round that compared the peer's
  // origin passes the value read at its start to MarkInboundRepaired.
  uint64_t inbound_drops() const;
  // The peer's current origin as last pushed (healthy or not); nullopt
  // before its first push.
  std::optional<uint64_t> inbound_origin() const;
  void MarkInboundRepaired(uint64_t drops);
  // Any call from this peer: whether its identity key matched none of this
  // node's (its calls are refused; a WARNING when that starts, an INFO when
  // it ends) and its policy fingerprint, shown in FillState.
  void RecordPeerKeys(bool key_mismatch, const std::string& policy_fingerprint,
                      bool policy_differs);

  size_t batch_budget() const;
  size_t pending_slots() const;
  bool up() const;
  // This link's PeerState (lag = age of the oldest queued slot).
  void FillState(absl::Time now, v1::PeerState* out) const;

 private:
  struct Pending {
    uint64_t value = 0;
    absl::Time enqueued;
  };
  enum class Health { kUnknown, kUp, kDown };
  void RecordContactLocked(const absl::Status& status, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PeerConfig config_;
  const size_t max_pending_slots_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<SlotKey, Pending> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, v1::ReplicatedRecord> pending_records_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, v1::Admission> pending_admissions_ ABSL_GUARDED_BY(mu_);
  uint64_t admissions_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  bool push_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  size_t budget_ ABSL_GUARDED_BY(mu_);
  Health health_ ABSL_GUARDED_BY(mu_) = Health::kUnknown;
  absl::Time last_contact_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time down_since_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<absl::StatusCode, uint64_t> errors_by_code_ ABSL_GUARDED_BY(mu_);
  uint64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t slots_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_sent_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t batches_dropped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t slots_received_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t overflows_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t anti_entropy_rounds_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t ranges_repaired_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t slots_pulled_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t bytes_pulled_ ABSL_GUARDED_BY(mu_) = 0;
  // Inbound.
  uint64_t inbound_origin_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time inbound_last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t inbound_drops_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t inbound_repaired_ ABSL_GUARDED_BY(mu_) = 0;
  bool key_mismatch_ ABSL_GUARDED_BY(mu_) = false;
  bool policy_differs_ ABSL_GUARDED_BY(mu_) = false;
  std::string policy_fingerprint_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quotad

#endif  // QUOTAD_REPLICATION_PEER_LINK_H_
