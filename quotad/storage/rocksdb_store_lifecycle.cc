// RocksDbCounterStore's life: opening (a fresh origin slot per process),
// closing, and healing after a storage fault (StorageRecovery: probe the
// disk, then reopen), with the gate every operation passes. The operations
// themselves are in rocksdb_counter_store.cc.
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "quotad/storage/rocksdb_status.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/listener.h"
#include "rocksdb/write_batch.h"

namespace quotad {
namespace {

constexpr char kOriginKey[] = "origin";
constexpr char kNodeIdKey[] = "node_id";

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
  store->retention_ = std::make_shared<SharedRetention>(options.retention);
  store->audit_retention_ = options.audit_retention;
  store->layout_ = MakeRocksDbLayout(options, store->deletion_clock_.get(), store->retention_);
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

}  // namespace quotad
