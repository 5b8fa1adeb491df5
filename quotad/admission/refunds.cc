// AdmissionController, the giving-back half: Refund (by request_id) and
// ResetCounter (an operator's reset). Both add to this node's refund slot
// (`N`) so they replicate like any charge, under the counters' shard locks,
// and keep the cache in step.
#include <map>

#include "quotad/admission/admission_controller.h"
#include "quotad/common/status_macros.h"
#include "quotad/v1/storage.pb.h"

namespace quotad {

absl::StatusOr<int64_t> AdmissionController::ResetCounter(const CounterId& id, BucketUnit unit) {
  const absl::Time now = clock_->Now();
  CounterCache::Locks locks(&cache_, {cache_.ShardOf(id)});
  Buckets buckets;
  QUOTAD_RETURN_IF_ERROR(cache_.Load(id, OldestWindowBucket(unit, now), &buckets));
  // Merged and legacy buckets may repeat a bucket; sum per bucket.
  std::map<uint32_t, int64_t> net;
  for (const HourCount& b : buckets) net[b.hour] += b.count;
  absl::InlinedVector<CounterDelta, 4> deltas;
  int64_t cleared = 0;
  for (const auto& [hour, count] : net) {
    if (count <= 0) continue;
    deltas.push_back({id, hour, CountKind::kRefunded, static_cast<uint64_t>(count)});
    cleared += count;
  }
  if (deltas.empty()) return int64_t{0};
  if (absl::Status s = store_->Commit(deltas, nullptr); !s.ok()) return AsUnavailable(s);
  for (const CounterDelta& d : deltas) {
    cache_.Add(d.id, d.hour, -static_cast<int64_t>(d.amount));
    NotifyUsage(d.id, d.hour, -static_cast<int64_t>(d.amount));
    if (listener_ != nullptr) {
      listener_->OnLocalSlotAdded(SlotKey{d.id, d.hour, store_->origin(), CountKind::kRefunded},
                                  d.amount);
    }
  }
  return cleared;
}

absl::StatusOr<v1::RefundResponse> AdmissionController::Refund(const v1::RefundRequest& request) {
  QUOTAD_RETURN_IF_ERROR(ValidateRefundRequest(request));
  const absl::Time now = clock_->Now();
  const IdentityHash key = hasher_->Hash(IdentityDomain::kRequestId, {request.request_id()});

  auto read_record = [&]() -> absl::StatusOr<v1::IdempotencyRecord> {
    auto stored = store_->GetIdempotency(key, now);
    if (!stored.ok()) return AsUnavailable(stored.status());
    if (!stored->has_value()) {
      return absl::NotFoundError(
          "request_id: no admitted Acquire under this request_id (unknown, denied, or past its "
          "TTL)");
    }
    v1::IdempotencyRecord record;
    if (!record.ParseFromString(**stored)) {
      return absl::UnavailableError("stored idempotency record is corrupt");
    }
    return record;
  };

  // Read once unlocked to learn which counters to lock, then again under the
  // locks (the charged set never changes; the refunded flag may).
  QUOTAD_ASSIGN_OR_RETURN(const v1::IdempotencyRecord first, read_record());
  std::vector<CounterId> ids;
  for (const auto& c : first.charged()) {
    if (auto id = CounterId::Decode(c.counter_id())) ids.push_back(*id);
  }
  ShardIds shard_ids;
  for (const CounterId& id : ids) shard_ids.push_back(cache_.ShardOf(id));
  shard_ids.push_back(cache_.ShardOfKey(key));
  CounterCache::Locks locks(&cache_, std::move(shard_ids));

  QUOTAD_ASSIGN_OR_RETURN(v1::IdempotencyRecord record, read_record());
  v1::RefundResponse resp;
  if (record.refunded() || record.cost() <= 0 || !record.response().allowed()) return resp;

  const Retention retention = policy_->Current()->retention();
  absl::InlinedVector<CounterDelta, kInlineLimits> deltas;
  for (const auto& c : record.charged()) {
    auto id = CounterId::Decode(c.counter_id());
    if (!id || !BucketLive(c.hour(), now, retention)) continue;
    const int64_t amount = c.amount() > 0 ? c.amount() : record.cost();
    deltas.push_back({*id, c.hour(), CountKind::kRefunded, static_cast<uint64_t>(amount)});
  }
  record.set_refunded(true);
  IdempotencyPut put{key, now + options_.idempotency_ttl, record.SerializeAsString()};
  if (absl::Status s = store_->Commit(deltas, &put); !s.ok()) return AsUnavailable(s);
  for (const CounterDelta& d : deltas) {
    cache_.Add(d.id, d.hour, -static_cast<int64_t>(d.amount));
    NotifyUsage(d.id, d.hour, -static_cast<int64_t>(d.amount));
    if (listener_ != nullptr) {
      listener_->OnLocalSlotAdded(SlotKey{d.id, d.hour, store_->origin(), CountKind::kRefunded},
                                  d.amount);
    }
  }
  // Peers learn it was refunded (a Refund there is then a no-op).
  if (listener_ != nullptr) listener_->OnAdmissionRecorded(put.key, put.expires, put.record);
  resp.set_refunded(!deltas.empty());
  resp.set_refunded_cost(deltas.empty() ? 0 : record.cost());
  return resp;
}

}  // namespace quotad
