// Limits as rows: the compiled form of Policy.limits and of the tiers'
// shorthand fields (daily_limit, group_daily_limit, integration_daily_limit).
//
// A row says what it counts (a set of identity parts, v1::Part), which
// requests (tiers, a service pattern), over which window, how many, in which
// unit, and whether it is enforced. What a row counts is its CountSpec
// (parts + service pattern + cost unit): rows with equal specs read and
// charge the same counter per identity, whatever their tiers, windows and
// limits. Storage never sees rows or parts: a counter is a keyed hash of the
// spec's canonical text and the parts' values (quotad/admission/limit_plan.h),
// so adding a row or a part changes no key layout, digest or metric.
//
// Pure: no I/O. Compiled once per policy load; immutable after.
#ifndef QUOTAD_POLICY_LIMIT_ROWS_H_
#define QUOTAD_POLICY_LIMIT_ROWS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "quotad/common/time_buckets.h"
#include "quotad/policy/policy_errors.h"
#include "quotad/v1/policy.pb.h"
#include "quotad/v1/quota.pb.h"

namespace quotad {

// What one counter counts.
struct CountSpec {
  uint32_t parts = 0;        // bit (1 << v1::Part) per counted part
  std::string service;       // "" = every service; "x/*" = prefix "x/"; else exact; "!..." = not
  bool per_request = false;  // COST_REQUESTS: 1 per request, else the request's cost
  // The unit of its buckets: the unit of its rows' window (UnitOfWindow).
  BucketUnit unit = BucketUnit::kHour;
  // E.g. "ip+user_agent|data/*|requests" (hour buckets; "|minute" or
  // "|day" appended for the others): hashed into the counter ids, so two
  // specs never share a counter.
  std::string canonical;
  // The spec of the client key (identity.client_key, every service, units,
  // hour buckets):
  // its counters live in KeySpace::kClient under the client's own hash.
  bool is_client_key = false;

  bool Has(v1::Part part) const { return (parts >> part) & 1u; }
  bool MatchesService(absl::string_view service) const;
};

// One limit row, resolved for one tier.
struct LimitRow {
  std::string name;
  const CountSpec* spec = nullptr;  // owned by the CompiledLimits
  v1::Window window = v1::ROLLING_24H;
  int64_t limit = 0;
  v1::Reason reason = v1::REASON_DAILY_LIMIT;
  // false: this row is in shadow mode whatever the tier (Limit.enforce).
  bool enforce = true;
  // Counts the client's address (PART_IP, at most with PART_USER_AGENT, on
  // every service, in hour buckets): an override's daily_limit replaces
  // this row's limit.
  bool counts_client_address = false;
  // Counts the integration alone on every service, in hour buckets:
  // integration_caps replace this row's limit.
  bool integration_pool = false;
};

struct CompiledLimits {
  std::vector<std::unique_ptr<CountSpec>> specs;
  // Per tier (the policy's tiers, in order): the rows that apply, shorthand
  // rows first, then Policy.limits in file order.
  std::vector<std::vector<LimitRow>> rows_by_tier;
  // Per tier: the "integration_daily" row an integration_caps entry adds to
  // a tier with no integration_pool row of its own (limit set per request).
  std::vector<std::optional<LimitRow>> cap_row_by_tier;
};

// Validates the policy's rows against its tiers (already validated) and
// resolves them per tier. A CALENDAR_MONTH_UTC row may count only
// PART_INTEGRATION and PART_SERVICE: no history of an address or address
// group is kept longer than a day. `client_key_parts` is the client key's part bits.
// Errors: InvalidArgument naming the line and field (`err`).
absl::StatusOr<CompiledLimits> CompileLimits(const v1::Policy& policy, const ErrorReporter& err,
                                             uint32_t client_key_parts);

// The reason a denial by a row of `spec` reports: a service-scoped spec
// REASON_SERVICE_QUOTA, one counting the integration
// REASON_INTEGRATION_LIMIT, the address group alone REASON_GROUP_LIMIT,
// anything else REASON_DAILY_LIMIT.
v1::Reason ReasonFor(const CountSpec& spec);

}  // namespace quotad

#endif  // QUOTAD_POLICY_LIMIT_ROWS_H_
