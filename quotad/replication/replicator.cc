#include "quotad/replication/replicator.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/replication/peer_limits.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/storage.pb.h"

namespace quotad {
namespace {

// A Push is merged in chunks of this many slots: each chunk is one durable
// write, and the merge holds shard locks only around memory updates
// (ReplicaMerger), never across the write.
constexpr size_t kMergeChunkSlots = 256;

// An admitted request_id from a peer: a 16-byte key, a record that parses and
// names valid counters, an expiry within kMaxAdmissionTtl of `now`. Fills
// `out` for AdmissionController::MergeRemoteAdmissions.
absl::Status ValidateAdmission(const v1::Admission& a, absl::Time now,
                               AdmissionController::RemoteAdmission* out) {
  if (a.key().size() != sizeof(IdentityHash)) {
    return absl::InvalidArgumentError("key: not 16 bytes");
  }
  if (a.expires_unix_micros() <= 0 ||
      absl::FromUnixMicros(a.expires_unix_micros()) > now + kMaxAdmissionTtl) {
    return absl::InvalidArgumentError("expires_unix_micros: not within the admission TTL bound");
  }
  v1::IdempotencyRecord record;
  if (!record.ParseFromString(a.record())) {
    return absl::InvalidArgumentError("record: not an IdempotencyRecord");
  }
  for (const auto& c : record.charged()) {
    if (!CounterId::Decode(c.counter_id())) {
      return absl::InvalidArgumentError("record: bad counter");
    }
  }
  if (!record.client().empty() && !CounterId::Decode(record.client())) {
    return absl::InvalidArgumentError("record: bad client");
  }
  std::memcpy(out->key.data(), a.key().data(), out->key.size());
  out->expires = absl::FromUnixMicros(a.expires_unix_micros());
  out->record = a.record();
  out->refunded = record.refunded();
  return absl::OkStatus();
}

}  // namespace

struct PushCall {
  PushBatch batch;
  v1::PushResponse response;
};

Replicator::Replicator(AdmissionController* admission, CounterStore* store,
                       RecordStore* records, PolicyHolder* policy, Clock* clock,
                       ReplicatorOptions options)
    : admission_(admission),
      store_(store),
      records_(records),
      policy_(policy),
      clock_(clock),
      options_(std::move(options)),
      hlc_(clock) {
  PeerTransport* transport = options_.transport;
  if (transport == nullptr) {
    own_transport_ = NewGrpcPeerTransport();
    transport = own_transport_.get();
  }
  for (const PeerConfig& config : options_.peers) {
    auto peer = std::make_unique<Peer>(config, options_.max_pending_slots);
    peer->channel = transport->Connect(config);
    peers_.push_back(std::move(peer));
  }
  // With no peer there is nothing to tell (and the request path then keeps
  // no copy of an admission's record for replication).
  if (!peers_.empty()) admission_->SetChangeListener(this);
}

Replicator::~Replicator() {
  Stop();
  if (!peers_.empty()) admission_->SetChangeListener(nullptr);
}

void Replicator::Start() {
  if (peers_.empty()) return;
  gossip_thread_ = std::thread([this] { GossipLoop(); });
  anti_entropy_thread_ = std::thread([this] { AntiEntropyLoop(); });
}

void Replicator::Stop() {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    stopping_ = true;
  }
  // An anti-entropy call may wait up to its timeout: cut it short.
  for (auto& peer : peers_) peer->channel->Shutdown();
  if (gossip_thread_.joinable()) gossip_thread_.join();
  if (anti_entropy_thread_.joinable()) anti_entropy_thread_.join();
  absl::MutexLock lock(&lifecycle_mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(lifecycle_mu_) {
    return pushes_in_flight_ == 0;
  };
  lifecycle_mu_.Await(absl::Condition(&idle));
}

void Replicator::OnLocalSlotAdded(const SlotKey& key, uint64_t amount) {
  if (peers_.empty()) return;
  digests_.Add(key, amount);
  DirtyStripe& stripe = dirty_[key.id.hash[1] % kDirtyStripes];
  absl::MutexLock lock(&stripe.mu);
  stripe.keys.push_back(key);
}

void Replicator::OnAdmissionRecorded(const IdentityHash& key, absl::Time expires,
                                     const std::string& record) {
  if (peers_.empty()) return;
  v1::Admission admission;
  admission.set_key(reinterpret_cast<const char*>(key.data()), key.size());
  admission.set_expires_unix_micros(absl::ToUnixMicros(expires));
  admission.set_record(record);
  for (auto& peer : peers_) peer->link.QueueAdmission(admission);
}

Replicator::Peer* Replicator::FindPeer(const std::string& node_id) const {
  for (const auto& p : peers_) {
    if (p->link.config().node_id == node_id) return p.get();
  }
  return nullptr;
}

absl::Status Replicator::CheckSender(const std::string& from, const std::string& to) const {
  if (FindPeer(from) == nullptr) {
    rejected_unknown_node_.fetch_add(1, std::memory_order_relaxed);
    return absl::PermissionDeniedError(
        absl::StrCat("from_node_id: '", from, "' is not a configured peer of ", options_.node_id));
  }
  if (to != options_.node_id) {
    rejected_wrong_target_.fetch_add(1, std::memory_order_relaxed);
    return absl::FailedPreconditionError(
        absl::StrCat("to_node_id: this is node '", options_.node_id, "', not '", to, "'"));
  }
  return absl::OkStatus();
}

absl::Status Replicator::CheckPeerKeys(
    const std::string& from, const google::protobuf::RepeatedPtrField<std::string>& theirs,
    const std::string& policy_fingerprint) {
  const std::vector<std::string> ours = admission_->KeyFingerprints();
  bool shared = false;
  for (const std::string& f : theirs) shared |= absl::c_linear_search(ours, f);
  const bool policy_differs = policy_fingerprint != policy_->Current()->fingerprint();
  if (Peer* peer = FindPeer(from)) peer->link.RecordPeerKeys(!shared, policy_fingerprint, policy_differs);
  if (shared) return absl::OkStatus();
  rejected_key_mismatch_.fetch_add(1, std::memory_order_relaxed);
  return absl::FailedPreconditionError(absl::StrCat(
      "node ", from, " hashes client identities with another key (key fingerprints [",
      absl::StrJoin(theirs, ","), "], this node's [", absl::StrJoin(ours, ","),
      "]): the two would count every client under different ids; give every node the same "
      "--hash_key_file"));
}

absl::StatusOr<RemoteMergeResult> Replicator::Apply(std::vector<SlotValue> slots,
                                                    size_t* rejected) {
  const absl::Time now = clock_->Now();
  const absl::Time latest_allowed = now + options_.max_clock_skew;
  size_t future = 0;
  slots.erase(std::remove_if(slots.begin(), slots.end(),
                             [&](const SlotValue& s) {
                               if (BucketStart(s.key.hour) > latest_allowed) {
                                 ++future;
                                 return true;
                               }
                               return false;
                             }),
              slots.end());
  rejected_future_bucket_.fetch_add(future, std::memory_order_relaxed);
  QUOTAD_ASSIGN_OR_RETURN(RemoteMergeResult result, admission_->MergeRemoteSlots(slots));
  for (const SlotChange& c : result.applied) digests_.Add(c.key, c.new_value - c.old_value);
  slots_applied_.fetch_add(result.applied.size(), std::memory_order_relaxed);
  rejected_own_slot_.fetch_add(result.rejected_own_slot, std::memory_order_relaxed);
  *rejected = future + result.rejected_own_slot;
  return result;
}

absl::StatusOr<RemoteMergeResult> Replicator::ApplyInChunks(std::vector<SlotValue> slots,
                                                            size_t* rejected) {
  RemoteMergeResult result;
  for (size_t begin = 0; begin < slots.size(); begin += kMergeChunkSlots) {
    const size_t end = std::min(slots.size(), begin + kMergeChunkSlots);
    size_t chunk_rejected = 0;
    QUOTAD_ASSIGN_OR_RETURN(
        RemoteMergeResult chunk,
        Apply(std::vector<SlotValue>(slots.begin() + static_cast<std::ptrdiff_t>(begin),
                                     slots.begin() + static_cast<std::ptrdiff_t>(end)),
              &chunk_rejected));
    *rejected += chunk_rejected;
    result.stale += chunk.stale;
    result.rejected_own_slot += chunk.rejected_own_slot;
    result.applied.insert(result.applied.end(), chunk.applied.begin(), chunk.applied.end());
  }
  return result;
}

absl::StatusOr<v1::PushResponse> Replicator::HandlePush(const v1::PushRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request));
  if (request.from_origin() == 0) {
    return Malformed(absl::InvalidArgumentError("from_origin: required"));
  }
  std::vector<SlotValue> slots;
  slots.reserve(static_cast<size_t>(request.slots_size()));
  for (int i = 0; i < request.slots_size(); ++i) {
    auto key = SlotKey::Decode(request.slots(i).key());
    if (!key) {
      return Malformed(absl::InvalidArgumentError(absl::StrCat("slots[", i, "].key: malformed")));
    }
    if (key->origin != request.from_origin()) {
      rejected_foreign_origin_.fetch_add(1, std::memory_order_relaxed);
      return absl::InvalidArgumentError(
          absl::StrCat("slots[", i, "].key: origin differs from from_origin"));
    }
    if (request.slots(i).value() > kMaxSlotValue) {
      return Malformed(absl::InvalidArgumentError(absl::StrCat(
          "slots[", i, "].value: ", request.slots(i).value(), " is above ", kMaxSlotValue)));
    }
    slots.push_back({*key, request.slots(i).value()});
  }
  for (int i = 0; i < request.records_size(); ++i) {
    if (absl::Status s = ValidateRecord(request.records(i)); !s.ok()) {
      return Malformed(absl::InvalidArgumentError(absl::StrCat("records[", i, "].", s.message())));
    }
  }
  std::vector<AdmissionController::RemoteAdmission> admissions(
      static_cast<size_t>(request.admissions_size()));
  for (int i = 0; i < request.admissions_size(); ++i) {
    if (absl::Status s = ValidateAdmission(request.admissions(i), clock_->Now(),
                                           &admissions[static_cast<size_t>(i)]);
        !s.ok()) {
      return Malformed(
          absl::InvalidArgumentError(absl::StrCat("admissions[", i, "].", s.message())));
    }
  }
  // Admissions before their charges: a retry here that sees the charge
  // finds the first answer too.
  QUOTAD_RETURN_IF_ERROR(admission_->MergeRemoteAdmissions(admissions));
  size_t rejected = 0;
  QUOTAD_ASSIGN_OR_RETURN(RemoteMergeResult result, ApplyInChunks(std::move(slots), &rejected));
  const absl::Time latest_allowed = clock_->Now() + options_.max_clock_skew;
  for (const v1::ReplicatedRecord& record : request.records()) {
    if (HybridLogicalClock::PhysicalMillis(record.hlc()) > absl::ToUnixMillis(latest_allowed)) {
      rejected_records_.fetch_add(1, std::memory_order_relaxed);
      ++rejected;
      continue;
    }
    QUOTAD_RETURN_IF_ERROR(MergeRecord(record).status());
  }
  if (Peer* peer = FindPeer(request.from_node_id())) {
    peer->link.CountReceived(static_cast<uint64_t>(request.slots_size()));
    peer->link.RecordInbound(request.from_origin(), request.dropped_for_you(), absl::Now());
  }
  v1::PushResponse response;
  response.set_applied(static_cast<uint32_t>(result.applied.size()));
  response.set_stale(static_cast<uint32_t>(result.stale));
  response.set_rejected(static_cast<uint32_t>(rejected));
  return response;
}

