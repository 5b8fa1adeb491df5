#include "quotad/replication/replicator.h"

#include <algorithm>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "quotad/rpc/unary.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/replication/peer_limits.h"

namespace quotad {
namespace {

std::chrono::system_clock::time_point ToDeadline(absl::Time t) {
  return absl::ToChronoTime(t);
}

constexpr size_t kMaxPullSlots = 16384;
constexpr size_t kMaxRecordKeyBytes = 1024;
constexpr size_t kMaxRecordValueBytes = 64 * 1024;
// A Push is merged in chunks of this many slots, so one batch never holds
// many request-path shard locks at once.
constexpr size_t kMergeChunkSlots = 256;

uint64_t RecordFingerprint(const v1::ReplicatedRecord& r) {
  uint64_t h = 0x243F6A8885A308D3ULL;
  auto mix = [&h](absl::string_view bytes) {
    for (char c : bytes) {
      h ^= static_cast<uint8_t>(c);
      h *= 0x100000001B3ULL;  // FNV-1a step; stable across processes
    }
    h ^= h >> 29;
  };
  mix(r.key());
  char hlc[8];
  for (int i = 0; i < 8; ++i) hlc[i] = static_cast<char>((r.hlc() >> (8 * i)) & 0xff);
  mix(absl::string_view(hlc, sizeof(hlc)));
  mix(r.node_id());
  mix(r.deleted() ? "d" : "l");
  return h;
}

}  // namespace

struct PushCall {
  grpc::ClientContext context;
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
  for (const PeerConfig& config : options_.peers) {
    auto peer = std::make_unique<Peer>(config, options_.max_pending_slots);
    grpc::ChannelArguments args;
    // Reconnect quickly after a partition heals.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Pages are bounded far below this; the limit is explicit on both ends.
    args.SetMaxReceiveMessageSize(kPeerMaxMessageBytes);
    args.SetMaxSendMessageSize(kPeerMaxMessageBytes);
    peer->stub = v1::GossipService::NewStub(
        grpc::CreateCustomChannel(config.address, grpc::InsecureChannelCredentials(), args));
    peers_.push_back(std::move(peer));
  }
  admission_->SetChangeListener(this);
}

Replicator::~Replicator() {
  Stop();
  admission_->SetChangeListener(nullptr);
}

absl::Status Replicator::RebuildDigests() {
  // Sketches only serve peers; a standalone node skips the full scan.
  if (peers_.empty()) return absl::OkStatus();
  size_t slots = 0;
  auto visited = store_->ScanSlots("", 0, UINT32_MAX, "", SIZE_MAX, [&](const SlotValue& v) {
    digests_.Add(v.key, v.value);
    ++slots;
    return true;
  });
  if (!visited.ok()) return visited.status();
  QUOTAD_LOG(INFO) << "replication: " << slots << " live slots, " << peers_.size() << " peers";
  return absl::OkStatus();
}

void Replicator::InitialSync(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (size_t i = 0; i < peers_.size() && absl::Now() < deadline; ++i) {
    if (absl::Status s = AntiEntropyWith(i, deadline); !s.ok()) {
      QUOTAD_LOG(INFO) << "initial sync with " << peers_[i]->link.config().node_id << ": "
                       << s.message();
    }
  }
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

Replicator::HourWindow Replicator::LiveWindow() const {
  const absl::Time now = clock_->Now();
  const int64_t retention = policy_->Current()->retention_hours();
  const uint32_t to = HourOf(now + options_.max_clock_skew);
  // Skip the oldest live hour: it may expire mid-exchange on one side.
  int64_t from = int64_t{HourOf(now)} - retention + 2;
  from = std::max<int64_t>(from, int64_t{to} - (SlotDigests::kHours - 1));
  return {static_cast<uint32_t>(std::max<int64_t>(from, 0)), to};
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

absl::StatusOr<RemoteMergeResult> Replicator::Apply(std::vector<SlotValue> slots,
                                                    size_t* rejected) {
  const absl::Time now = clock_->Now();
  const absl::Time latest_allowed = now + options_.max_clock_skew;
  size_t future = 0;
  slots.erase(std::remove_if(slots.begin(), slots.end(),
                             [&](const SlotValue& s) {
                               if (StartOfHour(s.key.hour) > latest_allowed) {
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

absl::StatusOr<v1::PushResponse> Replicator::HandlePush(const v1::PushRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request.from_node_id(), request.to_node_id()));
  if (request.from_origin() == 0) {
    rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
    return absl::InvalidArgumentError("from_origin: required");
  }
  std::vector<SlotValue> slots;
  slots.reserve(static_cast<size_t>(request.slots_size()));
  for (int i = 0; i < request.slots_size(); ++i) {
    auto key = SlotKey::Decode(request.slots(i).key());
    if (!key) {
      rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
      return absl::InvalidArgumentError(absl::StrCat("slots[", i, "].key: malformed"));
    }
    if (key->origin != request.from_origin()) {
      rejected_foreign_origin_.fetch_add(1, std::memory_order_relaxed);
      return absl::InvalidArgumentError(
          absl::StrCat("slots[", i, "].key: origin differs from from_origin"));
    }
    slots.push_back({*key, request.slots(i).value()});
  }
  for (int i = 0; i < request.records_size(); ++i) {
    if (absl::Status s = ValidateRecord(request.records(i)); !s.ok()) {
      rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
      return absl::InvalidArgumentError(absl::StrCat("records[", i, "].", s.message()));
    }
  }
  // Merged in chunks: a large batch never holds many shard locks at once.
  size_t rejected = 0;
  RemoteMergeResult result;
  for (size_t begin = 0; begin < slots.size(); begin += kMergeChunkSlots) {
    const size_t end = std::min(slots.size(), begin + kMergeChunkSlots);
    size_t chunk_rejected = 0;
    QUOTAD_ASSIGN_OR_RETURN(
        RemoteMergeResult chunk,
        Apply(std::vector<SlotValue>(slots.begin() + static_cast<std::ptrdiff_t>(begin),
                                     slots.begin() + static_cast<std::ptrdiff_t>(end)),
              &chunk_rejected));
    rejected += chunk_rejected;
    result.stale += chunk.stale;
    result.applied.insert(result.applied.end(), chunk.applied.begin(), chunk.applied.end());
  }
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
  }
  v1::PushResponse response;
  response.set_applied(static_cast<uint32_t>(result.applied.size()));
  response.set_stale(static_cast<uint32_t>(result.stale));
  response.set_rejected(static_cast<uint32_t>(rejected));
  return response;
}

absl::StatusOr<v1::DigestResponse> Replicator::HandleDigest(const v1::DigestRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request.from_node_id(), request.to_node_id()));
  if (request.to_hour() < request.from_hour() ||
      request.to_hour() - request.from_hour() >= SlotDigests::kHours) {
    rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
    return absl::InvalidArgumentError("to_hour: window must be 1..64 hours");
  }
  v1::DigestResponse response;
  for (uint64_t d : digests_.Compute(request.from_hour(), request.to_hour())) {
    response.add_range_digests(d);
  }
  QUOTAD_ASSIGN_OR_RETURN(uint64_t records_digest, RecordsDigest());
  response.set_records_digest(records_digest);
  return response;
}

absl::StatusOr<v1::PullRangeResponse> Replicator::HandlePullRange(
    const v1::PullRangeRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request.from_node_id(), request.to_node_id()));
  if (request.range() >= static_cast<uint32_t>(SlotDigests::kRanges)) {
    rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
    return absl::InvalidArgumentError("range: out of bounds");
  }
  if (request.to_hour() < request.from_hour()) {
    rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
    return absl::InvalidArgumentError("to_hour: before from_hour");
  }
  const size_t max_slots =
      std::clamp<size_t>(request.max_slots() == 0 ? kMaxPullSlots : request.max_slots(), 1,
                         kMaxPullSlots);
  v1::PullRangeResponse response;
  size_t bytes = 0;
  bool full = false;
  QUOTAD_ASSIGN_OR_RETURN(
      size_t visited,
      store_->ScanSlots(SlotDigests::RangePrefix(static_cast<int>(request.range())),
                        request.from_hour(), request.to_hour(), request.start_after(), max_slots,
                        [&](const SlotValue& v) {
                          v1::Slot* slot = response.add_slots();
                          slot->set_key(v.key.Encode());
                          slot->set_value(v.value);
                          bytes += slot->ByteSizeLong() + 3;  // + tag and length
                          full = bytes >= kPeerBatchBytes;
                          return !full;
                        }));
  response.set_done(!full && visited < max_slots);
  return response;
}

absl::Status Replicator::AntiEntropyWith(size_t index, absl::Time deadline) {
  Peer& peer = *peers_[index];
  const HourWindow window = LiveWindow();
  auto call_deadline = [&] { return std::min(deadline, absl::Now() + options_.rpc_timeout); };

  v1::DigestRequest digest_request;
  digest_request.set_from_node_id(options_.node_id);
  digest_request.set_to_node_id(peer.link.config().node_id);
  digest_request.set_from_hour(window.from);
  digest_request.set_to_hour(window.to);
  v1::DigestResponse remote;
  {
    grpc::ClientContext context;
    context.set_deadline(ToDeadline(call_deadline()));
    absl::Status s = rpc::FromGrpcStatus(peer.stub->Digest(&context, digest_request, &remote));
    peer.link.RecordContact(s, absl::Now());
    if (!s.ok()) return s;
  }
  if (remote.range_digests_size() != SlotDigests::kRanges) {
    rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
    return absl::DataLossError("digest response has the wrong number of ranges");
  }
  const std::vector<uint64_t> local = digests_.Compute(window.from, window.to);
  uint64_t repaired = 0;
  for (int r = 0; r < SlotDigests::kRanges; ++r) {
    if (local[static_cast<size_t>(r)] == remote.range_digests(r)) continue;
    std::string start_after;
    for (;;) {
      v1::PullRangeRequest pull;
      pull.set_from_node_id(options_.node_id);
      pull.set_to_node_id(peer.link.config().node_id);
      pull.set_range(static_cast<uint32_t>(r));
      pull.set_from_hour(window.from);
      pull.set_to_hour(window.to);
      pull.set_start_after(start_after);
      pull.set_max_slots(static_cast<uint32_t>(kMaxPullSlots));
      v1::PullRangeResponse page;
      grpc::ClientContext context;
      context.set_deadline(ToDeadline(call_deadline()));
      absl::Status s = rpc::FromGrpcStatus(peer.stub->PullRange(&context, pull, &page));
      if (!s.ok()) {
        peer.link.RecordContact(s, absl::Now());
        return s;
      }
      std::vector<SlotValue> slots;
      slots.reserve(static_cast<size_t>(page.slots_size()));
      for (const v1::Slot& slot : page.slots()) {
        auto key = SlotKey::Decode(slot.key());
        if (!key || SlotDigests::RangeOf(key->id) != r || key->hour < window.from ||
            key->hour > window.to) {
          rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
          return absl::DataLossError("pulled slot outside the requested range");
        }
        slots.push_back({*key, slot.value()});
      }
      size_t rejected = 0;
      auto applied = Apply(std::move(slots), &rejected);
      if (!applied.ok()) return applied.status();
      if (page.done() || page.slots_size() == 0) break;
      start_after = page.slots(page.slots_size() - 1).key();
    }
    ++repaired;
  }
  QUOTAD_ASSIGN_OR_RETURN(uint64_t local_records, RecordsDigest());
  if (local_records != remote.records_digest()) {
    QUOTAD_RETURN_IF_ERROR(PullRecordsFrom(peer, deadline));
  }
  peer.link.CountAntiEntropy(repaired);
  return absl::OkStatus();
}

absl::Status Replicator::PullRecordsFrom(Peer& peer, absl::Time deadline) {
  std::string start_after;
  for (;;) {
    v1::PullRecordsRequest pull;
    pull.set_from_node_id(options_.node_id);
    pull.set_to_node_id(peer.link.config().node_id);
    pull.set_start_after(start_after);
    v1::PullRecordsResponse page;
    grpc::ClientContext context;
    context.set_deadline(ToDeadline(std::min(deadline, absl::Now() + options_.rpc_timeout)));
    absl::Status s = rpc::FromGrpcStatus(peer.stub->PullRecords(&context, pull, &page));
    if (!s.ok()) {
      peer.link.RecordContact(s, absl::Now());
      return s;
    }
    const int64_t latest_ms = absl::ToUnixMillis(clock_->Now() + options_.max_clock_skew);
    for (const v1::ReplicatedRecord& record : page.records()) {
      if (!ValidateRecord(record).ok() ||
          HybridLogicalClock::PhysicalMillis(record.hlc()) > latest_ms) {
        rejected_records_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      QUOTAD_RETURN_IF_ERROR(MergeRecord(record).status());
    }
    if (page.done() || page.records_size() == 0) return absl::OkStatus();
    if (page.records(page.records_size() - 1).key() <= start_after) {
      rejected_malformed_.fetch_add(1, std::memory_order_relaxed);
      return absl::DataLossError("records page does not advance");
    }
    start_after = page.records(page.records_size() - 1).key();
  }
}

absl::Status Replicator::ValidateRecord(const v1::ReplicatedRecord& record) const {
  if (record.key().empty() || record.key().size() > kMaxRecordKeyBytes) {
    return absl::InvalidArgumentError("key: must be 1..1024 bytes");
  }
  if (record.value().size() > kMaxRecordValueBytes) {
    return absl::InvalidArgumentError("value: longer than 64 KiB");
  }
  if (record.node_id().empty()) return absl::InvalidArgumentError("node_id: required");
  if (record.hlc() == 0) return absl::InvalidArgumentError("hlc: required");
  return absl::OkStatus();
}

bool Replicator::Droppable(const v1::ReplicatedRecord& record) const {
  const int64_t cutoff_us = absl::ToUnixMicros(clock_->Now() - options_.tombstone_ttl);
  const int64_t written_us = HybridLogicalClock::PhysicalMillis(record.hlc()) * 1000;
  return (record.deleted() && written_us < cutoff_us) ||
         (record.expires_unix_micros() != 0 && record.expires_unix_micros() < cutoff_us);
}

bool Replicator::Live(const v1::ReplicatedRecord& record) const {
  return !record.deleted() && (record.expires_unix_micros() == 0 ||
                               record.expires_unix_micros() > absl::ToUnixMicros(clock_->Now()));
}

absl::StatusOr<uint64_t> Replicator::RecordsDigest() {
  if (records_ == nullptr) return uint64_t{0};
  uint64_t digest = 0;
  QUOTAD_RETURN_IF_ERROR(records_->ScanRecords("", [&](const v1::ReplicatedRecord& r) {
    if (!Droppable(r)) digest ^= RecordFingerprint(r);
    return true;
  }));
  return digest;
}

absl::StatusOr<bool> Replicator::MergeRecord(const v1::ReplicatedRecord& record) {
  if (records_ == nullptr) return false;
  hlc_.Observe(record.hlc());
  if (Droppable(record)) return false;
  {
    absl::MutexLock lock(&records_mu_);
    auto existing = records_->GetRecord(record.key());
    if (!existing.ok()) return AsUnavailable(existing.status());
    if (existing->has_value()) {
      const auto& cur = **existing;
      const bool newer = record.hlc() > cur.hlc() ||
                         (record.hlc() == cur.hlc() && record.node_id() > cur.node_id());
      if (!newer) return false;
    }
    if (absl::Status s = records_->PutRecord(record); !s.ok()) return AsUnavailable(s);
  }
  records_applied_.fetch_add(1, std::memory_order_relaxed);
  if (record_listener_) record_listener_(record.key());
  return true;
}

void Replicator::QueueRecord(const v1::ReplicatedRecord& record) {
  for (auto& peer : peers_) peer->link.QueueRecord(record);
}

absl::StatusOr<v1::ReplicatedRecord> Replicator::PutRecord(const std::string& key,
                                                           const std::string& value,
                                                           absl::Time expires) {
  if (records_ == nullptr) return absl::FailedPreconditionError("no record store");
  v1::ReplicatedRecord record;
  record.set_key(key);
  record.set_value(value);
  record.set_node_id(options_.node_id);
  if (expires != absl::InfiniteFuture()) {
    record.set_expires_unix_micros(absl::ToUnixMicros(expires));
  }
  record.set_hlc(hlc_.Now());
  QUOTAD_RETURN_IF_ERROR(ValidateRecord(record));
  QUOTAD_RETURN_IF_ERROR(MergeRecord(record).status());
  QueueRecord(record);
  return record;
}

absl::StatusOr<v1::ReplicatedRecord> Replicator::DeleteRecord(const std::string& key) {
  if (records_ == nullptr) return absl::FailedPreconditionError("no record store");
  v1::ReplicatedRecord record;
  record.set_key(key);
  record.set_node_id(options_.node_id);
  record.set_deleted(true);
  record.set_hlc(hlc_.Now());
  QUOTAD_RETURN_IF_ERROR(ValidateRecord(record));
  QUOTAD_RETURN_IF_ERROR(MergeRecord(record).status());
  QueueRecord(record);
  return record;
}

absl::StatusOr<std::optional<v1::ReplicatedRecord>> Replicator::GetRecord(const std::string& key) {
  if (records_ == nullptr) return std::optional<v1::ReplicatedRecord>();
  QUOTAD_ASSIGN_OR_RETURN(auto record, records_->GetRecord(key));
  if (!record || !Live(*record)) return std::optional<v1::ReplicatedRecord>();
  return record;
}

absl::Status Replicator::ListRecords(const std::string& prefix,
                                     const std::function<bool(const v1::ReplicatedRecord&)>& fn) {
  if (records_ == nullptr) return absl::OkStatus();
  return records_->ScanRecords(prefix, [&](const v1::ReplicatedRecord& r) {
    return Live(r) ? fn(r) : true;
  });
}

absl::StatusOr<v1::PullRecordsResponse> Replicator::HandlePullRecords(
    const v1::PullRecordsRequest& request) {
  QUOTAD_RETURN_IF_ERROR(CheckSender(request.from_node_id(), request.to_node_id()));
  v1::PullRecordsResponse response;
  response.set_done(true);
  if (records_ == nullptr) return response;
  size_t bytes = 0;
  QUOTAD_RETURN_IF_ERROR(records_->ScanRecords("", [&](const v1::ReplicatedRecord& r) {
    if (!request.start_after().empty() && r.key() <= request.start_after()) return true;
    if (Droppable(r)) return true;
    const size_t add = r.ByteSizeLong() + 4;  // + tag and length
    if (response.records_size() > 0 && bytes + add > kPeerBatchBytes) {
      response.set_done(false);
      return false;
    }
    *response.add_records() = r;
    bytes += add;
    return true;
  }));
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
  auto call = std::make_unique<PushCall>();
  call->batch = std::move(*batch);
  call->context.set_deadline(ToDeadline(absl::Now() + options_.rpc_timeout));
  PushCall* raw = call.release();
  peer.stub->async()->Push(&raw->context, &raw->batch.request, &raw->response,
                           [this, &peer, raw](grpc::Status status) {
                             std::unique_ptr<PushCall> done(raw);
                             // While a backlog remains, the next batch goes at
                             // once instead of waiting for the next tick.
                             if (peer.link.Finish(done->batch, rpc::FromGrpcStatus(status),
                                                  absl::Now())) {
                               SendPush(peer);
                             }
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

void Replicator::AntiEntropyLoop() {
  for (;;) {
    {
      absl::MutexLock lock(&lifecycle_mu_);
      lifecycle_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.anti_entropy_interval);
      if (stopping_) return;
    }
    const absl::Time deadline = absl::Now() + options_.anti_entropy_interval;
    for (size_t i = 0; i < peers_.size(); ++i) {
      if (absl::Status s = AntiEntropyWith(i, deadline); !s.ok()) {
        QUOTAD_LOG(DEBUG) << "anti-entropy with " << peers_[i]->link.config().node_id << ": "
                          << s;
      }
    }
  }
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
  return out;
}

}  // namespace quotad
