// Which limits apply to a classified request, and which counters they read:
// the client (IP+User-Agent, or IP alone by policy; an IPv6 address masked
// to the policy's ipv6_client_prefix, /64 by default), the address group when
// the tier caps it, and the integration (by integration_id only) when a cap
// applies. Every identity is
// hashed with the current key and, during a key rotation, with the previous
// key too (read-only: counted, never charged). Pure: no locks, no I/O.
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

struct PlannedLimit {
  const char* name = "";
  v1::Reason reason = v1::REASON_UNSPECIFIED;
  CounterId id;
  std::optional<CounterId> legacy_id;  // same identity under the previous key
  int64_t limit = 0;
  v1::Window window = v1::ROLLING_24H;
};

// `previous` may be null (no key rotation in progress). The first limit is
// always the client's own ("client_daily").
absl::InlinedVector<PlannedLimit, 3> PlanLimits(const CompiledPolicy& policy,
                                                const Classification& cls,
                                                const ValidatedRequest& req,
                                                const IdentityHasher& hasher,
                                                const IdentityHasher* previous);

// Staged rollout: whether `tier`'s limits refuse the client whose own
// counter is `client` (PlanLimits' first limit): the tier is enforced and
// the client's keyed hash falls in the first `enforce_percent` of 100
// buckets. Stable for a client on every node sharing the identity key.
bool EnforcedFor(const TierConfig& tier, const CounterId& client);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_LIMIT_PLAN_H_