void Replicator::CollectDirty() {
  absl::flat_hash_set<SlotKey> unique;
  for (DirtyStripe& stripe : dirty_) {
    std::vector<SlotKey> keys;
    {
      absl::MutexLock lock(&stripe.mu);
      keys.swap(stripe.keys);
    }
    unique.insert(keys.begin(), keys.end());
  }
  if (unique.empty()) return;
  std::vector<SlotKey> keys(unique.begin(), unique.end());
  auto values = store_->GetSlots(keys);
  if (!values.ok()) {
    QUOTAD_LOG(WARNING) << "replication: cannot read dirty slots: " << values.status();
    absl::MutexLock lock(&dirty_[0].mu);
    dirty_[0].keys.insert(dirty_[0].keys.end(), keys.begin(), keys.end());
    return;
  }
  const absl::Time now = absl::Now();
  for (auto& peer : peers_) peer->link.QueueSlots(keys, *values, now);
}

void Replicator::SendPush(Peer& peer) {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (stopping_) return;
    ++pushes_in_flight_;
  }
  std::optional<PushBatch> batch = peer.link.NextBatch(options_.node_id, store_->origin());
  if (!batch) {
    absl::MutexLock lock(&lifecycle_mu_);
    --pushes_in_flight_;
    return;
  }
  StampKeys(&batch->request);
  auto call = std::make_unique<PushCall>();
  call->batch = std::move(*batch);
  PushCall* raw = call.release();
  peer.channel->Push(raw->batch.request, &raw->response, absl::Now() + options_.rpc_timeout,
                     [this, &peer, raw](absl::Status status) {
                       std::unique_ptr<PushCall> done(raw);
                       // While a backlog remains, the next batch goes at
                       // once instead of waiting for the next tick.
                       const bool more = peer.link.Finish(done->batch, status, absl::Now());
                       done.reset();  // before Stop() can see this push end
                       if (more) SendPush(peer);
                       absl::MutexLock lock(&lifecycle_mu_);
                       --pushes_in_flight_;
                     });
}

