#include "quotad/replication/peer_link.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "quotad/common/logging.h"
#include "quotad/replication/peer_limits.h"

namespace quotad {
namespace {

// Encoded bytes a length-delimited field of `size` bytes adds to its parent
// (one-byte tag: field numbers below 16).
size_t FieldBytes(size_t size) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(size) + size;
}

}  // namespace

PeerLink::PeerLink(PeerConfig config, size_t max_pending_slots)
    : config_(std::move(config)), max_pending_slots_(max_pending_slots), budget_(kPeerBatchBytes) {}

void PeerLink::QueueSlots(absl::Span<const SlotKey> keys, absl::Span<const uint64_t> values,
                          absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [it, inserted] = pending_.try_emplace(keys[i], Pending{values[i], now});
    if (!inserted) it->second.value = std::max(it->second.value, values[i]);
  }
  if (pending_.size() > max_pending_slots_) {
    // The peer has been unreachable for long; anti-entropy will repair it.
    QUOTAD_LOG(WARNING) << "replication: queue for peer " << config_.node_id << " passed "
                        << max_pending_slots_ << " slots; dropped, anti-entropy repairs it";
    pending_.clear();
    ++overflows_;
  }
}

void PeerLink::QueueRecord(const v1::ReplicatedRecord& record) {
  absl::MutexLock lock(&mu_);
  pending_records_[record.key()] = record;
}

void PeerLink::QueueAdmission(v1::Admission admission) {
  absl::MutexLock lock(&mu_);
  auto it = pending_admissions_.find(admission.key());
  if (it != pending_admissions_.end()) {
    it->second = std::move(admission);
    return;
  }
  if (pending_admissions_.size() >= kMaxPendingAdmissions) {
    if (admissions_dropped_++ == 0) {
      QUOTAD_LOG(WARNING) << "replication: admissions queued for peer " << config_.node_id
                          << " passed " << kMaxPendingAdmissions
                          << "; dropping new ones (a retry of those on the peer is charged again)";
    }
    return;
  }
  std::string key = admission.key();
  pending_admissions_.emplace(std::move(key), std::move(admission));
}

std::optional<PushBatch> PeerLink::NextBatch(const std::string& from_node_id, uint64_t origin) {
  absl::MutexLock lock(&mu_);
  if (push_in_flight_ ||
      (pending_.empty() && pending_records_.empty() && pending_admissions_.empty())) {
    return std::nullopt;
  }
  PushBatch batch;
  batch.request.set_from_node_id(from_node_id);
  batch.request.set_to_node_id(config_.node_id);
  batch.request.set_from_origin(origin);
  batch.request.set_dropped_for_you(overflows_ + batches_dropped_);
  batch.bytes = batch.request.ByteSizeLong();
  bool any = false;
  for (const auto& [key, record] : pending_records_) {
    const size_t add = FieldBytes(record.ByteSizeLong());
    if (any && batch.bytes + add > budget_) break;
    *batch.request.add_records() = record;
    batch.bytes += add;
    any = true;
  }
  for (const auto& [key, admission] : pending_admissions_) {
    const size_t add = FieldBytes(admission.ByteSizeLong());
    if (any && batch.bytes + add > budget_) break;
    *batch.request.add_admissions() = admission;
    batch.bytes += add;
    any = true;
  }
  v1::Slot slot;
  for (const auto& [key, pending] : pending_) {
    slot.set_key(key.Encode());
    slot.set_value(pending.value);
    const size_t add = FieldBytes(slot.ByteSizeLong());
    if (any && batch.bytes + add > budget_) break;
    *batch.request.add_slots() = slot;
    batch.slots.emplace_back(key, pending.value);
    batch.bytes += add;
    any = true;
  }
  push_in_flight_ = true;
  return batch;
}

bool PeerLink::Finish(const PushBatch& batch, const absl::Status& status, absl::Time now) {
  absl::MutexLock lock(&mu_);
  push_in_flight_ = false;
  const bool drop = absl::IsInvalidArgument(status);
  if (status.ok() || drop) {
    for (const auto& [key, value] : batch.slots) {
      auto it = pending_.find(key);
      if (it != pending_.end() && it->second.value <= value) pending_.erase(it);
    }
    for (const auto& record : batch.request.records()) {
      auto it = pending_records_.find(record.key());
      if (it != pending_records_.end() && it->second.hlc() == record.hlc()) {
        pending_records_.erase(it);
      }
    }
    for (const auto& admission : batch.request.admissions()) {
      auto it = pending_admissions_.find(admission.key());
      if (it != pending_admissions_.end() && it->second.record() == admission.record()) {
        pending_admissions_.erase(it);
      }
    }
  }
  if (status.ok()) {
    slots_sent_ += batch.slots.size();
    bytes_sent_ += batch.bytes;
    ++batches_sent_;
    budget_ = std::min(kPeerBatchBytes, budget_ * 2);
  } else if (drop) {
    ++batches_dropped_;
    QUOTAD_LOG(WARNING) << "replication: peer " << config_.node_id << " refused a batch of "
                        << batch.slots.size() << " slots, " << batch.request.records_size()
                        << " records (" << status << "); dropped, anti-entropy repairs it";
  } else if (absl::IsResourceExhausted(status)) {
    budget_ = std::max(kPeerMinBatchBytes, budget_ / 2);
  }
  RecordContactLocked(status, now);
  return status.ok() &&
         (!pending_.empty() || !pending_records_.empty() || !pending_admissions_.empty());
}

void PeerLink::RecordContact(const absl::Status& status, absl::Time now) {
  absl::MutexLock lock(&mu_);
  RecordContactLocked(status, now);
}

