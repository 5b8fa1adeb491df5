// CompiledPolicy's run-time half: which tier a request falls in, and which
// integration cap applies (the compile-time half is policy.cc).
#include "absl/strings/string_view.h"
#include "quotad/common/logging.h"
#include "quotad/policy/policy.h"

namespace quotad {

absl::string_view TierSourceName(TierSource source) {
  switch (source) {
    case TierSource::kAdminOverride: return "admin_override";
    case TierSource::kPolicyOverride: return "policy_override";
    case TierSource::kIntegrationClaim: return "integration_claim";
    case TierSource::kRule: return "rule";
    case TierSource::kDefault: return "default";
  }
  return "unknown";
}

namespace {

bool UserAgentMatches(absl::string_view user_agent, const RE2& regex) {
  return RE2::PartialMatch(re2::StringPiece(user_agent.data(), user_agent.size()), regex);
}

}  // namespace

bool CompiledPolicy::CompiledOverride::Matches(const ClientFacts& facts) const {
  switch (kind) {
    case v1::StaticOverride::kIp:
    case v1::StaticOverride::kCidr:
      return cidr.Contains(facts.ip);
    case v1::StaticOverride::kClientName:
      return facts.client_name == text;
    case v1::StaticOverride::kIntegrationId:
      return !facts.integration_id.empty() && facts.integration_id == text;
    case v1::StaticOverride::kUserAgentRegex:
      return UserAgentMatches(facts.user_agent, *regex);
    case v1::StaticOverride::MATCH_NOT_SET:
      break;
  }
  return false;
}

bool CompiledPolicy::CompiledRule::Matches(const ClientFacts& facts) const {
  return regex ? UserAgentMatches(facts.user_agent, *regex) : facts.client_name == client_name;
}

Classification CompiledPolicy::Classify(const ClientFacts& facts, const TierConfig* claimed,
                                        const OverrideSource* overrides, absl::Time now) const {
  // `first`: the first match in precedence order. Once it is set only a ban
  // can change the answer, so later sources are searched only if they ban.
  std::optional<Classification> first;
  if (overrides != nullptr) {
    auto is_ban = [this](absl::string_view tier) {
      const TierConfig* t = FindTier(tier);
      return t != nullptr && t->banned;
    };
    if (auto o = overrides->Find(facts, now, is_ban)) {
      if (const TierConfig* tier = FindTier(o->tier)) {
        first = Classification{tier, TierSource::kAdminOverride, o->id, o->daily_limit, {}};
        if (tier->banned) return *std::move(first);
      } else {
        QUOTAD_LOG(DEBUG) << "override " << o->id << " names unknown tier '" << o->tier
                          << "'; ignored";
      }
    }
  }
  if (!first.has_value() || has_ban_overrides_) {
    for (const CompiledOverride& o : overrides_) {
      if ((first.has_value() && !o.tier->banned) || !o.Matches(facts)) continue;
      Classification c{o.tier, TierSource::kPolicyOverride, {}, 0, o.description};
      if (o.tier->banned) return c;
      first = std::move(c);
      if (!has_ban_overrides_) break;
    }
  }
  if (!first.has_value() && claimed != nullptr) {
    first = Classification{claimed, TierSource::kIntegrationClaim, {}, 0, {}};
  }
  if (!first.has_value() || has_ban_rules_) {
    for (const CompiledRule& r : rules_) {
      if ((first.has_value() && !r.tier->banned) || !r.Matches(facts)) continue;
      Classification c{r.tier, TierSource::kRule, {}, 0, r.description};
      if (r.tier->banned) return c;
      first = std::move(c);
      if (!has_ban_rules_) break;
    }
  }
  if (first.has_value()) return *std::move(first);
  return {default_tier_, TierSource::kDefault, {}, 0, {}};
}

std::optional<int64_t> CompiledPolicy::IntegrationCap(absl::string_view integration_id) const {
  if (integration_id.empty()) return std::nullopt;
  auto it = caps_by_integration_id_.find(integration_id);
  if (it == caps_by_integration_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace quotad
