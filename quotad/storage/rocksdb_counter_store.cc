#include "quotad/storage/rocksdb_counter_store.h"

#include <cstring>

#include "quotad/common/status_macros.h"
#include "quotad/storage/rocksdb_status.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace quotad {

uint32_t RocksDbCounterStore::OldestLive(uint32_t like) const {
  return OldestLiveBucket(UnitOf(like), clock_->Now(), retention_->Load());
}

template <typename Visit>
absl::Status RocksDbCounterStore::VisitCounter(const CounterId& id, uint32_t min_hour,
                                               const Visit& visit) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  min_hour = std::max(min_hour, OldestLive(min_hour));
  std::string lower = id.Encode();
  AppendBigEndian32(&lower, min_hour);
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;  // one hash bucket of the memtable, no copy
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, counters_cf_));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != kCounterKeySize ||
        std::memcmp(key.data(), lower.data(), CounterId::kEncodedSize) != 0) {
      break;
    }
    visit(key, DecodeCounterValue(it->value().data(), it->value().size()));
  }
  return FromRocks(it->status(), "read counters");
}

absl::StatusOr<std::vector<HourCount>> RocksDbCounterStore::ReadBuckets(const CounterId& id,
                                                                        uint32_t min_hour) {
  std::vector<HourCount> out;
  QUOTAD_RETURN_IF_ERROR(VisitCounter(id, min_hour, [&](const rocksdb::Slice& key, uint64_t value) {
    const uint32_t hour = CounterKeyHour(absl::string_view(key.data(), key.size()));
    const int64_t v = static_cast<int64_t>(value);
    const bool refund = key[kCounterKeySize - 1] == static_cast<char>(CountKind::kRefunded);
    if (out.empty() || out.back().hour != hour) out.push_back({hour, 0});
    out.back().count += refund ? -v : v;
  }));
  return out;
}

absl::StatusOr<std::vector<SlotValue>> RocksDbCounterStore::ReadCounterSlots(const CounterId& id,
                                                                             uint32_t min_hour) {
  std::vector<SlotValue> out;
  QUOTAD_RETURN_IF_ERROR(VisitCounter(id, min_hour, [&](const rocksdb::Slice& key, uint64_t value) {
    if (auto slot = SlotKey::Decode(absl::string_view(key.data(), key.size()))) {
      out.push_back({*slot, value});
    }
  }));
  return out;
}

absl::Status RocksDbCounterStore::Commit(absl::Span<const CounterDelta> deltas,
                                         const IdempotencyPut* idempotency) {
  if (idempotency == nullptr) return CommitMany(deltas, {});
  return CommitMany(deltas, absl::MakeConstSpan(idempotency, 1));
}

absl::Status RocksDbCounterStore::CommitMany(absl::Span<const CounterDelta> deltas,
                                             absl::Span<const IdempotencyPut> idempotency) {
  rocksdb::WriteBatch batch;
  std::string key;
  for (const CounterDelta& d : deltas) {
    key = EncodeCounterKey(d.id, d.hour, origin_, d.kind);
    QUOTAD_RETURN_IF_ERROR(
        FromRocks(batch.Merge(counters_cf_, key, EncodeCounterValue(d.amount)), "batch merge"));
  }
  std::string value;
  for (const IdempotencyPut& put : idempotency) {
    value.clear();
    AppendBigEndian64(&value, static_cast<uint64_t>(absl::ToUnixMicros(put.expires)));
    value.append(put.record);
    const rocksdb::Slice k(reinterpret_cast<const char*>(put.key.data()), put.key.size());
    QUOTAD_RETURN_IF_ERROR(FromRocks(batch.Put(idempotency_cf_, k, value), "batch put"));
  }
  Access access;
  QUOTAD_RETURN_IF_ERROR(EnterForWrite(&access));
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return Written(db_->Write(wo, &batch), "commit");
}

absl::StatusOr<std::optional<std::string>> RocksDbCounterStore::GetIdempotency(
    const IdentityHash& key, absl::Time now) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  std::string value;
  const rocksdb::Slice k(reinterpret_cast<const char*>(key.data()), key.size());
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), idempotency_cf_, k, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  QUOTAD_RETURN_IF_ERROR(FromRocks(s, "read idempotency record"));
  if (value.size() < 8) return std::optional<std::string>();
  const int64_t expiry = static_cast<int64_t>(ReadBigEndian64(value.data()));
  if (expiry < absl::ToUnixMicros(now)) return std::optional<std::string>();
  return std::optional<std::string>(value.substr(8));
}

absl::StatusOr<std::vector<uint64_t>> RocksDbCounterStore::GetSlots(
    absl::Span<const SlotKey> keys) {
  std::vector<std::string> encoded;
  encoded.reserve(keys.size());
  for (const SlotKey& k : keys) encoded.push_back(k.Encode());
  std::vector<rocksdb::Slice> slices(encoded.begin(), encoded.end());
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), counters_cf_);
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
  const absl::Time now = clock_->Now();
  const Retention retention = retention_->Load();
  std::vector<uint64_t> out(keys.size(), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    QUOTAD_RETURN_IF_ERROR(FromRocks(statuses[i], "read slots"));
    if (BucketLive(keys[i].hour, now, retention)) {
      out[i] = DecodeCounterValue(values[i].data(), values[i].size());
    }
  }
  return out;
}

