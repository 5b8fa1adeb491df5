// The compiled, validated AUP policy and client classification.
//
// A CompiledPolicy is immutable once built and shared between threads through
// std::shared_ptr<const CompiledPolicy>; reloading builds a new one and swaps
// the pointer (PolicyHolder), so a request always sees one consistent policy.
#ifndef QUOTAD_POLICY_POLICY_H_
#define QUOTAD_POLICY_POLICY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "quotad/common/time_buckets.h"
#include "quotad/identity/ip_address.h"
#include "quotad/policy/limit_rows.h"
#include "quotad/policy/override_source.h"
#include "quotad/v1/policy.pb.h"
#include "re2/re2.h"

namespace quotad {

// One tier with every default resolved.
struct TierConfig {
  std::string name;
  // The limit rows that apply to the tier (empty for banned tiers), and the
  // row an integration_caps entry adds when none of them is the
  // integration's pool (limit_rows.h).
  std::vector<LimitRow> rows;
  std::optional<LimitRow> integration_cap_row;
  bool enforce = true;
  int enforce_percent = 100;  // staged rollout: share of clients enforced
  int64_t burst_per_minute = 0;  // automated tiers: per budget (0 = none)
  bool automated = false;
  bool banned = false;
  bool claimable = false;
};

// How a client's tier was chosen, in precedence order.
enum class TierSource { kAdminOverride, kPolicyOverride, kIntegrationClaim, kRule, kDefault };
absl::string_view TierSourceName(TierSource source);

struct Classification {
  const TierConfig* tier = nullptr;  // never null; owned by the policy
  TierSource source = TierSource::kDefault;
  std::string override_id;           // set for admin overrides
  int64_t custom_daily_limit = 0;    // an admin override's limit; 0 = tier's
  // The policy entry that decided, e.g. `rules[2] (user_agent_regex: "^x/")`
  // (policy overrides and rules; empty otherwise). Owned by the policy.
  absl::string_view rule;
};

class CompiledPolicy {
 public:
  // Parses and validates textproto. `source_name` prefixes error messages,
  // which name the line and the field: "aup.textproto:12: tiers[1].daily_limit: ...".
  // Errors: InvalidArgument.
  static absl::StatusOr<std::shared_ptr<const CompiledPolicy>> FromText(
      absl::string_view text, absl::string_view source_name);
  // Reads `path` then FromText. Errors: NotFound/InvalidArgument.
  static absl::StatusOr<std::shared_ptr<const CompiledPolicy>> FromFile(const std::string& path);

  // Tier by exact name, or null.
  const TierConfig* FindTier(absl::string_view name) const;
  // A claimable tier by name or claim alias, or null.
  const TierConfig* FindClaimableTier(absl::string_view name_or_alias) const;

  // A ban wins over everything: the first banned-tier match among admin
  // overrides (from `overrides`, may be null), policy-file overrides and
  // rules, in that order. Otherwise the first match wins: admin override ->
  // policy-file override -> integration claim (`claimed`, may be null) ->
  // rules -> default tier. An override naming a tier this policy lacks is
  // ignored (logged at debug). Defined in classify.cc.
  Classification Classify(const ClientFacts& facts, const TierConfig* claimed,
                          const OverrideSource* overrides, absl::Time now) const;

  // The integration_caps entry for `integration_id`, if any: it replaces
  // the limit of the integration's pool row (LimitRow::integration_pool).
  // Only an integration_id (set by an authenticated caller) names a pool; a
  // self-declared client_name selects a tier but spends no shared pool.
  std::optional<int64_t> IntegrationCap(absl::string_view integration_id) const;
  // The client key's parts (identity.client_key): bits (1 << v1::Part).
  uint32_t client_key_parts() const { return client_key_parts_; }

  const v1::Policy& proto() const { return proto_; }
  // 16 hex digits identifying the policy's content (not its formatting or
  // comments): peers compare them to show a policy that differs.
  const std::string& fingerprint() const { return fingerprint_; }
  static std::string Fingerprint(const v1::Policy& policy);
  bool client_key_includes_user_agent() const { return client_key_includes_ua_; }
  int ipv4_group_prefix() const { return ipv4_group_prefix_; }
  int ipv6_group_prefix() const { return ipv6_group_prefix_; }
  int ipv6_client_prefix() const { return ipv6_client_prefix_; }
  int64_t max_cost() const { return max_cost_; }
  int64_t retention_hours() const { return retention_hours_; }
  int64_t meter_retention_days() const { return meter_retention_days_; }
  // Both, as storage and replication read them.
  Retention retention() const { return {retention_hours_, meter_retention_days_}; }
  absl::Duration denial_jitter() const { return denial_jitter_; }
  absl::Duration burst_jitter() const { return burst_jitter_; }
  absl::Duration automated_mean_interval() const { return automated_mean_; }
  absl::Duration automated_min_interval() const { return automated_min_; }
  absl::Duration automated_max_interval() const { return automated_max_; }
  const std::vector<TierConfig>& tiers() const { return tiers_; }

 private:
  CompiledPolicy() = default;

  struct CompiledOverride {
    v1::StaticOverride::MatchCase kind;
    std::string text;  // ip / client_name / integration_id
    Cidr cidr;         // for ip and cidr
    std::unique_ptr<RE2> regex;
    const TierConfig* tier;
    std::string description;  // Classification::rule
    bool Matches(const ClientFacts& facts) const;
  };
  struct CompiledRule {
    std::string client_name;
    std::unique_ptr<RE2> regex;  // null for client_name rules
    const TierConfig* tier;
    std::string description;  // Classification::rule
    bool Matches(const ClientFacts& facts) const;
  };

  v1::Policy proto_;
  std::string fingerprint_;
  std::vector<TierConfig> tiers_;
  absl::flat_hash_map<std::string, const TierConfig*> by_name_;
  absl::flat_hash_map<std::string, const TierConfig*> claimable_;
  const TierConfig* default_tier_ = nullptr;
  std::vector<CompiledOverride> overrides_;
  std::vector<CompiledRule> rules_;
  // Whether any policy override or rule bans: only then does a match to
  // another tier have to look further for a ban.
  bool has_ban_overrides_ = false;
  bool has_ban_rules_ = false;
  absl::flat_hash_map<std::string, int64_t> caps_by_integration_id_;
  CompiledLimits limits_;  // owns the count specs the tiers' rows point at
  uint32_t client_key_parts_ = 0;
  bool client_key_includes_ua_ = true;
  int ipv4_group_prefix_ = 24;
  int ipv6_group_prefix_ = 48;
  int ipv6_client_prefix_ = 64;
  int64_t max_cost_ = 10;
  int64_t retention_hours_ = 48;
  int64_t meter_retention_days_ = kDefaultDayRetention;
  absl::Duration denial_jitter_;
  absl::Duration burst_jitter_;
  absl::Duration automated_mean_;
  absl::Duration automated_min_;
  absl::Duration automated_max_;
};

// Holds the serving policy and swaps it atomically. Thread-safe.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const CompiledPolicy> initial)
      : current_(std::move(initial)) {}
  std::shared_ptr<const CompiledPolicy> Current() const {
    absl::ReaderMutexLock lock(&mu_);
    return current_;
  }
  void Set(std::shared_ptr<const CompiledPolicy> next) {
    absl::MutexLock lock(&mu_);
    current_ = std::move(next);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const CompiledPolicy> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace quotad

#endif  // QUOTAD_POLICY_POLICY_H_
