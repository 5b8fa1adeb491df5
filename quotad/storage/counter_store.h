// The storage seam: durable per-hour counters plus idempotency records.
// Business logic talks to this interface only; RocksDbCounterStore is the
// production implementation.
#ifndef QUOTAD_STORAGE_COUNTER_STORE_H_
#define QUOTAD_STORAGE_COUNTER_STORE_H_

#include <cstdint>
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

// An idempotency record to store with a commit.
struct IdempotencyPut {
  IdentityHash key{};
  absl::Time expires;
  std::string record;  // opaque to the store
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // Net (charged - refunded) per hour bucket with hour >= min_hour, summed
  // over every origin slot, in ascending hour order. Buckets older than the
  // retention are never returned. Errors: Unavailable on storage failure.
  [[nodiscard]] virtual absl::StatusOr<std::vector<HourCount>> ReadBuckets(const CounterId& id,
                                                                           uint32_t min_hour) = 0;

  // Applies every delta to this node's slot and stores `idempotency` (may be
  // null) in one atomic write that is in the write-ahead log when this
  // returns OK. Errors: Unavailable; on error nothing was applied.
  [[nodiscard]] virtual absl::Status Commit(absl::Span<const CounterDelta> deltas,
                                            const IdempotencyPut* idempotency) = 0;

  // The stored record for `key` unless absent or expired at `now`.
  // Errors: Unavailable.
  [[nodiscard]] virtual absl::StatusOr<std::optional<std::string>> GetIdempotency(
      const IdentityHash& key, absl::Time now) = 0;

  // This data directory's origin slot id.
  virtual uint64_t origin() const = 0;
};

}  // namespace quotad

#endif  // QUOTAD_STORAGE_COUNTER_STORE_H_
