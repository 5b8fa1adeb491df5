#include "quotad/storage/rocksdb_counter_store.h"

#include <openssl/rand.h>

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/storage/rocksdb_callbacks.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace quotad {
namespace {

constexpr char kCountersCf[] = "counters";
constexpr char kIdempotencyCf[] = "idempotency";
constexpr char kRecordsCf[] = "records";
constexpr char kAuditCf[] = "audit";
constexpr char kOriginKey[] = "origin";
constexpr char kNodeIdKey[] = "node_id";

// The one place rocksdb::Status becomes absl::Status.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  return absl::UnavailableError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> RocksDbCounterStore::Open(
    const RocksDbOptions& options) {
  std::unique_ptr<RocksDbCounterStore> store(new RocksDbCounterStore());
  store->clock_ = options.clock;
  store->deletion_clock_ = std::make_unique<DeletionWatermark>(options.clock, options.elapsed_clock);
  Clock* const deletion_clock = store->deletion_clock_.get();
  store->sync_writes_ = options.sync_writes;
  store->retention_hours_ = std::make_shared<std::atomic<int64_t>>(options.retention_hours);

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto make_table = [&](bool whole_key) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.whole_key_filtering = whole_key;
    // Filters and indexes live with the table readers, not in the block
    // cache: with them in a 64 MiB cache, a miss on a new client re-read and
    // re-checksummed multi-MiB filter blocks (seen at 10M clients). They cost
    // ~1.3 bytes per key of memory.
    table.cache_index_and_filter_blocks = false;
    table.optimize_filters_for_memory = true;
    return std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));
  };

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  db_options.max_total_wal_size = 256 << 20;
  // quotad group-commits its own writes (one writer at a time), so
  // concurrent memtable inserts buy nothing; turning them off allows the
  // hash-indexed memtables below, whose inserts are O(1) instead of a
  // cache-missing skiplist search (the top RocksDB cost in profiles).
  db_options.allow_concurrent_memtable_write = false;

  rocksdb::ColumnFamilyOptions counters;
  counters.merge_operator = NewUInt64AddOperator();
  counters.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(CounterId::kEncodedSize));
  counters.memtable_prefix_bloom_size_ratio = 0.05;
  // One hash bucket per counter, holding that counter's few (hour, origin,
  // kind) entries in a short sorted list. Measured against the hash-skiplist
  // rep: -10% CPU per admitted call (Debian builds RocksDB with assertions,
  // so every skiplist insert also runs a full Contains() search).
  counters.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 20));
  counters.table_factory = make_table(false);
  counters.compression = rocksdb::kLZ4Compression;
  counters.bottommost_compression = rocksdb::kZSTD;
  store->filters_.push_back(
      NewCounterRetentionFilter(deletion_clock, store->retention_hours_));
  counters.compaction_filter = store->filters_.back().get();

  rocksdb::ColumnFamilyOptions idempotency;
  idempotency.table_factory = make_table(true);
  idempotency.memtable_whole_key_filtering = true;
  idempotency.memtable_prefix_bloom_size_ratio = 0.05;
  // Point lookups only: a hash-linked-list memtable keyed by the whole key.
  idempotency.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
  idempotency.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 20));
  idempotency.compression = rocksdb::kLZ4Compression;
  store->filters_.push_back(NewIdempotencyExpiryFilter(deletion_clock));
  idempotency.compaction_filter = store->filters_.back().get();

  rocksdb::ColumnFamilyOptions records;
  records.table_factory = make_table(true);
  store->filters_.push_back(
      NewRecordExpiryFilter(deletion_clock, options.tombstone_ttl));
  records.compaction_filter = store->filters_.back().get();

  rocksdb::ColumnFamilyOptions audit;
  audit.table_factory = make_table(true);
  store->filters_.push_back(
      NewAuditRetentionFilter(deletion_clock, options.audit_retention));
  audit.compaction_filter = store->filters_.back().get();
  store->audit_retention_ = options.audit_retention;

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kCountersCf, counters},
      {kIdempotencyCf, idempotency},
      {kRecordsCf, records},
      {kAuditCf, audit}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, cfs, &handles, &store->db_);
  if (!s.ok()) return FromRocks(s, absl::StrCat("cannot open data dir ", options.path));
  store->default_cf_ = handles[0];
  store->counters_cf_ = handles[1];
  store->idempotency_cf_ = handles[2];
  store->records_cf_ = handles[3];
  store->audit_cf_ = handles[4];
  store->scanner_ = std::make_unique<RangeScanner>(store->db_, store->counters_cf_);

  // A fresh origin slot for this incarnation; earlier incarnations' slots
  // stay in the data and keep counting.
  uint64_t origin = 0;
  while (origin == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&origin), sizeof(origin)) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
  }
  std::string previous;
  const bool existed =
      store->db_->Get(rocksdb::ReadOptions(), store->default_cf_, kOriginKey, &previous).ok();
  std::string stored_node;
  if (store->db_->Get(rocksdb::ReadOptions(), store->default_cf_, kNodeIdKey, &stored_node).ok() &&
      stored_node != options.node_id) {
    QUOTAD_LOG(WARNING) << "data dir was last served by node '" << stored_node << "', now '"
                        << options.node_id << "'";
  }
  std::string encoded;
  AppendBigEndian64(&encoded, origin);
  rocksdb::WriteBatch batch;
  batch.Put(store->default_cf_, kOriginKey, encoded);
  batch.Put(store->default_cf_, kNodeIdKey, options.node_id);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto ws = store->db_->Write(wo, &batch); !ws.ok()) return FromRocks(ws, "write origin");
  store->origin_ = origin;
  QUOTAD_LOG(INFO) << (existed ? "reopened" : "created") << " data dir " << options.path
                   << ": origin slot " << std::hex << origin << std::dec;
  return store;
}