void PeerLink::RecordContactLocked(const absl::Status& status, absl::Time now) {
  if (status.ok()) {
    if (health_ == Health::kDown) {
      QUOTAD_LOG(INFO) << "replication: peer " << config_.node_id << " at " << config_.address
                       << " is up again after " << absl::FormatDuration(now - down_since_);
    }
    health_ = Health::kUp;
    last_contact_ = now;
    return;
  }
  ++errors_;
  ++errors_by_code_[status.code()];
  last_error_ = status.ToString();
  if (health_ != Health::kDown) {
    QUOTAD_LOG(WARNING) << "replication: peer " << config_.node_id << " at " << config_.address
                        << " is down: " << status;
    health_ = Health::kDown;
    down_since_ = now;
  }
}

void PeerLink::CountAntiEntropy(uint64_t ranges_repaired) {
  absl::MutexLock lock(&mu_);
  ++anti_entropy_rounds_;
  ranges_repaired_ += ranges_repaired;
}

void PeerLink::CountReceived(uint64_t slots) {
  absl::MutexLock lock(&mu_);
  slots_received_ += slots;
}

void PeerLink::RecordInbound(uint64_t origin, uint64_t dropped_for_me, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (origin != inbound_origin_) {
    // A new incarnation of the peer: its drop count starts over, and its
    // earlier origin is compared like any other until repaired.
    inbound_origin_ = origin;
    inbound_repaired_ = 0;
    inbound_drops_ = 0;
  }
  inbound_drops_ = std::max(inbound_drops_, dropped_for_me);
  inbound_last_ = now;
}

std::optional<uint64_t> PeerLink::HealthyInboundOrigin(absl::Time now,
                                                       absl::Duration freshness) const {
  absl::MutexLock lock(&mu_);
  if (inbound_origin_ == 0 || now - inbound_last_ > freshness ||
      inbound_drops_ != inbound_repaired_) {
    return std::nullopt;
  }
  return inbound_origin_;
}

std::optional<uint64_t> PeerLink::inbound_origin() const {
  absl::MutexLock lock(&mu_);
  if (inbound_origin_ == 0) return std::nullopt;
  return inbound_origin_;
}

uint64_t PeerLink::inbound_drops() const {
  absl::MutexLock lock(&mu_);
  return inbound_drops_;
}

void PeerLink::MarkInboundRepaired(uint64_t drops) {
  absl::MutexLock lock(&mu_);
  inbound_repaired_ = std::max(inbound_repaired_, std::min(drops, inbound_drops_));
}

void PeerLink::CountPulled(uint64_t slots, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  slots_pulled_ += slots;
  bytes_pulled_ += bytes;
}

size_t PeerLink::batch_budget() const {
  absl::MutexLock lock(&mu_);
  return budget_;
}

size_t PeerLink::pending_slots() const {
  absl::MutexLock lock(&mu_);
  return pending_.size();
}

bool PeerLink::up() const {
  absl::MutexLock lock(&mu_);
  return health_ == Health::kUp;
}

void PeerLink::RecordPeerKeys(bool key_mismatch, const std::string& policy_fingerprint,
                              bool policy_differs) {
  absl::MutexLock lock(&mu_);
  if (key_mismatch != key_mismatch_) {
    if (key_mismatch) {
      QUOTAD_LOG(WARNING) << "replication: peer " << config_.node_id
                          << " hashes identities with another key; its calls are refused until "
                             "every node has the same --hash_key_file";
    } else {
      QUOTAD_LOG(INFO) << "replication: peer " << config_.node_id << " now shares the identity key";
    }
  }
  key_mismatch_ = key_mismatch;
  policy_differs_ = policy_differs;
  policy_fingerprint_ = policy_fingerprint;
}

void PeerLink::FillState(absl::Time now, v1::PeerState* p) const {
  absl::MutexLock lock(&mu_);
  p->set_node_id(config_.node_id);
  p->set_address(config_.address);
  p->set_up(health_ == Health::kUp);
  if (last_contact_ != absl::InfinitePast()) {
    p->set_last_contact_unix_micros(absl::ToUnixMicros(last_contact_));
  }
  absl::Time oldest = now;
  for (const auto& [key, pending] : pending_) oldest = std::min(oldest, pending.enqueued);
  p->set_lag_micros(absl::ToInt64Microseconds(now - oldest));
  p->set_pending_slots(pending_.size());
  p->set_pending_records(pending_records_.size());
  p->set_pending_admissions(pending_admissions_.size());
  p->set_admissions_dropped(admissions_dropped_);
  p->set_slots_sent(slots_sent_);
  p->set_bytes_sent(bytes_sent_);
  p->set_batches_sent(batches_sent_);
  p->set_batches_dropped(batches_dropped_);
  p->set_batch_budget_bytes(budget_);
  p->set_slots_received(slots_received_);
  p->set_errors(errors_);
  for (const auto& [code, count] : errors_by_code_) {
    (*p->mutable_errors_by_code())[absl::StatusCodeToString(code)] = count;
  }
  p->set_last_error(last_error_);
  p->set_overflows(overflows_);
  p->set_anti_entropy_rounds(anti_entropy_rounds_);
  p->set_ranges_repaired(ranges_repaired_);
  p->set_slots_pulled(slots_pulled_);
  p->set_bytes_pulled(bytes_pulled_);
  p->set_key_mismatch(key_mismatch_);
  p->set_policy_differs(policy_differs_);
  p->set_policy_fingerprint(policy_fingerprint_);
}

}  // namespace quotad
