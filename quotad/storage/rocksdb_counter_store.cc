#include "quotad/storage/rocksdb_counter_store.h"

#include <openssl/rand.h>

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/listener.h"
#include "rocksdb/write_batch.h"

namespace quotad {
namespace {

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

// Whether the disk under `dir` takes writes again: 1 MiB written, synced
// and removed through the file system RocksDB writes through.
absl::Status ProbeDisk(rocksdb::FileSystem* fs, const std::string& dir) {
  const std::string path = dir + "/RECOVERY_PROBE";
  const rocksdb::IOOptions io;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s = fs->NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr);
  if (s.ok()) {
    const std::string chunk(64 << 10, '\0');
    for (int i = 0; i < 16 && s.ok(); ++i) s = file->Append(chunk, io, nullptr);
    if (s.ok()) s = file->Fsync(io, nullptr);
    rocksdb::IOStatus closed = file->Close(io, nullptr);
    if (s.ok()) s = closed;
    closed.PermitUncheckedError();
  }
  fs->DeleteFile(path, io, nullptr).PermitUncheckedError();
  return FromRocks(s, "probe write");
}

absl::string_view BackgroundWork(rocksdb::BackgroundErrorReason reason) {
  switch (reason) {
    case rocksdb::BackgroundErrorReason::kFlush:
    case rocksdb::BackgroundErrorReason::kFlushNoWAL:
      return "background flush";
    case rocksdb::BackgroundErrorReason::kCompaction:
      return "background compaction";
    case rocksdb::BackgroundErrorReason::kWriteCallback:
    case rocksdb::BackgroundErrorReason::kMemTable:
      return "write";
    default:
      return "manifest write";
  }
}

// Hands every background error to StorageRecovery and turns RocksDB's own
// recovery off: its Resume() writes again through a WAL writer that failed,
// which Debian's build of RocksDB asserts on (seen on a full tmpfs).
class FailureListener final : public rocksdb::EventListener {
 public:
  explicit FailureListener(std::shared_ptr<StorageRecovery> recovery)
      : recovery_(std::move(recovery)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason reason, rocksdb::Status* error) override {
    recovery_->ReportFailure(FromRocks(*error, "rocksdb"), BackgroundWork(reason));
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/, rocksdb::Status error,
                            bool* auto_recovery) override {
    error.PermitUncheckedError();
    *auto_recovery = false;
  }

