// The answer to an admission decision, built from the snapshot the decision
// was taken on. Pure: no locks, no I/O, no clock (randomness only from the
// generator passed in), so it is tested without a store.
//
// One rule for "come back at": the latest moment at which every limit that
// matters (all of them when allowed, the exceeded ones when denied; never a
// row in its own shadow mode) has room for another request like this one
// (WhenFits with the row's amount). That moment is never
// given as is when it lies ahead (it is an hour boundary many clients
// share): a denial adds a uniform jitter (CapacitySpread; burst_jitter for a
// burst denial) and reports it as retry_after; an admission that used the
// last room gets the same spread (SpreadAfterCapacity), an automated one
// no earlier than its drawn next test time (NextRequestForAutomated). An
// interactive admission with room left gets now. A limit that can never
// fit (limit 0: banned) leaves next_request unset.
#ifndef QUOTAD_ADMISSION_DECISION_RESPONSE_H_
#define QUOTAD_ADMISSION_DECISION_RESPONSE_H_

#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/types/span.h"
#include "quotad/admission/counter_cache.h"
#include "quotad/policy/policy.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

// One evaluated limit row.
struct LimitOutcome {
  const char* name = "";
  int64_t limit = 0;
  v1::Window window = v1::ROLLING_24H;
  const Buckets* buckets = nullptr;  // including this request's charge if charged
  bool exceeded = false;
  int64_t amount = 1;   // what a request like this one adds to the counter
  bool shadow = false;  // the row's own shadow mode: it never delays next_request
};

// The node's automated burst limit, when it applies to the request.
struct BurstOutcome {
  int64_t limit = 0;
  int64_t used = 0;
  bool exceeded = false;
  std::optional<absl::Time> frees_one;  // when the oldest admission leaves the minute
  std::optional<absl::Time> fits_cost;  // when a request of the same cost fits
};

struct DecisionFacts {
  absl::Time now;
  int64_t cost = 1;
  bool allowed = false;
  bool would_deny = false;  // true also for a shadow-mode admission
  v1::Reason deny = v1::REASON_UNSPECIFIED;
  const TierConfig* tier = nullptr;
  const CompiledPolicy* policy = nullptr;
  std::string node_id;
  std::string region;
  absl::Span<const LimitOutcome> limits;
  std::optional<BurstOutcome> burst;
};

// How far past the moment capacity frees a client's next_request is spread:
// the policy's denial_jitter (AUP: 15 min); for automated tiers at least
// automated_min_interval (AUP: 36 min), since fleets fill up together.
absl::Duration CapacitySpread(const CompiledPolicy& policy, const TierConfig& tier);

v1::AcquireResponse BuildResponse(const DecisionFacts& facts, absl::BitGenRef gen);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_DECISION_RESPONSE_H_
