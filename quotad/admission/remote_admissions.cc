// AdmissionController, the replicated half of idempotency: admitted
// request_ids learned from peers (MergeRemoteAdmissions), so a retry or a
// Refund of the same request_id on this node finds the first answer.
#include <algorithm>

#include "quotad/admission/admission_controller.h"
#include "quotad/common/status_macros.h"
#include "quotad/v1/storage.pb.h"

namespace quotad {
namespace {

// The record to store for `incoming` given what is stored (nullopt: keep
// the stored one). The first answer stays; "refunded" only ever turns on.
absl::StatusOr<std::optional<std::string>> Merged(
    const std::optional<std::string>& stored,
    const AdmissionController::RemoteAdmission& incoming) {
  if (!stored) return std::optional<std::string>(incoming.record);
  v1::IdempotencyRecord local;
  if (!local.ParseFromString(*stored)) {
    return absl::UnavailableError("stored idempotency record is corrupt");
  }
  if (local.refunded() || !incoming.refunded) return std::optional<std::string>();
  local.set_refunded(true);
  return std::optional<std::string>(local.SerializeAsString());
}

}  // namespace

absl::Status AdmissionController::MergeRemoteAdmissions(
    absl::Span<const RemoteAdmission> admissions) {
  const absl::Time now = clock_->Now();
  std::vector<const RemoteAdmission*> live;
  for (const RemoteAdmission& a : admissions) {
    if (a.expires > now) live.push_back(&a);  // else: nothing to keep
  }
  if (live.empty()) return absl::OkStatus();
  // In key order (concurrent merges reserve in the same order). An Acquire
  // of one of these request_ids holds its reservation until its own record
  // is durable; a Refund holds the ids' shard locks.
  std::sort(live.begin(), live.end(),
            [](const RemoteAdmission* a, const RemoteAdmission* b) { return a->key < b->key; });
  std::vector<std::unique_ptr<CounterCache::IdReservation>> reserved;
  ShardIds shards;
  for (size_t i = 0; i < live.size(); ++i) {
    if (i > 0 && live[i]->key == live[i - 1]->key) continue;
    reserved.push_back(cache_.ReserveId(live[i]->key));
    shards.push_back(cache_.ShardOfKey(live[i]->key));
  }
  CounterCache::Locks locks(&cache_, CounterCache::Unique(std::move(shards)));
  std::vector<IdempotencyPut> puts;
  for (const RemoteAdmission* a : live) {
    auto stored = store_->GetIdempotency(a->key, now);
    if (!stored.ok()) return AsUnavailable(stored.status());
    // A key repeated in one push: the version just merged is what is stored.
    for (const IdempotencyPut& p : puts) {
      if (p.key == a->key) *stored = p.record;
    }
    QUOTAD_ASSIGN_OR_RETURN(std::optional<std::string> merged, Merged(*stored, *a));
    if (merged) puts.push_back({a->key, a->expires, std::move(*merged)});
  }
  if (puts.empty()) return absl::OkStatus();
  if (absl::Status s = store_->CommitMany({}, puts); !s.ok()) return AsUnavailable(s);
  return absl::OkStatus();
}

}  // namespace quotad
