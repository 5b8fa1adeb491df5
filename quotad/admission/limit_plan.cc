#include "quotad/admission/limit_plan.h"

#include <string>

namespace quotad {
namespace {

absl::string_view AddressBytes(const IpAddress& ip) {
  return absl::string_view(reinterpret_cast<const char*>(ip.bytes().data()),
                           static_cast<size_t>(ip.byte_length()));
}

// The one place a counted part's value comes from (adding a part: its
// v1::Part value in policy.proto and a case here). `scratch` holds derived
// bytes. nullopt: the request does not carry the part, so rows counting it
// do not apply.
std::optional<absl::string_view> PartValue(v1::Part part, const ValidatedRequest& req,
                                           const CompiledPolicy& policy, const IpAddress& client_ip,
                                           std::string& scratch) {
  switch (part) {
    case v1::PART_IP:
      return AddressBytes(client_ip);
    case v1::PART_USER_AGENT:
      return req.user_agent;
    case v1::PART_ADDRESS_GROUP: {
      const int prefix = req.ip.is_v4() ? policy.ipv4_group_prefix() : policy.ipv6_group_prefix();
      scratch = std::string(AddressBytes(req.ip.Masked(prefix)));
      scratch.push_back(static_cast<char>(prefix));
      return scratch;
    }
    case v1::PART_INTEGRATION:
      if (req.integration_id.empty()) return std::nullopt;
      return req.integration_id;
    case v1::PART_SERVICE:
      return req.service;
    default:
      return std::nullopt;
  }
}

// The counter of `spec` for this request, under `hasher`; nullopt when the
// request lacks a counted part.
std::optional<CounterId> CounterFor(const CountSpec& spec, const ValidatedRequest& req,
                                    const CompiledPolicy& policy, const IpAddress& client_ip,
                                    const IdentityHasher& hasher) {
  std::string scratch[v1::Part_ARRAYSIZE];
  absl::InlinedVector<absl::string_view, 4> input = {spec.canonical};
  for (int p = v1::Part_MIN; p <= v1::Part_MAX; ++p) {
    if (!spec.Has(static_cast<v1::Part>(p))) continue;
    std::optional<absl::string_view> value =
        PartValue(static_cast<v1::Part>(p), req, policy, client_ip, scratch[p]);
    if (!value) return std::nullopt;
    input.push_back(*value);
  }
  return CounterId{KeySpace::kCount, hasher.Hash(IdentityDomain::kCount, input)};
}

IdentityHash ClientHash(const CompiledPolicy& policy, const ValidatedRequest& req,
                        const IpAddress& client_ip, const IdentityHasher& hasher) {
  return policy.client_key_includes_user_agent()
             ? hasher.HashIpAndUserAgent(client_ip, req.user_agent)
             : hasher.HashIp(client_ip);
}

}  // namespace

LimitPlan PlanLimits(const CompiledPolicy& policy, const Classification& cls,
                     const ValidatedRequest& req, const IdentityHasher& hasher,
                     const IdentityHasher* previous) {
  const TierConfig& tier = *cls.tier;
  const IpAddress client_ip = req.ip.is_v4() ? req.ip : req.ip.Masked(policy.ipv6_client_prefix());
  LimitPlan plan;
  plan.client = CounterId{KeySpace::kClient, ClientHash(policy, req, client_ip, hasher)};
  if (previous != nullptr) {
    plan.legacy_client =
        CounterId{KeySpace::kClient, ClientHash(policy, req, client_ip, *previous)};
  }
  if (tier.banned) {
    plan.counters.push_back({plan.client, plan.legacy_client, req.cost});
    plan.limits.push_back({"client_daily", v1::REASON_BANNED, 0, 0, v1::ROLLING_24H, true, true});
    return plan;
  }
  const std::optional<int64_t> cap = policy.IntegrationCap(req.integration_id);
  absl::InlinedVector<const CountSpec*, kInlineLimits> specs;  // parallel to plan.counters
  auto add = [&](const LimitRow& row) {
    const CountSpec& spec = *row.spec;
    if (!spec.MatchesService(req.service)) return;
    size_t index = 0;
    while (index < specs.size() && specs[index] != &spec) ++index;
    if (index == specs.size()) {
      PlannedCounter counter;
      counter.amount = spec.per_request ? 1 : req.cost;
      counter.unit = spec.unit;
      if (spec.is_client_key) {
        counter.id = plan.client;
        counter.legacy_id = plan.legacy_client;
      } else {
        std::optional<CounterId> id = CounterFor(spec, req, policy, client_ip, hasher);
        if (!id) return;
        counter.id = *id;
        if (previous != nullptr)
          counter.legacy_id = CounterFor(spec, req, policy, client_ip, *previous);
      }
      specs.push_back(&spec);
      plan.counters.push_back(std::move(counter));
    }
    int64_t limit = row.limit;
    if (row.counts_client_address && cls.custom_daily_limit > 0) limit = cls.custom_daily_limit;
    if (row.integration_pool && cap) limit = *cap;
    plan.limits.push_back({row.name.c_str(), row.reason, index, limit, row.window, row.enforce,
                           row.counts_client_address, row.integration_pool});
  };
  for (const LimitRow& row : tier.rows) add(row);
  if (cap && tier.integration_cap_row) add(*tier.integration_cap_row);
  return plan;
}

bool EnforcedFor(const TierConfig& tier, const CounterId& client) {
  if (!tier.enforce) return false;
  if (tier.enforce_percent >= 100) return true;
  const uint64_t bucket = ReadBigEndian64(reinterpret_cast<const char*>(client.hash.data()));
  return static_cast<int>(bucket % 100) < tier.enforce_percent;
}

}  // namespace quotad
