#include "quotad/admission/decision_response.h"

#include <algorithm>

#include "quotad/admission/next_request.h"
#include "quotad/policy/window.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

void AddLimitStatus(const LimitOutcome& l, absl::Time now, v1::AcquireResponse* resp) {
  v1::LimitStatus* s = resp->add_limits();
  const int64_t used = UsedInWindow(*l.buckets, l.window, now);
  s->set_name(l.name);
  s->set_limit(l.limit);
  s->set_used(used);
  s->set_remaining(std::max<int64_t>(0, l.limit - used));
  s->set_exceeded(l.exceeded);
  s->set_window(l.window);
  if (auto release = NextRelease(*l.buckets, l.window, now)) {
    rpc::SetTimestamp(*release, s->mutable_reset_time());
  }
}

void AddBurstStatus(const BurstOutcome& b, v1::AcquireResponse* resp) {
  v1::LimitStatus* s = resp->add_limits();
  s->set_name("automated_burst");
  s->set_limit(b.limit);
  s->set_used(b.used);
  s->set_remaining(std::max<int64_t>(0, b.limit - b.used));
  s->set_exceeded(b.exceeded);
  if (b.used > 0 && b.frees_one) rpc::SetTimestamp(*b.frees_one, s->mutable_reset_time());
}

}  // namespace

absl::Duration CapacitySpread(const CompiledPolicy& policy, const TierConfig& tier) {
  return tier.automated ? std::max(policy.denial_jitter(), policy.automated_min_interval())
                        : policy.denial_jitter();
}

v1::AcquireResponse BuildResponse(const DecisionFacts& f, absl::BitGenRef gen) {
  v1::AcquireResponse resp;
  resp.set_allowed(f.allowed);
  resp.set_reason(f.would_deny ? f.deny : v1::REASON_ALLOWED);
  resp.set_shadow_denied(f.would_deny && f.allowed);
  resp.set_tier(f.tier->name);
  resp.set_node_id(f.node_id);
  resp.set_region(f.region);
  for (const LimitOutcome& l : f.limits) AddLimitStatus(l, f.now, &resp);
  if (f.burst) AddBurstStatus(*f.burst, &resp);

  absl::Time capacity = f.now;
  bool never = false;
  for (const LimitOutcome& l : f.limits) {
    if (l.shadow || (!f.allowed && !l.exceeded)) continue;
    auto t = WhenFits(*l.buckets, l.window, f.now, l.limit, l.amount);
    if (!t) {
      never = true;
    } else {
      capacity = std::max(capacity, *t);
    }
  }
  if (f.burst && f.burst->exceeded && !f.allowed && f.burst->fits_cost) {
    capacity = std::max(capacity, *f.burst->fits_cost);
  }
  if (never) return resp;
  const CompiledPolicy& policy = *f.policy;
  const absl::Duration spread = CapacitySpread(policy, *f.tier);
  absl::Time next;
  if (!f.allowed) {
    next = NextRequestAfterDenial(
        capacity, f.deny == v1::REASON_BURST_LIMIT ? policy.burst_jitter() : spread, gen);
    rpc::SetDuration(next - f.now, resp.mutable_retry_after());
  } else if (f.tier->automated) {
    next = NextRequestForAutomated(f.now, capacity, spread,
                                   {policy.automated_mean_interval(),
                                    policy.automated_min_interval(),
                                    policy.automated_max_interval()},
                                   gen);
  } else {
    next = SpreadAfterCapacity(f.now, capacity, spread, gen);
  }
  rpc::SetTimestamp(next, resp.mutable_next_request());
  return resp;
}

}  // namespace quotad
