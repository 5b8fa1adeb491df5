#include "quotad/admission/limit_plan.h"

#include <functional>

namespace quotad {

absl::InlinedVector<PlannedLimit, 3> PlanLimits(const CompiledPolicy& policy,
                                                const Classification& cls,
                                                const ValidatedRequest& req,
                                                const IdentityHasher& hasher,
                                                const IdentityHasher* previous) {
  const TierConfig& tier = *cls.tier;
  absl::InlinedVector<PlannedLimit, 3> limits;
  auto add = [&](const char* name, v1::Reason reason, Dimension dim,
                 const std::function<IdentityHash(const IdentityHasher&)>& hash, int64_t limit) {
    PlannedLimit& l = limits.emplace_back();
    l.name = name;
    l.reason = reason;
    l.id = CounterId{dim, hash(hasher)};
    if (previous != nullptr) l.legacy_id = CounterId{dim, hash(*previous)};
    l.limit = limit;
    l.window = tier.window;
  };
  const bool with_ua = policy.client_key_includes_user_agent();
  const IpAddress client_ip =
      req.ip.is_v4() ? req.ip : req.ip.Masked(policy.ipv6_client_prefix());
  add("client_daily", tier.banned ? v1::REASON_BANNED : v1::REASON_DAILY_LIMIT,
      Dimension::kClient,
      [&](const IdentityHasher& h) {
        return with_ua ? h.HashIpAndUserAgent(client_ip, req.user_agent) : h.HashIp(client_ip);
      },
      tier.banned                  ? 0
      : cls.custom_daily_limit > 0 ? cls.custom_daily_limit
                                   : tier.daily_limit);
  if (tier.group_daily_limit > 0) {
    const int prefix = req.ip.is_v4() ? policy.ipv4_group_prefix() : policy.ipv6_group_prefix();
    add("group_daily", v1::REASON_GROUP_LIMIT, Dimension::kGroup,
        [&](const IdentityHasher& h) { return h.HashAddressGroup(req.ip, prefix); },
        tier.group_daily_limit);
  }
  if (auto cap = policy.IntegrationCap(tier, req.integration_id)) {
    add("integration_daily", v1::REASON_INTEGRATION_LIMIT, Dimension::kIntegration,
        [&](const IdentityHasher& h) {
          return h.Hash(IdentityDomain::kIntegrationId, {req.integration_id});
        },
        cap->daily_limit);
  }
  return limits;
}

bool EnforcedFor(const TierConfig& tier, const CounterId& client) {
  if (!tier.enforce) return false;
  if (tier.enforce_percent >= 100) return true;
  const uint64_t bucket = ReadBigEndian64(reinterpret_cast<const char*>(client.hash.data()));
  return static_cast<int>(bucket % 100) < tier.enforce_percent;
}

}  // namespace quotad
