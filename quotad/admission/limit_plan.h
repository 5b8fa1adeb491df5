// Which limit rows apply to a classified request, and which counters they
// read and charge. Pure: no locks, no I/O.
//
// The rows are the tier's (quotad/policy/limit_rows.h), kept when the
// request's service matches the row's pattern and the request carries every
// part the row counts (a row counting PART_INTEGRATION needs an
// integration_id). A banned tier gets one row, "client_daily", limit 0,
// REASON_BANNED. An admin override's daily_limit replaces the limit of the
// rows that count the client's address; an integration_caps entry replaces
// the pool row's (or adds one). Each distinct count spec is one counter: in
// KeySpace::kCount the keyed hash of the spec's canonical text and the
// parts' values (PartValue), except the client key's spec, which is the
// client's own counter (KeySpace::kClient). During a key rotation every
// counter is also hashed with the previous key (read, never charged).
#ifndef QUOTAD_ADMISSION_LIMIT_PLAN_H_
#define QUOTAD_ADMISSION_LIMIT_PLAN_H_

#include <optional>

#include "absl/container/inlined_vector.h"
#include "quotad/admission/request_validation.h"
#include "quotad/identity/identity_hasher.h"
#include "quotad/policy/policy.h"
#include "quotad/storage/keys.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

// One counter the request reads and, when admitted, charges.
struct PlannedCounter {
  CounterId id;
  std::optional<CounterId> legacy_id;  // same identity under the previous key
  int64_t amount = 0;                  // what this request adds: its cost, or 1 (COST_REQUESTS)
  BucketUnit unit = BucketUnit::kHour;  // of its buckets (CountSpec::unit)
};

// One row evaluated for the request.
struct PlannedLimit {
  const char* name = "";  // owned by the policy
  v1::Reason reason = v1::REASON_UNSPECIFIED;
  size_t counter = 0;  // index into LimitPlan::counters
  int64_t limit = 0;
  v1::Window window = v1::ROLLING_24H;
  bool enforce = true;          // the row's own switch (false: shadow)
  bool client_address = false;  // counts the client's address (LimitRow::counts_client_address)
  bool integration_pool = false;  // the integration's pool (LimitRow::integration_pool)
};

inline constexpr size_t kInlineLimits = 4;

struct LimitPlan {
  absl::InlinedVector<PlannedCounter, kInlineLimits> counters;
  absl::InlinedVector<PlannedLimit, kInlineLimits> limits;
  // The client key (identity.client_key), whether or not a row counts it:
  // what a request_id is bound to and what the staged rollout samples.
  CounterId client;
  std::optional<CounterId> legacy_client;
};

// `previous` may be null (no key rotation in progress).
LimitPlan PlanLimits(const CompiledPolicy& policy, const Classification& cls,
                     const ValidatedRequest& req, const IdentityHasher& hasher,
                     const IdentityHasher* previous);

// Staged rollout: whether `tier`'s limits refuse the client whose key is
// `client` (LimitPlan::client): the tier is enforced and the client's keyed
// hash falls in the first `enforce_percent` of 100 buckets. Stable for a
// client on every node sharing the identity key.
bool EnforcedFor(const TierConfig& tier, const CounterId& client);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_LIMIT_PLAN_H_