RocksDbCounterStore::~RocksDbCounterStore() {
  if (db_ == nullptr) return;
  scanner_.reset();
  if (auto s = db_->SyncWAL(); !s.ok()) QUOTAD_LOG(WARNING) << "SyncWAL at close: " << s.ToString();
  for (auto* cf : {default_cf_, counters_cf_, idempotency_cf_, records_cf_, audit_cf_}) {
    if (cf != nullptr) db_->DestroyColumnFamilyHandle(cf);
  }
  if (auto s = db_->Close(); !s.ok()) QUOTAD_LOG(WARNING) << "close: " << s.ToString();
  delete db_;
}

uint32_t RocksDbCounterStore::OldestLiveHour() const {
  const int64_t oldest = int64_t{HourOf(clock_->Now())} - retention_hours_->load() + 1;
  return oldest < 0 ? 0 : static_cast<uint32_t>(oldest);
}

template <typename Visit>
absl::Status RocksDbCounterStore::VisitCounter(const CounterId& id, uint32_t min_hour,
                                               const Visit& visit) {
  min_hour = std::max(min_hour, OldestLiveHour());
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
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return FromRocks(db_->Write(wo, &batch), "commit");
}

absl::StatusOr<std::optional<std::string>> RocksDbCounterStore::GetIdempotency(
    const IdentityHash& key, absl::Time now) {
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
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), counters_cf_);
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), cfs, slices, &values);
  const uint32_t oldest = OldestLiveHour();
  std::vector<uint64_t> out(keys.size(), 0);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    QUOTAD_RETURN_IF_ERROR(FromRocks(statuses[i], "read slots"));
    if (keys[i].hour >= oldest) out[i] = DecodeCounterValue(values[i].data(), values[i].size());
  }
  return out;
}

absl::Status RocksDbCounterStore::PutSlots(absl::Span<const SlotValue> slots) {
  rocksdb::WriteBatch batch;
  for (const SlotValue& s : slots) {
    QUOTAD_RETURN_IF_ERROR(
        FromRocks(batch.Put(counters_cf_, s.key.Encode(), EncodeCounterValue(s.value)), "batch put"));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return FromRocks(db_->Write(wo, &batch), "put slots");
}

absl::StatusOr<size_t> RocksDbCounterStore::ScanSlots(
    absl::string_view prefix, uint32_t min_hour, uint32_t max_hour, absl::string_view start_after,
    size_t limit, const std::function<bool(const SlotValue&)>& fn) {
  min_hour = std::max(min_hour, OldestLiveHour());
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
  return scanner_->Scan(prefixes, std::max(min_hour, OldestLiveHour()), max_hour, start_after,
                        max_keys, fn);
}

absl::StatusOr<std::optional<v1::ReplicatedRecord>> RocksDbCounterStore::GetRecord(
    absl::string_view key) {
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
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return FromRocks(db_->Put(wo, records_cf_, record.key(), record.SerializeAsString()),
                   "write record");
}

absl::Status RocksDbCounterStore::ScanRecords(
    absl::string_view prefix, const std::function<bool(const v1::ReplicatedRecord&)>& fn) {
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
  rocksdb::WriteOptions wo;
  wo.sync = sync_writes_;
  return FromRocks(db_->Put(wo, audit_cf_, key, entry.SerializeAsString()), "write audit");
}

absl::StatusOr<std::vector<v1::AuditEntry>> RocksDbCounterStore::ListAudit(size_t limit) {
  std::vector<v1::AuditEntry> out;
  const int64_t cutoff = absl::ToUnixMicros(clock_->Now() - audit_retention_);
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
  for (auto* cf : {counters_cf_, idempotency_cf_, records_cf_, audit_cf_}) {
    QUOTAD_RETURN_IF_ERROR(FromRocks(db_->CompactRange(options, cf, nullptr, nullptr), "compact"));
  }
  return absl::OkStatus();
}

}  // namespace quotad
