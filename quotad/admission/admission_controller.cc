#include "quotad/admission/admission_controller.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <tuple>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "quotad/admission/decision_response.h"
#include "quotad/admission/idempotency_records.h"
#include "quotad/admission/limit_plan.h"
#include "quotad/admission/meters.h"
#include "quotad/common/logging.h"
#include "quotad/common/status_macros.h"
#include "quotad/policy/window.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/storage.pb.h"

namespace quotad {
namespace {

absl::BitGenRef ThreadLocalGen() {
  thread_local absl::InsecureBitGen gen;
  return absl::BitGenRef(gen);
}

}  // namespace

struct AdmissionController::PendingCommit {
  absl::InlinedVector<CounterDelta, kInlineLimits> deltas;  // the plan's counters (cached)
  absl::InlinedVector<CounterDelta, 2> meters;  // meters.h: written, never cached or locked
  std::optional<IdempotencyPut> put;
  ShardIds shard_ids;                                    // locked to release the reservation
  std::unique_ptr<CounterCache::IdReservation> inflight;  // the request_id reservation
  std::shared_ptr<BurstLimiter> burst;                    // the budget this charge took, if any
  absl::Time now;
  int64_t cost = 0;
};

AdmissionController::AdmissionController(CounterStore* store, PolicyHolder* policy,
                                         const IdentityHasher* hasher, Clock* clock,
                                         const OverrideSource* overrides,
                                         AdmissionOptions options)
    : store_(store),
      policy_(policy),
      hasher_(hasher),
      clock_(clock),
      overrides_(overrides),
      options_(std::move(options)),
      cache_(store, options_.shards, options_.max_cached_counters),
      merger_(store, &cache_),
      committer_(store, clock, std::max<size_t>(1, options_.max_commit_queue)) {
  options_.idempotency_ttl = std::max(options_.idempotency_ttl, absl::Minutes(10));
}

AdmissionController::~AdmissionController() {
  // A writer may still be persisting denials' records after their replies.
  WaitForIdle();
}

absl::StatusOr<v1::AcquireResponse> AdmissionController::Acquire(
    const v1::AcquireRequest& request) {
  absl::Notification finished;
  absl::StatusOr<v1::AcquireResponse> result;
  AcquireAsync(request, [&](absl::StatusOr<v1::AcquireResponse> r) {
    result = std::move(r);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

absl::StatusOr<v1::AcquireResponse> AdmissionController::Check(const v1::AcquireRequest& request) {
  QUOTAD_ASSIGN_OR_RETURN(Decision decision, Decide(request, /*charge=*/false));
  return std::move(decision.response);
}

absl::StatusOr<UsageExplanation> AdmissionController::Explain(
    const v1::AcquireRequest& request) {
  UsageExplanation explain;
  QUOTAD_ASSIGN_OR_RETURN(Decision decision, Decide(request, /*charge=*/false, &explain));
  explain.decision = std::move(decision.response);
  return explain;
}

absl::StatusOr<AdmissionController::Decision> AdmissionController::Decide(
    const v1::AcquireRequest& request, bool charge, UsageExplanation* explain) {
  const std::shared_ptr<const CompiledPolicy> policy = policy_->Current();
  QUOTAD_ASSIGN_OR_RETURN(const ValidatedRequest req, ValidateAcquireRequest(request, *policy));
  const absl::Time now = clock_->Now();
  const ClientFacts facts{req.ip, req.user_agent, req.client_name, req.integration_id};
  const Classification cls = policy->Classify(facts, req.claimed_tier, overrides_, now);
  const TierConfig& tier = *cls.tier;

  // Every limit row that applies; all must pass and all their counters are
  // charged together.
  const LimitPlan plan = PlanLimits(*policy, cls, req, *hasher_, previous_hasher_);
  const auto& limits = plan.limits;
  if (explain != nullptr) {
    explain->source = cls.source;
    explain->override_id = cls.override_id;
    explain->rule = std::string(cls.rule);
    for (const PlannedLimit& l : limits) {
      explain->counters.push_back(
          {l.name, plan.counters[l.counter].id, l.window, l.client_address});
    }
  }
  std::optional<IdentityHash> idem_key;
  if (charge && !req.request_id.empty()) {
    idem_key = hasher_->Hash(IdentityDomain::kRequestId, {req.request_id});
  }

  // 1. Reserve the request_id: a concurrent replay waits until this request
  //    is decided and durable, then reads its stored answer. The store is
  //    probed after reserving, outside the shard lock (with two gRPC
  //    threads, a lock holder descheduled mid-read stalls the other too).
  std::unique_ptr<CounterCache::IdReservation> inflight;
  if (idem_key) {
    inflight = cache_.ReserveId(*idem_key);
    auto stored = store_->GetIdempotency(*idem_key, now);
    if (!stored.ok()) return AsUnavailable(stored.status());
    if (stored->has_value()) {
      v1::IdempotencyRecord record;
      if (!record.ParseFromString(**stored)) {
        return absl::UnavailableError("stored idempotency record is corrupt");
      }
      QUOTAD_RETURN_IF_ERROR(CheckSameClient(record, plan));
      Decision replay;
      replay.response = record.response();
      replay.response.set_replayed(true);
      replay.response.set_refunded(record.refunded());
      return replay;  // releases the reservation
    }
  }

  // 2. Decide under the counters' shard locks and reserve the charge.
  ShardIds shard_ids;
  for (const PlannedCounter& c : plan.counters) {
    shard_ids.push_back(cache_.ShardOf(c.id));
    if (c.legacy_id) shard_ids.push_back(cache_.ShardOf(*c.legacy_id));
  }
  shard_ids = CounterCache::Unique(std::move(shard_ids));
  std::optional<CounterCache::Locks> locks(std::in_place, &cache_, shard_ids);

  // Copies of each counter's buckets, taken under the shard locks.
  absl::InlinedVector<Buckets, kInlineLimits> buckets(plan.counters.size());
  for (size_t c = 0; c < plan.counters.size(); ++c) {
    const uint32_t min_hour = OldestWindowBucket(plan.counters[c].unit, now);
    QUOTAD_RETURN_IF_ERROR(cache_.Load(plan.counters[c].id, min_hour, &buckets[c]));
    if (plan.counters[c].legacy_id) {
      Buckets legacy;
      QUOTAD_RETURN_IF_ERROR(cache_.Load(*plan.counters[c].legacy_id, min_hour, &legacy));
      // Window math sums per hour, so the two lists can simply be joined.
      buckets[c].insert(buckets[c].end(), legacy.begin(), legacy.end());
    }
  }

  // A row refuses when the request's amount does not fit; a row in its own
  // shadow mode only reports. The reason is the first enforced row's that
  // refuses (else the burst limit's, else the first shadow row's).
  const int64_t cost = req.cost;
  v1::Reason blocking = v1::REASON_UNSPECIFIED;
  v1::Reason shadowed = v1::REASON_UNSPECIFIED;
  absl::InlinedVector<bool, kInlineLimits> exceeded(limits.size(), false);
  DecisionNote note;
  note.tier = tier.name;
  note.client = plan.client;
  for (size_t i = 0; i < limits.size(); ++i) {
    const PlannedLimit& l = limits[i];
    const int64_t after =
        UsedInWindow(buckets[l.counter], l.window, now) + plan.counters[l.counter].amount;
    // Near-limit signal (usage_observer.h): at or above 80% of the row.
    const bool near = l.limit > 0 && after * 5 >= l.limit * 4;
    note.client_near |= near && l.client_address;
    if (l.integration_pool) {
      note.pool = plan.counters[l.counter].id;
      note.pool_near |= near;
    }
    if (after <= l.limit) continue;
    exceeded[i] = true;
    v1::Reason& first = l.enforce ? blocking : shadowed;
    if (first == v1::REASON_UNSPECIFIED) first = l.reason;
  }
  // The burst budget this request spends: its tier's, per integration
  // (BurstBudgets' fairness rule).
  const int64_t burst_limit = tier.burst_per_minute;
  const bool burst_applies = tier.automated && burst_limit > 0;
  const std::shared_ptr<BurstLimiter> burst =
      burst_applies ? bursts_.For(tier.name, req.integration_id, now) : nullptr;
  bool burst_exceeded = false;
  bool burst_taken = false;
  if (burst_applies && blocking == v1::REASON_UNSPECIFIED) {
    if (charge) {
      burst_taken = burst->TryAdd(now, burst_limit, cost);
      burst_exceeded = !burst_taken;
    } else {
      burst_exceeded = burst->Count(now) + cost > burst_limit;
    }
    if (burst_exceeded) blocking = v1::REASON_BURST_LIMIT;
  }
  const v1::Reason deny = blocking != v1::REASON_UNSPECIFIED ? blocking : shadowed;
  const bool would_deny = deny != v1::REASON_UNSPECIFIED;
  const bool allowed = blocking == v1::REASON_UNSPECIFIED || !EnforcedFor(tier, plan.client);
  const bool charged = charge && allowed;
  if (charged && burst_applies && !burst_taken) {
    burst->Add(now, cost);  // shadow-mode admissions still load the servers
    burst_taken = true;
  }

  // Where each counter's charge lands: its unit's current bucket.
  absl::InlinedVector<uint32_t, kInlineLimits> charge_bucket;
  if (charged) {
    for (size_t c = 0; c < plan.counters.size(); ++c) {
      const int64_t amount = plan.counters[c].amount;
      const uint32_t hour = BucketOf(plan.counters[c].unit, now);
      charge_bucket.push_back(hour);
      auto it = std::find_if(buckets[c].begin(), buckets[c].end(),
                             [&](const HourCount& b) { return b.hour == hour; });
      if (it != buckets[c].end()) {
        it->count += amount;
      } else {
        buckets[c].push_back({hour, amount});
      }
      // Reserve the charge in the cache; the committer makes it durable.
      cache_.Add(plan.counters[c].id, hour, amount);
    }
    cache_.BeginWrite(shard_ids);
  }
  // The decision is made and reserved: the answer is built from the local
  // bucket copies, outside the counters' locks (a hot client's shard is
  // contended by every gRPC thread).
  locks.reset();

  absl::InlinedVector<LimitOutcome, kInlineLimits> outcomes;
  for (size_t i = 0; i < limits.size(); ++i) {
    const PlannedLimit& l = limits[i];
    outcomes.push_back({l.name, l.limit, l.window, &buckets[l.counter], exceeded[i],
                        plan.counters[l.counter].amount, !l.enforce});
  }
  DecisionFacts answer;
  answer.now = now;
  answer.cost = cost;
  answer.allowed = allowed;
  answer.would_deny = would_deny;
  answer.deny = deny;
  answer.tier = &tier;
  answer.policy = policy.get();
  answer.node_id = options_.node_id;
  answer.region = options_.region;
  answer.limits = outcomes;
  if (burst_applies) {
    BurstOutcome b;
    b.limit = burst_limit;
    b.used = burst->Count(now);
    b.exceeded = burst_exceeded;
    if (b.used > 0) {
      // When the oldest admission leaves the minute and frees one slot.
      b.frees_one =
          burst->WhenFits(now, burst_limit, burst_limit - std::min(b.used, burst_limit) + 1);
    }
    if (burst_exceeded && !allowed) b.fits_cost = burst->WhenFits(now, burst_limit, cost);
    answer.burst = b;
  }
  v1::AcquireResponse resp = BuildResponse(answer, ThreadLocalGen());

  // 3. What must be made durable (by the committer, outside the locks). A
  //    denial charges nothing, so nothing about it is written: a replay of
  //    its request_id is simply decided again (idempotency exists to stop
  //    double charges), and a client hammering past its limit costs no disk
  //    writes at all. Its request_id reservation ends when Decide returns.
  Decision decision;
  if (charge) decision.note = std::move(note);
  if (charged) {
    auto commit = std::make_unique<PendingCommit>();
    for (size_t c = 0; c < plan.counters.size(); ++c) {
      commit->deltas.push_back({plan.counters[c].id, charge_bucket[c], CountKind::kCharged,
                                static_cast<uint64_t>(plan.counters[c].amount)});
    }
    const uint32_t day = BucketOf(BucketUnit::kDay, now);
    for (const CounterId& meter : MetersFor(tier.name, req.integration_id)) {
      commit->meters.push_back({meter, day, CountKind::kCharged, static_cast<uint64_t>(cost)});
    }
    commit->shard_ids = shard_ids;
    if (idem_key) {
      // Meters too: a Refund gives them back with the rest.
      const v1::IdempotencyRecord record =
          AdmissionRecord(cost, plan.client, {commit->deltas, commit->meters});
      commit->put = IdempotencyPut{*idem_key, now + options_.idempotency_ttl,
                                   SerializeRecordWithResponse(record, resp)};
    }
    commit->inflight = std::move(inflight);
    if (burst_taken) commit->burst = burst;
    commit->now = now;
    commit->cost = cost;
    decision.commit = std::move(commit);
  }
  QUOTAD_LOG(DEBUG) << (charge ? "acquire" : "check") << " ip=" << req.ip.ToString()
                    << " tier=" << tier.name << " via " << TierSourceName(cls.source)
                    << " allowed=" << allowed << " reason=" << v1::Reason_Name(resp.reason());
  decision.response = std::move(resp);
  return decision;
}

absl::Status AdmissionController::FinishCommit(PendingCommit& commit, const absl::Status& written) {
  {
    CounterCache::Locks relock(&cache_, commit.shard_ids);
    cache_.EndWrite(commit.shard_ids);
    if (!written.ok()) {
      for (const CounterDelta& d : commit.deltas) {
        cache_.Add(d.id, d.hour, -static_cast<int64_t>(d.amount));
      }
    }
  }
  commit.inflight.reset();  // replays may proceed: the record is durable (or absent)
  if (!written.ok()) {
    if (commit.burst != nullptr) commit.burst->Remove(commit.now, commit.cost);
    // Dropped on purpose (overload, a call given up): not a storage fault.
    if (absl::IsDeadlineExceeded(written) || absl::IsCancelled(written) ||
        absl::IsResourceExhausted(written)) {
      return written;
    }
    // A storage fault is logged once, by the store (StorageRecovery); one
    // line per refused call would flood the log for as long as it lasts.
    QUOTAD_LOG(DEBUG) << "commit failed: " << written;
    return AsUnavailable(written);
  }
  for (absl::Span<const CounterDelta> list :
       {absl::MakeConstSpan(commit.deltas), absl::MakeConstSpan(commit.meters)}) {
    for (const CounterDelta& d : list) {
      NotifyUsage(d.id, d.hour, static_cast<int64_t>(d.amount));
      if (listener_ != nullptr) {
        listener_->OnLocalSlotAdded(SlotKey{d.id, d.hour, store_->origin(), d.kind}, d.amount);
      }
    }
  }
  if (listener_ != nullptr) {
    if (commit.put) {
      listener_->OnAdmissionRecorded(commit.put->key, commit.put->expires, commit.put->record);
    }
  }
  return absl::OkStatus();
}

void AdmissionController::AcquireAsync(const v1::AcquireRequest& request, AcquireCallback done,
                                       CallState call) {
  if (clock_->Now() >= call.deadline) {
    return done(absl::DeadlineExceededError("deadline passed before the decision; nothing charged"));
  }
  absl::StatusOr<Decision> decision = Decide(request, /*charge=*/true);
  if (!decision.ok()) return done(decision.status());
  if (decision->note) {
    for (UsageObserver* o : observers_) o->OnDecision(*decision->note);
  }
  // Denials and replays write nothing and are answered at once.
  if (decision->commit == nullptr) return done(std::move(decision->response));
  GroupCommitter::Job job;
  job.deltas.assign(decision->commit->deltas.begin(), decision->commit->deltas.end());
  job.deltas.insert(job.deltas.end(), decision->commit->meters.begin(),
                    decision->commit->meters.end());
  // Peers learn the admission once it is durable (FinishCommit).
  job.put = listener_ != nullptr ? decision->commit->put : std::move(decision->commit->put);
  job.deadline = call.deadline;
  job.cancelled = std::move(call.cancelled);
  job.finish = [this, commit = std::move(decision->commit),
                response = std::move(decision->response),
                done = std::move(done)](const absl::Status& written) mutable {
    absl::Status finished = FinishCommit(*commit, written);
    commit.reset();  // releases the request_id reservation
    if (finished.ok()) {
      done(std::move(response));
    } else {
      done(finished);
    }
  };
  committer_.Submit(std::move(job));
}

void AdmissionController::WaitForIdle() { committer_.WaitForIdle(); }

absl::StatusOr<RemoteMergeResult> AdmissionController::MergeRemoteSlots(
    absl::Span<const SlotValue> slots) {
  absl::StatusOr<RemoteMergeResult> result = merger_.Merge(slots);
  if (result.ok()) {
    for (const SlotChange& c : result->applied) NotifyUsage(c.key.id, c.key.hour, c.NetDelta());
  }
  return result;
}

}  // namespace quotad
