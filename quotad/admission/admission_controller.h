// The admission decision: classify a client, evaluate every limit that
// applies, and charge them all together.
//
// Exactness on one node: each counter (and each idempotency key) maps to one
// of N lock shards. A request first reserves its request_id (a concurrent
// replay waits for the first to finish), then locks the shards of all its
// counters in ascending order, reads, decides and reserves the charge in the
// cache, unlocks, and only then appends one WriteBatch (counters plus the
// idempotency record) to the WAL — outside the locks, so concurrent writers
// share RocksDB's group commit and a hot client is not serialized behind
// disk writes. The reply waits for the write; a failed write rolls the
// reservation back. So 64 concurrent Acquires against a limit of 40 admit
// exactly 40, and a request_id replayed concurrently is charged once.
//
// Each shard also caches the recent hour buckets of its counters
// (CounterCache: bounded; evicted entries are re-read from the store), so the
// request path does one WAL append and no disk reads for active clients.
// Slots merged from peers go through ReplicaMerger, which holds no shard
// lock across its write.
#ifndef QUOTAD_ADMISSION_ADMISSION_CONTROLLER_H_
#define QUOTAD_ADMISSION_ADMISSION_CONTROLLER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "quotad/admission/burst_budgets.h"
#include "quotad/admission/counter_cache.h"
#include "quotad/admission/group_committer.h"
#include "quotad/admission/limit_plan.h"
#include "quotad/admission/replica_merger.h"
#include "quotad/admission/request_validation.h"
#include "quotad/admission/usage_observer.h"
#include "quotad/common/clock.h"
#include "quotad/identity/identity_hasher.h"
#include "quotad/policy/override_source.h"
#include "quotad/policy/policy.h"
#include "quotad/storage/counter_store.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

// Told about every slot increment this node commits (for replication).
// Called right after the durable write: for charges with no lock of the
// controller held, for refunds and resets under the counter's shard lock.
// Implementations must be fast, must not block, and must not call back into
// the controller.
class SlotChangeListener {
 public:
  virtual ~SlotChangeListener() = default;
  // `key` (this node's own origin) grew by `amount`.
  virtual void OnLocalSlotAdded(const SlotKey& key, uint64_t amount) = 0;
  // An admitted request_id was recorded, or its record changed (refunded),
  // durably on this node: `record` is the IdempotencyRecord stored under
  // `key` until `expires` (for peers, MergeRemoteAdmissions).
  virtual void OnAdmissionRecorded(const IdentityHash& key, absl::Time expires,
                                   const std::string& record) {}
};

// What the caller of an Acquire knows of its call (the deadline on the
// controller's clock; the real clock in production). A call whose deadline has
// passed before it is decided gets DEADLINE_EXCEEDED; one whose deadline
// passes, or that is cancelled, before its charge is written is dropped from
// the write and gets DEADLINE_EXCEEDED or CANCELLED: nothing is charged.
struct CallState {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // may be empty; must be thread-safe
};

// Why a client gets the answer it gets (admin usage look-ups).
struct UsageExplanation {
  v1::AcquireResponse decision;  // what an Acquire would answer now
  TierSource source = TierSource::kDefault;
  std::string override_id;
  std::string rule;  // Classification::rule
  // Per limit row: its name, the counter it reads (current key), its window.
  struct RowCounter {
    std::string name;
    CounterId id;
    v1::Window window = v1::ROLLING_24H;
    bool client_address = false;  // counts the client's own address (reset by ResetUsage)
  };
  std::vector<RowCounter> counters;
};

struct AdmissionOptions {
  std::string node_id;
  std::string region;
  // How long a request_id's answer is kept for replays (>= 10 minutes).
  absl::Duration idempotency_ttl = absl::Hours(1);
  // Lock/cache shards and the total number of cached counters.
  int shards = 256;
  size_t max_cached_counters = 1 << 20;
  // Decided charges waiting for the disk; past it, RESOURCE_EXHAUSTED.
  size_t max_commit_queue = 4096;
};

class AdmissionController {
 public:
  // All pointers are borrowed and must outlive the controller. `overrides`
  // may be null. Thread-safe.
  AdmissionController(CounterStore* store, PolicyHolder* policy, const IdentityHasher* hasher,
                      Clock* clock, const OverrideSource* overrides, AdmissionOptions options);

  // Key rotation: while set, usage counted under identities hashed with the
  // previous key still counts toward every limit (read, never charged), so
  // rotating the cluster's hash key resets nobody. Keep it for one window
  // (24 h) after every node has the new key, then drop it. Call before
  // serving; may be null. Borrowed.
  void SetPreviousHasher(const IdentityHasher* previous) { previous_hasher_ = previous; }
  // Fingerprints of the identity keys this node counts under: the current
  // key's, then the previous key's during a rotation (peers compare them).
  std::vector<std::string> KeyFingerprints() const {
    std::vector<std::string> out = {hasher_->KeyFingerprint()};
    if (previous_hasher_ != nullptr) out.push_back(previous_hasher_->KeyFingerprint());
    return out;
  }

  ~AdmissionController();

