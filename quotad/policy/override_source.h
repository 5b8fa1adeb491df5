// The seam for operator overrides (tiers and bans set at run time through the
// admin API). The policy file's static overrides are checked after these.
#ifndef QUOTAD_POLICY_OVERRIDE_SOURCE_H_
#define QUOTAD_POLICY_OVERRIDE_SOURCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "quotad/identity/ip_address.h"

namespace quotad {

// The raw facts of one request that classification may look at. Lives only
// for the duration of one call; never stored.
struct ClientFacts {
  IpAddress ip;
  absl::string_view user_agent;
  absl::string_view client_name;
  absl::string_view integration_id;
};

// What an operator override assigns to a client.
struct OverrideDecision {
  std::string id;           // e.g. "cidr/203.0.113.0/24"
  std::string tier;         // a tier name of the policy
  int64_t daily_limit = 0;  // custom per-client limit; 0 = the tier's
};

// A source of dynamic overrides. Implementations must be thread-safe and
// fast (called on every request).
class OverrideSource {
 public:
  virtual ~OverrideSource() = default;
  // The override that applies to this client at `now`, if any: a ban (an
  // override to a tier for which `is_ban` is true) wins over any other;
  // among bans, and among the rest, the most specific one (ip, then longest
  // cidr, integration id, client name, User-Agent pattern).
  virtual std::optional<OverrideDecision> Find(
      const ClientFacts& facts, absl::Time now,
      absl::FunctionRef<bool(absl::string_view tier)> is_ban) const = 0;
};

}  // namespace quotad

#endif  // QUOTAD_POLICY_OVERRIDE_SOURCE_H_
