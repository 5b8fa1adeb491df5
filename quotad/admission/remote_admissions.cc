// AdmissionController, the replicated half of idempotency: admitted
// request_ids learned from peers (MergeRemoteAdmission), so a retry or a
// Refund of the same request_id on this node finds the first answer.
#include "quotad/admission/admission_controller.h"
#include "quotad/common/status_macros.h"
#include "quotad/v1/storage.pb.h"

namespace quotad {

absl::Status AdmissionController::MergeRemoteAdmission(const IdentityHash& key, absl::Time expires,
                                                       const std::string& record) {
  v1::IdempotencyRecord incoming;
  if (!incoming.ParseFromString(record)) {
    return absl::InvalidArgumentError("record: not an IdempotencyRecord");
  }
  const absl::Time now = clock_->Now();
  if (expires <= now) return absl::OkStatus();  // expired here already: nothing to keep
  // An Acquire of the same request_id holds its reservation until its own
  // record is durable; a Refund holds the id's shard lock.
  const std::unique_ptr<CounterCache::IdReservation> reserved = cache_.ReserveId(key);
  CounterCache::Locks locks(&cache_, {cache_.ShardOfKey(key)});
  auto stored = store_->GetIdempotency(key, now);
  if (!stored.ok()) return AsUnavailable(stored.status());
  std::string merged;
  if (stored->has_value()) {
    v1::IdempotencyRecord local;
    if (!local.ParseFromString(**stored)) {
      return absl::UnavailableError("stored idempotency record is corrupt");
    }
    // The first answer stays; "refunded" only ever turns on.
    if (local.refunded() || !incoming.refunded()) return absl::OkStatus();
    local.set_refunded(true);
    merged = local.SerializeAsString();
  } else {
    merged = record;
  }
  IdempotencyPut put{key, expires, std::move(merged)};
  if (absl::Status s = store_->Commit({}, &put); !s.ok()) return AsUnavailable(s);
  return absl::OkStatus();
}

}  // namespace quotad