 private:
  const std::shared_ptr<StorageRecovery> recovery_;
};

void InstallFailureListener(rocksdb::DBOptions* options,
                            std::shared_ptr<StorageRecovery> recovery) {
  options->max_bgerror_resume_count = 0;
  options->listeners.push_back(std::make_shared<FailureListener>(std::move(recovery)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbCounterStore>> RocksDbCounterStore::Open(
    const RocksDbOptions& options) {
  std::unique_ptr<RocksDbCounterStore> store(new RocksDbCounterStore());
  store->path_ = options.path;
  store->clock_ = options.clock;
  store->deletion_clock_ = std::make_unique<DeletionWatermark>(options.clock, options.elapsed_clock);
  store->sync_writes_ = options.sync_writes;
  store->retention_hours_ = std::make_shared<std::atomic<int64_t>>(options.retention_hours);
  store->audit_retention_ = options.audit_retention;
  store->layout_ =
      MakeRocksDbLayout(options, store->deletion_clock_.get(), store->retention_hours_);
  store->file_system_ = options.file_system;
  if (store->file_system_ != nullptr) {
    store->env_ = rocksdb::NewCompositeEnv(store->file_system_);
    store->layout_.db.env = store->env_.get();
  } else {
    store->file_system_ = rocksdb::FileSystem::Default();
  }
  RocksDbCounterStore* raw = store.get();
  store->recovery_ = std::make_shared<StorageRecovery>([raw] { return raw->Heal(); },
                                                       options.recovery_retry);
  InstallFailureListener(&store->layout_.db, store->recovery_);
  {
    std::unique_lock lock(store->db_mu_);
    QUOTAD_RETURN_IF_ERROR(store->OpenDb());
  }
  QUOTAD_ASSIGN_OR_RETURN(store->origin_, store->StartIncarnation(options.node_id));
  return store;
}

absl::StatusOr<uint64_t> RocksDbCounterStore::StartIncarnation(const std::string& node_id) {
  // A fresh origin slot for this incarnation; earlier incarnations' slots
  // stay in the data and keep counting.
  uint64_t origin = 0;
  while (origin == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&origin), sizeof(origin)) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
  }
  std::string previous;
  const bool existed = db_->Get(rocksdb::ReadOptions(), default_cf_, kOriginKey, &previous).ok();
  std::string stored_node;
  if (db_->Get(rocksdb::ReadOptions(), default_cf_, kNodeIdKey, &stored_node).ok() &&
      stored_node != node_id) {
    QUOTAD_LOG(WARNING) << "data dir was last served by node '" << stored_node << "', now '"
                        << node_id << "'";
  }
  std::string encoded;
  AppendBigEndian64(&encoded, origin);
  rocksdb::WriteBatch batch;
  batch.Put(default_cf_, kOriginKey, encoded);
  batch.Put(default_cf_, kNodeIdKey, node_id);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  if (auto ws = db_->Write(wo, &batch); !ws.ok()) return FromRocks(ws, "write origin");
  QUOTAD_LOG(INFO) << (existed ? "reopened" : "created") << " data dir " << path_
                   << ": origin slot " << std::hex << origin << std::dec;
  return origin;
}

absl::Status RocksDbCounterStore::OpenDb() {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::DB::Open(layout_.db, path_, layout_.column_families, &handles, &db_);
  if (!s.ok()) {
    db_ = nullptr;
    return FromRocks(s, absl::StrCat("cannot open data dir ", path_));
  }
  default_cf_ = handles[kDefaultFamily];
  counters_cf_ = handles[kCountersFamily];
  idempotency_cf_ = handles[kIdempotencyFamily];
  records_cf_ = handles[kRecordsFamily];
  audit_cf_ = handles[kAuditFamily];
  scanner_ = std::make_unique<RangeScanner>(db_, counters_cf_);
  return absl::OkStatus();
}

void RocksDbCounterStore::CloseDb(bool sync_wal) {
  if (db_ == nullptr) return;
  scanner_.reset();
  // Never after a failed write: RocksDB must not touch a WAL writer that
  // failed (Debian's build asserts on it).
  if (sync_wal) {
    if (auto s = db_->SyncWAL(); !s.ok()) QUOTAD_LOG(WARNING) << "SyncWAL at close: " << s.ToString();
  }
  for (auto* cf : {default_cf_, counters_cf_, idempotency_cf_, records_cf_, audit_cf_}) {
    if (cf != nullptr) db_->DestroyColumnFamilyHandle(cf);
  }
  // After a fault the failed WAL writer reports its error again here.
  if (auto s = db_->Close(); !s.ok() && sync_wal) QUOTAD_LOG(WARNING) << "close: " << s.ToString();
  delete db_;
  db_ = nullptr;
}

RocksDbCounterStore::~RocksDbCounterStore() {
  if (recovery_ == nullptr) return;
  recovery_->Stop();  // no heal races the close
  CloseDb(recovery_->healthy());
}

absl::Status RocksDbCounterStore::Heal() {
  // Reopen only when the disk takes writes again; until then the old
  // database keeps serving reads.
  QUOTAD_RETURN_IF_ERROR(ProbeDisk(file_system_.get(), path_));
  reopening_.store(true);
  std::unique_lock lock(db_mu_);
  CloseDb(/*sync_wal=*/false);
  // Replays the WAL: every acknowledged write is in it; a write torn by
  // the fault was never acknowledged and point-in-time recovery drops it.
  absl::Status opened = OpenDb();
  reopening_.store(false);
  return opened;
}

absl::StatusOr<RocksDbCounterStore::Access> RocksDbCounterStore::Enter() const {
  if (reopening_.load(std::memory_order_relaxed)) {
    return absl::UnavailableError("storage is being reopened after a fault");
  }
  Access access(db_mu_);
  if (db_ == nullptr) return absl::UnavailableError("storage is closed after a fault");
  return access;
}

absl::Status RocksDbCounterStore::EnterForWrite(Access* access) const {
  if (!recovery_->healthy()) {
    return absl::UnavailableError("storage refused a write and has not recovered yet");
  }
  QUOTAD_ASSIGN_OR_RETURN(*access, Enter());
  return absl::OkStatus();
}

absl::Status RocksDbCounterStore::Written(const rocksdb::Status& s, absl::string_view what) {
  absl::Status status = FromRocks(s, what);
  if (!s.ok() && !s.IsInvalidArgument()) recovery_->ReportFailure(status, what);
  return status;
}

bool RocksDbCounterStore::healthy() const { return recovery_->healthy(); }

void RocksDbCounterStore::SetHealthListener(std::function<void(bool healthy)> listener) {
  recovery_->SetListener(std::move(listener));
}

uint32_t RocksDbCounterStore::OldestLiveHour() const {
  const int64_t oldest = int64_t{HourOf(clock_->Now())} - retention_hours_->load() + 1;
  return oldest < 0 ? 0 : static_cast<uint32_t>(oldest);
}

template <typename Visit>
absl::Status RocksDbCounterStore::VisitCounter(const CounterId& id, uint32_t min_hour,
                                               const Visit& visit) {
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
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
  QUOTAD_ASSIGN_OR_RETURN(Access access, Enter());
  return scanner_->Scan(prefixes, std::max(min_hour, OldestLiveHour()), max_hour, start_after,
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
