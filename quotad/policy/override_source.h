// The seam for operator overrides (tiers and bans set at run time through the
// admin API). The policy file's static overrides are checked after these.
#ifndef QUOTAD_POLICY_OVERRIDE_SOURCE_H_
#define QUOTAD_POLICY_OVERRIDE_SOURCE_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

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

// A source of dynamic overrides. Implementations must be thread-safe and
// fast (called on every request).
class OverrideSource {
 public:
  virtual ~OverrideSource() = default;
  // The tier name an override assigns to this client at `now`, if any.
  virtual std::optional<std::string> TierFor(const ClientFacts& facts, absl::Time now) const = 0;
};

}  // namespace quotad

#endif  // QUOTAD_POLICY_OVERRIDE_SOURCE_H_
