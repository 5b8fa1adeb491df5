#include "quotad/policy/policy.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "quotad/common/logging.h"
#include "quotad/common/textproto_errors.h"
#include "quotad/policy/limit_rows.h"
#include "quotad/policy/policy_errors.h"

namespace quotad {
namespace {

using google::protobuf::TextFormat;

bool IsValidTierName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '-')) return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<RE2>> CompileRegex(absl::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return absl::InvalidArgumentError(absl::StrCat("bad RE2 pattern: ", re->error()));
  return re;
}

// "rules[2] (user_agent_regex: \"^murakami/\")": which entry decided, for
// usage look-ups and logs.
std::string Describe(absl::string_view list, int index, const google::protobuf::Message& entry) {
  std::string text;
  TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(entry, &text);
  return absl::StrCat(list, "[", index, "] (", absl::StripAsciiWhitespace(text), ")");
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::FromFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read policy file ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return FromText(buffer.str(), path);
}

std::string CompiledPolicy::Fingerprint(const v1::Policy& policy) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    policy.SerializeToCodedStream(&coded);
  }
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64: stable across processes and builds
  for (char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", h);
}

absl::StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::FromText(
    absl::string_view text, absl::string_view source_name) {
  std::shared_ptr<CompiledPolicy> p(new CompiledPolicy());
  TextFormat::Parser parser;
  FirstTextprotoError errors;
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &p->proto_)) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", errors.first()));
  }
  const v1::Policy& proto = p->proto_;
  p->fingerprint_ = Fingerprint(proto);
  ErrorReporter err(source_name, &tree);

  // Identity.
  const auto& id = proto.identity();
  p->client_key_includes_ua_ = id.client_key() != v1::IdentityConfig::IP_ONLY;
  p->ipv4_group_prefix_ = id.ipv4_group_prefix() == 0 ? 24 : id.ipv4_group_prefix();
  p->ipv6_group_prefix_ = id.ipv6_group_prefix() == 0 ? 48 : id.ipv6_group_prefix();
  if (p->ipv4_group_prefix_ < 1 || p->ipv4_group_prefix_ > 32) {
    return err.Error({{"identity", -1}, {"ipv4_group_prefix", -1}}, "must be 1..32");
  }
  if (p->ipv6_group_prefix_ < 1 || p->ipv6_group_prefix_ > 128) {
    return err.Error({{"identity", -1}, {"ipv6_group_prefix", -1}}, "must be 1..128");
  }
  p->ipv6_client_prefix_ = id.ipv6_client_prefix() == 0 ? 64 : id.ipv6_client_prefix();
  if (p->ipv6_client_prefix_ < p->ipv6_group_prefix_ || p->ipv6_client_prefix_ > 128) {
    return err.Error({{"identity", -1}, {"ipv6_client_prefix", -1}},
                     absl::StrCat("must be ipv6_group_prefix (", p->ipv6_group_prefix_, ")..128"));
  }

  // Tiers.
  const bool global_enforce = !proto.has_enforce() || proto.enforce();
  if (proto.tiers().empty()) return err.Error({{"tiers", -1}}, "at least one tier is required");
  p->tiers_.reserve(proto.tiers_size());
  for (int i = 0; i < proto.tiers_size(); ++i) {
    const v1::Tier& t = proto.tiers(i);
    if (!IsValidTierName(t.name())) {
      return err.Error({{"tiers", i}, {"name", -1}},
                       absl::StrCat("tier name '", t.name(), "' must be 1-64 chars of [a-z0-9_-]"));
    }
    for (const auto& other : p->tiers_) {
      if (other.name == t.name()) {
        return err.Error({{"tiers", i}, {"name", -1}}, absl::StrCat("duplicate tier '", t.name(), "'"));
      }
    }
    if (!v1::Window_IsValid(t.window())) {
      return err.Error({{"tiers", i}, {"window", -1}}, "unknown window");
    }
    if (t.window() == v1::MINUTE_UTC || t.window() == v1::CALENDAR_MONTH_UTC) {
      return err.Error({{"tiers", i}, {"window", -1}},
                       "a tier's daily limits take ROLLING_24H, CALENDAR_DAY_UTC or HOUR_UTC; "
                       "put a minute or month window on a row in `limits`");
    }
    if (t.daily_limit() < 0) return err.Error({{"tiers", i}, {"daily_limit", -1}}, "must be >= 0");
    if (t.group_daily_limit() < 0) {
      return err.Error({{"tiers", i}, {"group_daily_limit", -1}}, "must be >= 0");
    }
    if (t.integration_daily_limit() < 0) {
      return err.Error({{"tiers", i}, {"integration_daily_limit", -1}}, "must be >= 0");
    }
    if (t.banned() && t.claimable()) {
      return err.Error({{"tiers", i}, {"claimable", -1}}, "a banned tier cannot be claimable");
    }
    if (t.banned() && t.has_enforce() && !t.enforce()) {
      return err.Error({{"tiers", i}, {"enforce", -1}},
                       "a banned tier is always enforced (a ban cannot be in shadow mode)");
    }
    if (t.has_enforce_percent() && (t.enforce_percent() < 0 || t.enforce_percent() > 100)) {
      return err.Error({{"tiers", i}, {"enforce_percent", -1}}, "must be 0..100");
    }
    if (t.banned() && t.has_enforce_percent() && t.enforce_percent() != 100) {
      return err.Error({{"tiers", i}, {"enforce_percent", -1}},
                       "a banned tier is enforced for every client");
    }
    if (!t.claimable() && !t.claim_aliases().empty()) {
      return err.Error({{"tiers", i}, {"claim_aliases", 0}}, "aliases need claimable: true");
    }
    TierConfig cfg;
    cfg.name = t.name();
    // A global `enforce: false` (shadow mode) never lifts a ban.
    cfg.enforce = t.banned() || (t.has_enforce() ? t.enforce() : global_enforce);
    cfg.enforce_percent = t.has_enforce_percent() ? t.enforce_percent() : 100;
    if (t.burst_per_minute() < 0) {
      return err.Error({{"tiers", i}, {"burst_per_minute", -1}}, "must be >= 0");
    }
    cfg.burst_per_minute =
        t.has_burst_per_minute() ? t.burst_per_minute() : proto.automated_burst_per_minute();
    cfg.automated = t.automated();
    cfg.banned = t.banned();
    cfg.claimable = t.claimable();
    p->tiers_.push_back(std::move(cfg));
  }
  for (size_t i = 0; i < p->tiers_.size(); ++i) {
    const TierConfig* tier = &p->tiers_[i];
    p->by_name_[tier->name] = tier;
    if (!tier->claimable) continue;
    p->claimable_[tier->name] = tier;
    const auto& aliases = proto.tiers(static_cast<int>(i)).claim_aliases();
    for (int a = 0; a < aliases.size(); ++a) {
      if (aliases[a].empty() || !p->claimable_.emplace(aliases[a], tier).second) {
        return err.Error({{"tiers", static_cast<int>(i)}, {"claim_aliases", a}},
                         absl::StrCat("alias '", aliases[a], "' is empty or already used"));
      }
    }
  }
  const std::string default_name = proto.default_tier().empty() ? "interactive" : proto.default_tier();
  p->default_tier_ = p->FindTier(default_name);
  if (p->default_tier_ == nullptr) {
    return err.Error({{"default_tier", -1}}, absl::StrCat("no tier named '", default_name, "'"));
  }

  // Overrides.
  for (int i = 0; i < proto.overrides_size(); ++i) {
    const v1::StaticOverride& o = proto.overrides(i);
    CompiledOverride co;
    co.kind = o.match_case();
    co.tier = p->FindTier(o.tier());
    if (co.tier == nullptr) {
      return err.Error({{"overrides", i}, {"tier", -1}}, absl::StrCat("no tier named '", o.tier(), "'"));
    }
    co.description = Describe("overrides", i, o);
    p->has_ban_overrides_ |= co.tier->banned;
    switch (o.match_case()) {
      case v1::StaticOverride::kIp: {
        auto ip = IpAddress::Parse(o.ip());
        if (!ip.ok()) return err.Error({{"overrides", i}, {"ip", -1}}, ip.status().message());
        co.cidr = Cidr{*ip, ip->bit_length()};
        break;
      }
      case v1::StaticOverride::kCidr: {
        auto cidr = Cidr::Parse(o.cidr());
        if (!cidr.ok()) return err.Error({{"overrides", i}, {"cidr", -1}}, cidr.status().message());
        co.cidr = *cidr;
        break;
      }
      case v1::StaticOverride::kClientName:
        co.text = o.client_name();
        break;
      case v1::StaticOverride::kIntegrationId:
        co.text = o.integration_id();
        break;
      case v1::StaticOverride::kUserAgentRegex: {
        auto re = CompileRegex(o.user_agent_regex());
        if (!re.ok()) {
          return err.Error({{"overrides", i}, {"user_agent_regex", -1}}, re.status().message());
        }
        co.regex = std::move(*re);
        break;
      }
      case v1::StaticOverride::MATCH_NOT_SET:
        return err.Error({{"overrides", i}}, "needs one of ip, cidr, client_name, integration_id, user_agent_regex");
    }
    p->overrides_.push_back(std::move(co));
  }

  // Rules.
  for (int i = 0; i < proto.rules_size(); ++i) {
    const v1::Rule& r = proto.rules(i);
    CompiledRule cr;
    cr.tier = p->FindTier(r.tier());
    if (cr.tier == nullptr) {
      return err.Error({{"rules", i}, {"tier", -1}}, absl::StrCat("no tier named '", r.tier(), "'"));
    }
    cr.description = Describe("rules", i, r);
    p->has_ban_rules_ |= cr.tier->banned;
    if (r.match_case() == v1::Rule::kClientName) {
      if (r.client_name().empty()) return err.Error({{"rules", i}, {"client_name", -1}}, "must not be empty");
      cr.client_name = r.client_name();
    } else if (r.match_case() == v1::Rule::kUserAgentRegex) {
      auto re = CompileRegex(r.user_agent_regex());
      if (!re.ok()) return err.Error({{"rules", i}, {"user_agent_regex", -1}}, re.status().message());
      cr.regex = std::move(*re);
    } else {
      return err.Error({{"rules", i}}, "needs client_name or user_agent_regex");
    }
    p->rules_.push_back(std::move(cr));
  }

  // Integration caps.
  for (int i = 0; i < proto.integration_caps_size(); ++i) {
    const v1::IntegrationCap& c = proto.integration_caps(i);
    if (c.daily_limit() <= 0) {
      return err.Error({{"integration_caps", i}, {"daily_limit", -1}}, "must be > 0");
    }
    if (c.match_case() == v1::IntegrationCap::kClientName) {
      return err.Error({{"integration_caps", i}, {"client_name", -1}},
                       "a shared pool cannot be keyed by client_name, which any client may send "
                       "(it would let anyone spend the integration's pool); cap by integration_id");
    }
    if (c.match_case() != v1::IntegrationCap::kIntegrationId || c.integration_id().empty()) {
      return err.Error({{"integration_caps", i}}, "needs a non-empty integration_id");
    }
    p->caps_by_integration_id_[c.integration_id()] = c.daily_limit();
  }

  // Scalars.
  if (proto.automated_burst_per_minute() < 0) {
    return err.Error({{"automated_burst_per_minute", -1}}, "must be >= 0");
  }
  if (proto.max_cost() < 0) return err.Error({{"max_cost", -1}}, "must be >= 1");
  p->max_cost_ = proto.max_cost() == 0 ? 10 : proto.max_cost();
  if (proto.retention_hours() < 0 || (proto.retention_hours() > 0 && proto.retention_hours() < 25)) {
    return err.Error({{"retention_hours", -1}}, "must be >= 25 (a 24 h window plus the current hour)");
  }
  if (proto.retention_hours() > 24 * 31) {
    return err.Error({{"retention_hours", -1}}, "must be <= 744 (privacy: counters are short-lived)");
  }
  p->retention_hours_ = proto.retention_hours() == 0 ? 48 : proto.retention_hours();
  const int64_t days = proto.meter_retention_days();
  if (days < 0 || (days > 0 && days < kMinDayRetention) || days > kMaxDayRetention) {
    return err.Error({{"meter_retention_days", -1}},
                     absl::StrCat("must be in [", kMinDayRetention, ", ", kMaxDayRetention,
                                  "] (a calendar month needs 35 days of day buckets)"));
  }
  p->meter_retention_days_ = days == 0 ? kDefaultDayRetention : days;
  if (proto.denial_jitter_seconds() < 0) return err.Error({{"denial_jitter_seconds", -1}}, "must be >= 0");
  if (proto.burst_jitter_seconds() < 0) return err.Error({{"burst_jitter_seconds", -1}}, "must be >= 0");
  p->denial_jitter_ = absl::Seconds(proto.denial_jitter_seconds() == 0 ? 900 : proto.denial_jitter_seconds());
  p->burst_jitter_ = absl::Seconds(proto.burst_jitter_seconds() == 0 ? 60 : proto.burst_jitter_seconds());
  const int64_t mean = proto.automated_mean_interval_seconds() == 0 ? 21600 : proto.automated_mean_interval_seconds();
  const int64_t lo = proto.automated_min_interval_seconds() == 0 ? 2160 : proto.automated_min_interval_seconds();
  const int64_t hi = proto.automated_max_interval_seconds() == 0 ? 54000 : proto.automated_max_interval_seconds();
  if (lo <= 0 || lo > mean || mean > hi) {
    return err.Error({{"automated_mean_interval_seconds", -1}},
                     absl::StrCat("need 0 < min (", lo, ") <= mean (", mean, ") <= max (", hi, ")"));
  }
  p->automated_mean_ = absl::Seconds(mean);
  p->automated_min_ = absl::Seconds(lo);
  p->automated_max_ = absl::Seconds(hi);

  // Limit rows, resolved per tier.
  p->client_key_parts_ =
      (1u << v1::PART_IP) | (p->client_key_includes_ua_ ? 1u << v1::PART_USER_AGENT : 0u);
  absl::StatusOr<CompiledLimits> limits = CompileLimits(proto, err, p->client_key_parts_);
  if (!limits.ok()) return limits.status();
  p->limits_ = std::move(*limits);
  for (size_t k = 0; k < p->tiers_.size(); ++k) {
    p->tiers_[k].rows = std::move(p->limits_.rows_by_tier[k]);
    p->tiers_[k].integration_cap_row = std::move(p->limits_.cap_row_by_tier[k]);
  }
  return std::shared_ptr<const CompiledPolicy>(std::move(p));
}

const TierConfig* CompiledPolicy::FindTier(absl::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TierConfig* CompiledPolicy::FindClaimableTier(absl::string_view name_or_alias) const {
  auto it = claimable_.find(name_or_alias);
  return it == claimable_.end() ? nullptr : it->second;
}

}  // namespace quotad
