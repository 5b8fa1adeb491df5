// Which limits apply to a classified request, and which counters they read:
// the client (IP+User-Agent, or IP alone by policy), the address group when
// the tier caps it, and the integration when a cap applies. Every identity is
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

// `previous` may be null (no key rotation in progress).
absl::InlinedVector<PlannedLimit, 3> PlanLimits(const CompiledPolicy& policy,
                                                const Classification& cls,
                                                const ValidatedRequest& req,
                                                const IdentityHasher& hasher,
                                                const IdentityHasher* previous);

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_LIMIT_PLAN_H_
