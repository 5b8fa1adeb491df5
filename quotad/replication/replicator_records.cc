// Replicator, part 3: last-writer-wins records (overrides, bans, node
// announcements): validation, merge, local writes, paged pulls.
#include "quotad/replication/replicator.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/replication/peer_limits.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

constexpr size_t kMaxRecordKeyBytes = 1024;
constexpr size_t kMaxRecordValueBytes = 64 * 1024;

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

absl::Status Replicator::PullRecordsFrom(RoundCalls& calls) {
  v1::PullRecordsRequest pull = calls.Header<v1::PullRecordsRequest>();
  for (;;) {
    v1::PullRecordsResponse page;
    QUOTAD_RETURN_IF_ERROR(calls.Run(&PeerChannel::PullRecords, pull, &page));
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
    const std::string& last = page.records(page.records_size() - 1).key();
    if (last <= pull.start_after()) {
      return Malformed(absl::DataLossError("records page does not advance"));
    }
    pull.set_start_after(last);
  }
}

absl::Status Replicator::RestoreRecordClock() {
  if (records_ == nullptr) return absl::OkStatus();
  uint64_t latest = 0;
  QUOTAD_RETURN_IF_ERROR(records_->ScanRecords("", [&](const v1::ReplicatedRecord& r) {
    latest = std::max<uint64_t>(latest, r.hlc());
    return true;
  }));
  hlc_.Observe(latest);
  return absl::OkStatus();
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
  for (const auto& [prefix, check] : record_kinds_) {
    if (!absl::StartsWith(record.key(), prefix)) continue;
    return check ? check(record) : absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("key: '", record.key().substr(0, record.key().find('/') + 1),
                   "' is not a known record kind"));
}

bool Replicator::Droppable(const v1::ReplicatedRecord& record) const {
  // Never a tombstone: kept for good, so no peer away for however long can
  // bring a deleted record back.
  const int64_t cutoff_us = absl::ToUnixMicros(clock_->Now() - options_.expired_record_ttl);
  return !record.deleted() && record.expires_unix_micros() != 0 &&
         record.expires_unix_micros() < cutoff_us;
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
  QUOTAD_RETURN_IF_ERROR(CheckSender(request));
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

}  // namespace quotad