absl::Status RocksDbCounterStore::PutSlots(absl::Span<const SlotValue> slots) {
  rocksdb::WriteBatch batch;
  for (const SlotValue& s : slots) {
    QUOTAD_RETURN_IF_ERROR(
        FromRocks(batch.Put(counters_cf_, s.key.Encode(), EncodeCounterValue(s.value)), "batch put"));
  }
  Access access;
  QUOTAD_RETURN_IF_ERROR(EnterForWrite(&access));
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return Written(db_->Write(wo, &batch), "put slots");
}

absl::StatusOr<size_t> RocksDbCounterStore::ScanSlots(
    absl::string_view prefix, uint32_t min_hour, uint32_t max_hour, absl::string_view start_after,
    size_t limit, const std::function<bool(const SlotValue&)>& fn) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  min_hour = std::max(min_hour, OldestLive(min_hour));
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;  // prefixes shorter than the extractor's
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, counters_cf_));
  const std::string start(prefix.data(), prefix.size());
  if (start_after.empty()) {
    it->Seek(start);
  } else {
    it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
    if (it->Valid() && it->key() == rocksdb::Slice(start_after.data(), start_after.size())) {
      it->Next();
    }
  }
  size_t visited = 0;
  for (; it->Valid() && visited < limit; it->Next()) {
    const rocksdb::Slice key = it->key();
    if (!key.starts_with(rocksdb::Slice(start))) break;
    auto slot = SlotKey::Decode(absl::string_view(key.data(), key.size()));
    if (!slot || slot->hour < min_hour || slot->hour > max_hour) continue;
    ++visited;
    if (!fn(SlotValue{*slot, DecodeCounterValue(it->value().data(), it->value().size())})) break;
  }
  QUOTAD_RETURN_IF_ERROR(FromRocks(it->status(), "scan slots"));
  return visited;
}

absl::StatusOr<CounterStore::ScanProgress> RocksDbCounterStore::ScanSlotRanges(
    absl::Span<const std::string> prefixes, uint32_t min_hour, uint32_t max_hour,
    absl::string_view start_after, size_t max_keys,
    const std::function<bool(const SlotValue&)>& fn) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  return scanner_->Scan(prefixes, std::max(min_hour, OldestLive(min_hour)), max_hour, start_after,
                        max_keys, fn);
}

void RocksDbCounterStore::ReleaseIdleScans() {
  if (auto access = Enter(); access.ok()) scanner_->ReleaseIfIdle();
}

absl::StatusOr<std::optional<v1::ReplicatedRecord>> RocksDbCounterStore::GetRecord(
    absl::string_view key) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), records_cf_, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<v1::ReplicatedRecord>();
  QUOTAD_RETURN_IF_ERROR(FromRocks(s, "read record"));
  v1::ReplicatedRecord record;
  if (!record.ParseFromString(value)) return absl::DataLossError("corrupt record");
  return std::optional<v1::ReplicatedRecord>(std::move(record));
}

absl::Status RocksDbCounterStore::PutRecord(const v1::ReplicatedRecord& record) {
  Access access;
  QUOTAD_RETURN_IF_ERROR(EnterForWrite(&access));
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return Written(db_->Put(wo, records_cf_, record.key(), record.SerializeAsString()),
                 "write record");
}

absl::Status RocksDbCounterStore::ScanRecords(
    absl::string_view prefix, const std::function<bool(const v1::ReplicatedRecord&)>& fn) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), records_cf_));
  const rocksdb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
    v1::ReplicatedRecord record;
    if (!record.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) continue;
    if (!fn(record)) break;
  }
  return FromRocks(it->status(), "scan records");
}

absl::Status RocksDbCounterStore::AppendAudit(const v1::AuditEntry& entry) {
  std::string key;
  const int64_t micros =
      entry.time().seconds() * 1000000 + entry.time().nanos() / 1000;
  AppendBigEndian64(&key, static_cast<uint64_t>(micros));
  AppendBigEndian32(&key, audit_seq_.fetch_add(1));
  Access access;
  QUOTAD_RETURN_IF_ERROR(EnterForWrite(&access));
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return Written(db_->Put(wo, audit_cf_, key, entry.SerializeAsString()), "write audit");
}

absl::StatusOr<std::vector<v1::AuditEntry>> RocksDbCounterStore::ListAudit(size_t limit) {
  std::vector<v1::AuditEntry> out;
  const int64_t cutoff = absl::ToUnixMicros(clock_->Now() - audit_retention_);
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), audit_cf_));
  for (it->SeekToLast(); it->Valid() && out.size() < limit; it->Prev()) {
    if (it->key().size() < 8 || static_cast<int64_t>(ReadBigEndian64(it->key().data())) < cutoff) {
      break;
    }
    v1::AuditEntry entry;
    if (entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      out.push_back(std::move(entry));
    }
  }
  QUOTAD_RETURN_IF_ERROR(FromRocks(it->status(), "read audit"));
  return out;
}

uint64_t RocksDbCounterStore::IntProperty(const std::string& name) const {
  auto access = Enter();
  if (!access.ok()) return 0;
  uint64_t total = 0;
  for (auto* cf : {default_cf_, counters_cf_, idempotency_cf_, records_cf_, audit_cf_}) {
    uint64_t value = 0;
    if (db_->GetIntProperty(cf, name, &value)) total += value;
  }
  return total;
}

absl::Status RocksDbCounterStore::CompactAll() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  for (auto* cf : {counters_cf_, idempotency_cf_, records_cf_, audit_cf_}) {
    QUOTAD_RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, cf, nullptr, nullptr), "compact"));
  }
  return absl::OkStatus();
}

}  // namespace quotad
