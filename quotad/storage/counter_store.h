// The storage seam: durable per-bucket counters plus idempotency records.
// Every `hour` below is a bucket number (quotad/common/time_buckets.h): an
// hour number for hour buckets, a tagged minute or day number otherwise;
// "live" means within its unit's retention (BucketLive).
// Business logic talks to this interface only; RocksDbCounterStore is the
// production implementation.
#ifndef QUOTAD_STORAGE_COUNTER_STORE_H_
#define QUOTAD_STORAGE_COUNTER_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "quotad/common/time_buckets.h"
#include "quotad/storage/keys.h"

namespace quotad {

// One increment of this node's own slot of a counter.
struct CounterDelta {
  CounterId id;
  uint32_t hour = 0;
  CountKind kind = CountKind::kCharged;
  uint64_t amount = 0;
};

// One replica slot of one counter bucket: the unit of replication. Slots
// are grow-only; replicas merge them by maximum.
struct SlotKey {
  CounterId id;
  uint32_t hour = 0;
  uint64_t origin = 0;
  CountKind kind = CountKind::kCharged;

  std::string Encode() const { return EncodeCounterKey(id, hour, origin, kind); }
  static std::optional<SlotKey> Decode(absl::string_view key) {
    auto d = DecodeCounterKey(key);
    if (!d) return std::nullopt;
    return SlotKey{d->id, d->hour, d->origin, d->kind};
  }
  friend bool operator==(const SlotKey&, const SlotKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SlotKey& k) {
    return H::combine(std::move(h), k.id, k.hour, k.origin, static_cast<uint8_t>(k.kind));
  }
};

struct SlotValue {
  SlotKey key;
  uint64_t value = 0;
};

// An idempotency record to store with a commit.
struct IdempotencyPut {
  IdentityHash key{};
  absl::Time expires;
  std::string record;  // opaque to the store
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // Net (charged - refunded) per bucket with min_hour <= bucket (of
  // min_hour's unit: a counter's buckets are all of one unit), summed over
  // every origin slot, in ascending order. Buckets past their retention are
  // never returned. Errors: Unavailable on storage failure.
  [[nodiscard]] virtual absl::StatusOr<std::vector<HourCount>> ReadBuckets(const CounterId& id,
                                                                           uint32_t min_hour) = 0;

  // The same counter's live slots one by one (every origin and kind), in
  // key order, read from one point-in-time view. Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::vector<SlotValue>> ReadCounterSlots(
      const CounterId& id, uint32_t min_hour) = 0;

  // Applies every delta to this node's slot and stores `idempotency` (may be
  // null) in one atomic write that is in the write-ahead log when this
  // returns OK. Errors: Unavailable; on error nothing was applied.
  [[nodiscard]] virtual absl::Status Commit(absl::Span<const CounterDelta> deltas,
                                            const IdempotencyPut* idempotency) = 0;

  // Like Commit, for many requests at once (group commit): all deltas and
  // all idempotency records in one atomic, WAL-durable write.
  [[nodiscard]] virtual absl::Status CommitMany(absl::Span<const CounterDelta> deltas,
                                                absl::Span<const IdempotencyPut> idempotency) = 0;

  // The stored record for `key` unless absent or expired at `now`.
  // Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> GetIdempotency(
      const IdentityHash& key, absl::Time now) = 0;

  // The absolute value of each slot (0 when absent or expired).
  // Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::vector<uint64_t>> GetSlots(
      absl::Span<const SlotKey> keys) = 0;

  // Sets each slot to the given absolute value in one atomic, WAL-durable
  // write. Callers implement max-merge by reading first under their lock.
  // Errors: Unavailable; on error nothing was applied.
  [[nodiscard]] virtual absl::Status PutSlots(absl::Span<const SlotValue> slots) = 0;

  // Visits live slots in key order whose counter id starts with `prefix`
  // (1 or 2 bytes: key space, first hash byte), whose hour is in
  // [min_hour, max_hour], and whose key sorts after `start_after` (empty:
  // from the beginning). Stops after `limit` slots or when `fn` returns
  // false. Returns the number visited. Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<size_t> ScanSlots(
      absl::string_view prefix, uint32_t min_hour, uint32_t max_hour,
      absl::string_view start_after, size_t limit,
      const std::function<bool(const SlotValue&)>& fn) = 0;

  // Where a ScanSlotRanges stopped.
  struct ScanProgress {
    std::string last_key;  // the last key visited (resume after it)
    bool exhausted = false;  // nothing of the ranges follows last_key
  };
  // Anti-entropy pages: visits live slots in key order whose key starts with
  // one of `prefixes` (ascending; 1 or 2 bytes each: key space, first hash
  // byte), whose hour is in [min_hour, max_hour] and whose key sorts after
  // `start_after` (empty: from the first prefix). Stops after visiting
  // `max_keys` keys of those ranges (whatever their hour, so filtering
  // cannot make a page unbounded) or once `fn` returns false (the slot it
  // was given counts as visited). A scan that resumes exactly where the
  // previous one stopped (start_after == its last_key) may continue the same
  // point-in-time view, at most 5 s old, instead of building a new one; a
  // scan from the start always reads a fresh view. Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<ScanProgress> ScanSlotRanges(
      absl::Span<const std::string> prefixes, uint32_t min_hour, uint32_t max_hour,
      absl::string_view start_after, size_t max_keys,
      const std::function<bool(const SlotValue&)>& fn) = 0;

  // Releases a ScanSlotRanges view nobody resumed within its age limit (it
  // pins memtables and files). Cheap; call it periodically.
  virtual void ReleaseIdleScans() {}

  // The origin slot id this process increments: new for every start of the
  // store (an "incarnation"), so a node can never under-count behind its
  // peers' copies of an earlier incarnation's slot (after a lost WAL tail,
  // a restored backup or a wiped data dir).
  virtual uint64_t origin() const = 0;
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_COUNTER_STORE_H_