void Replicator::GossipLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&lifecycle_mu_);
      lifecycle_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.gossip_interval);
      if (stopping_) return;
    }
    CollectDirty();
    for (auto& peer : peers_) SendPush(*peer);
  }
}

v1::GossipStatusResponse Replicator::RecentStatus(absl::Duration max_age) const {
  absl::MutexLock lock(&status_mu_);
  const absl::Time now = absl::Now();
  if (now - recent_status_at_ >= max_age) {
    recent_status_ = Status();
    recent_status_at_ = now;
  }
  return recent_status_;
}

v1::GossipStatusResponse Replicator::Status() const {
  v1::GossipStatusResponse out;
  out.set_node_id(options_.node_id);
  out.set_origin(store_->origin());
  const absl::Time now = absl::Now();
  for (const auto& peer : peers_) peer->link.FillState(now, out.add_peers());
  out.set_rejected_unknown_node(rejected_unknown_node_.load());
  out.set_rejected_wrong_target(rejected_wrong_target_.load());
  out.set_rejected_malformed(rejected_malformed_.load());
  out.set_rejected_future_bucket(rejected_future_bucket_.load());
  out.set_rejected_own_slot(rejected_own_slot_.load());
  out.set_rejected_foreign_origin(rejected_foreign_origin_.load());
  out.set_slots_applied(slots_applied_.load());
  out.set_records_applied(records_applied_.load());
  out.set_rejected_records(rejected_records_.load());
  out.set_rejected_key_mismatch(rejected_key_mismatch_.load());
  out.set_rejected_certificate_mismatch(rejected_certificate_mismatch_.load());
  for (std::string& f : admission_->KeyFingerprints()) out.add_key_fingerprints(std::move(f));
  out.set_policy_fingerprint(policy_->Current()->fingerprint());
  return out;
}

}  // namespace quotad