  // Decides and, if allowed (or shadow-allowed), charges. A request_id
  // already admitted is a replay: its stored answer (`replayed`; `refunded`
  // once given back), nothing charged. Errors: InvalidArgument (bad input,
  // or a request_id admitted for another client; nothing charged);
  // Unavailable (storage failed, nothing charged). Blocks until the charge
  // is durable.
  absl::StatusOr<v1::AcquireResponse> Acquire(const v1::AcquireRequest& request);

  // The same without waiting for other requests' writes: decides on the
  // calling thread, then group-commits (GroupCommitter): if no write is in
  // progress this thread writes its own charge (and whatever queued
  // meanwhile) in one WriteBatch; otherwise the current writer includes it in
  // its next batch. `done` runs once the charge is durable, on whichever
  // thread wrote it (often the caller's); a denial or a replay (nothing to
  // write) is answered at once on the caller's thread. Past the commit
  // queue's bound (AdmissionOptions::max_commit_queue) the answer is
  // RESOURCE_EXHAUSTED at once, nothing charged. `request` need only live
  // until this returns. `done` must not block.
  using AcquireCallback = std::function<void(absl::StatusOr<v1::AcquireResponse>)>;
  void AcquireAsync(const v1::AcquireRequest& request, AcquireCallback done,
                    CallState call = {});

  // The same decision without charging or recording anything.
  absl::StatusOr<v1::AcquireResponse> Check(const v1::AcquireRequest& request);

  // Gives back what the Acquire with this request_id charged. Errors:
  // InvalidArgument; NotFound (unknown, denied or expired request_id: only
  // admitted Acquires are recorded); Unavailable.
  absl::StatusOr<v1::RefundResponse> Refund(const v1::RefundRequest& request);

  // The decision Check would give plus how it was reached. Errors as Check.
  absl::StatusOr<UsageExplanation> Explain(const v1::AcquireRequest& request);

  // Zeroes one counter (its buckets are of `unit`) everywhere: adds a refund
  // to this node's slot equal to the counter's net usage in each bucket its
  // windows read (so the reset replicates like any charge). Returns the
  // units cleared. Errors: Unavailable.
  absl::StatusOr<int64_t> ResetCounter(const CounterId& id, BucketUnit unit);

  // Blocks until no group commit is queued or being written. Call after the
  // server stopped accepting calls and before closing the store.
  void WaitForIdle();

  // Sets the operator override source (e.g. after replication is wired).
  // Call before serving; may be null. Borrowed.
  void SetOverrideSource(const OverrideSource* overrides) { overrides_ = overrides; }

  // Registers the replication listener. Call before serving; may be null.
  void SetChangeListener(SlotChangeListener* listener) { listener_ = listener; }

  // Adds an observer of usage changes and decisions (dashboards'
  // aggregates, usage_observer.h). Call before serving (and before
  // replicating: merged slots are reported too). Borrowed.
  void AddUsageObserver(UsageObserver* observer) { observers_.push_back(observer); }

  // Merges slots learned from peers (ReplicaMerger: local = max(local,
  // remote) per slot, one durable write, no request-path lock held across
  // it). Errors: Unavailable (nothing applied).
  absl::StatusOr<RemoteMergeResult> MergeRemoteSlots(absl::Span<const SlotValue> slots);

  // Stores admitted request_ids learned from a peer, in one write, so a
  // retry of one here replays the first answer and a Refund here gives its
  // charges back. A record already stored is kept, only ever turning
  // refunded (never back); an expired one is skipped. Serialized with
  // Acquire and Refund of the same request_ids. The caller has validated
  // each record (Replicator::HandlePush). Errors: Unavailable (nothing
  // stored).
  struct RemoteAdmission {
    IdentityHash key{};
    absl::Time expires;
    std::string record;     // a valid IdempotencyRecord
    bool refunded = false;  // the record's `refunded`
  };
  absl::Status MergeRemoteAdmissions(absl::Span<const RemoteAdmission> admissions);

  // This incarnation's origin slot id.
  uint64_t origin() const { return store_->origin(); }

 private:
  // What a decided Acquire still has to write, and how to finish it.
  struct PendingCommit;
  struct Decision {
    v1::AcquireResponse response;
    std::unique_ptr<PendingCommit> commit;  // null when nothing to write
    std::optional<DecisionNote> note;       // a fresh decision to charge (not a replay)
  };
  absl::StatusOr<Decision> Decide(const v1::AcquireRequest& request, bool charge,
                                  UsageExplanation* explain = nullptr);
  // Tells every observer that `id`'s net count in `bucket` changed.
  void NotifyUsage(const CounterId& id, uint32_t bucket, int64_t delta) {
    for (UsageObserver* o : observers_) o->OnUsageChanged(id, bucket, delta);
  }
  // Runs after the commit's batch was written with status `written`.
  absl::Status FinishCommit(PendingCommit& commit, const absl::Status& written);
  CounterStore* store_;
  PolicyHolder* policy_;
  const IdentityHasher* hasher_;
  const IdentityHasher* previous_hasher_ = nullptr;
  Clock* clock_;
  const OverrideSource* overrides_;
  SlotChangeListener* listener_ = nullptr;
  std::vector<UsageObserver*> observers_;
  AdmissionOptions options_;
  CounterCache cache_;
  ReplicaMerger merger_;
  BurstBudgets bursts_;

  GroupCommitter committer_;
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_ADMISSION_CONTROLLER_H_
