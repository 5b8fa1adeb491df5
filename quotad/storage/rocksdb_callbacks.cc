#include "quotad/storage/rocksdb_callbacks.h"

#include <cstdarg>
#include <cstdio>
#include <string>

#include "quotad/common/logging.h"
#include "quotad/common/time_buckets.h"
#include "quotad/storage/keys.h"
#include "quotad/v1/gossip.pb.h"

namespace quotad {
namespace {

// Forwards RocksDB's log lines to quotad's log (see NewRocksDbLogger).
class RocksDbLogger final : public rocksdb::Logger {
 public:
  explicit RocksDbLogger(rocksdb::InfoLogLevel level) : rocksdb::Logger(level) {}

  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char line[1024];
    std::vsnprintf(line, sizeof(line), format, ap);
    if (level >= rocksdb::InfoLogLevel::WARN_LEVEL) {
      QUOTAD_LOG(WARNING) << "rocksdb: " << line;
    } else {
      QUOTAD_LOG(DEBUG) << "rocksdb: " << line;
    }
  }
};

// uint64 add; malformed operands count as 0 (never throws, never fails).
class UInt64AddOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    const uint64_t base = existing ? DecodeCounterValue(existing->data(), existing->size()) : 0;
    *new_value = EncodeCounterValue(base + DecodeCounterValue(value.data(), value.size()));
    return true;
  }
  const char* Name() const override { return "quotad.UInt64Add"; }
};

// Drops counter buckets older than their unit's retention (time_buckets.h).
class CounterRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  CounterRetentionFilter(Clock* clock, std::shared_ptr<const SharedRetention> retention)
      : clock_(clock), retention_(std::move(retention)) {}
  Decision FilterV2(int, const rocksdb::Slice& key, ValueType, const rocksdb::Slice&,
                    std::string*, std::string*) const override {
    if (key.size() != kCounterKeySize) return Decision::kKeep;
    const uint32_t bucket = CounterKeyHour(absl::string_view(key.data(), key.size()));
    return BucketLive(bucket, clock_->Now(), retention_->Load()) ? Decision::kKeep
                                                                 : Decision::kRemove;
  }
  const char* Name() const override { return "quotad.CounterRetentionFilter"; }

 private:
  Clock* clock_;
  std::shared_ptr<const SharedRetention> retention_;
};

// Drops idempotency records whose expiry has passed.
class IdempotencyExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  explicit IdempotencyExpiryFilter(Clock* clock) : clock_(clock) {}
  Decision FilterV2(int, const rocksdb::Slice&, ValueType type, const rocksdb::Slice& value,
                    std::string*, std::string*) const override {
    if (type != ValueType::kValue || value.size() < 8) return Decision::kKeep;
    const int64_t expiry = static_cast<int64_t>(ReadBigEndian64(value.data()));
    return expiry < absl::ToUnixMicros(clock_->Now()) ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "quotad.IdempotencyExpiryFilter"; }

 private:
  Clock* clock_;
};

// Drops records whose expiry passed more than `ttl` ago (one that comes back
// from a peer that was away is still expired, and MergeRecord drops it).
// Tombstones are kept for good: a peer away for any time could otherwise
// bring a deleted ban back (they are tiny and as many as operator deletes).
class RecordExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  RecordExpiryFilter(Clock* clock, absl::Duration ttl) : clock_(clock), ttl_(ttl) {}
  Decision FilterV2(int, const rocksdb::Slice&, ValueType type, const rocksdb::Slice& value,
                    std::string*, std::string*) const override {
    if (type != ValueType::kValue) return Decision::kKeep;
    v1::ReplicatedRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return Decision::kKeep;
    }
    const int64_t cutoff_us = absl::ToUnixMicros(clock_->Now() - ttl_);
    const bool long_expired = !record.deleted() && record.expires_unix_micros() != 0 &&
                              record.expires_unix_micros() < cutoff_us;
    return long_expired ? Decision::kRemove : Decision::kKeep;
  }
  const char* Name() const override { return "quotad.RecordExpiryFilter"; }

 private:
  Clock* clock_;
  absl::Duration ttl_;
};

// Drops audit entries older than the retention (key = time first).
class AuditRetentionFilter final : public rocksdb::CompactionFilter {
 public:
  AuditRetentionFilter(Clock* clock, absl::Duration retention)
      : clock_(clock), retention_(retention) {}
  Decision FilterV2(int, const rocksdb::Slice& key, ValueType, const rocksdb::Slice&, std::string*,
                    std::string*) const override {
    if (key.size() < 8) return Decision::kKeep;
    const int64_t written = static_cast<int64_t>(ReadBigEndian64(key.data()));
    return written < absl::ToUnixMicros(clock_->Now() - retention_) ? Decision::kRemove
                                                                     : Decision::kKeep;
  }
  const char* Name() const override { return "quotad.AuditRetentionFilter"; }

 private:
  Clock* clock_;
  absl::Duration retention_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewRocksDbLogger() {
  return std::make_shared<RocksDbLogger>(LogLevelEnabled(LogLevel::kDebug)
                                             ? rocksdb::InfoLogLevel::INFO_LEVEL
                                             : rocksdb::InfoLogLevel::WARN_LEVEL);
}

std::shared_ptr<rocksdb::MergeOperator> NewUInt64AddOperator() {
  return std::make_shared<UInt64AddOperator>();
}

std::unique_ptr<rocksdb::CompactionFilter> NewCounterRetentionFilter(
    Clock* clock, std::shared_ptr<const SharedRetention> retention) {
  return std::make_unique<CounterRetentionFilter>(clock, std::move(retention));
}

std::unique_ptr<rocksdb::CompactionFilter> NewIdempotencyExpiryFilter(Clock* clock) {
  return std::make_unique<IdempotencyExpiryFilter>(clock);
}

std::unique_ptr<rocksdb::CompactionFilter> NewRecordExpiryFilter(Clock* clock,
                                                                 absl::Duration expired_ttl) {
  return std::make_unique<RecordExpiryFilter>(clock, expired_ttl);
}

std::unique_ptr<rocksdb::CompactionFilter> NewAuditRetentionFilter(Clock* clock,
                                                                   absl::Duration retention) {
  return std::make_unique<AuditRetentionFilter>(clock, retention);
}

}  // namespace quotad
