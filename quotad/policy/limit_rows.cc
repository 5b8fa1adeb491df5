#include "quotad/policy/limit_rows.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "quotad/policy/window.h"

namespace quotad {
namespace {

constexpr uint32_t Bit(v1::Part part) { return 1u << part; }

bool IsValidRowName(absl::string_view name) {
  if (name.empty() || name.size() > 40) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

// "" | ["!"] (exact | prefix "*"): printable ASCII, no spaces, '*' only
// last.
bool IsValidServicePattern(absl::string_view pattern) {
  if (pattern.size() > 128 || pattern == "!") return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '!' && i == 0) continue;
    const char c = pattern[i];
    if (c <= ' ' || c > '~') return false;
    if (c == '*' && i + 1 != pattern.size()) return false;
  }
  return true;
}

// Interns count specs: equal specs are one object (and one counter).
class SpecTable {
 public:
  explicit SpecTable(CompiledLimits* out, uint32_t client_key_parts)
      : out_(out), client_key_parts_(client_key_parts) {}

  const CountSpec* Get(uint32_t parts, absl::string_view service, bool per_request,
                       BucketUnit unit) {
    std::vector<std::string> names;
    for (int p = v1::Part_MIN; p <= v1::Part_MAX; ++p) {
      if ((parts >> p) & 1u) names.push_back(v1::Part_Name(static_cast<v1::Part>(p)));
    }
    // Hour specs keep the text they had before units existed (and so their
    // counter ids).
    const char* unit_suffix = unit == BucketUnit::kMinute ? "|minute"
                              : unit == BucketUnit::kDay  ? "|day"
                                                          : "";
    std::string canonical = absl::StrCat(absl::StrJoin(names, "+"), "|", service, "|",
                                         per_request ? "requests" : "units", unit_suffix);
    auto [it, inserted] = by_canonical_.try_emplace(canonical, nullptr);
    if (!inserted) return it->second;
    auto spec = std::make_unique<CountSpec>();
    spec->parts = parts;
    spec->service = std::string(service);
    spec->per_request = per_request;
    spec->unit = unit;
    spec->canonical = std::move(canonical);
    spec->is_client_key =
        parts == client_key_parts_ && service.empty() && !per_request && unit == BucketUnit::kHour;
    it->second = spec.get();
    out_->specs.push_back(std::move(spec));
    return it->second;
  }

 private:
  CompiledLimits* out_;
  uint32_t client_key_parts_;
  std::map<std::string, const CountSpec*> by_canonical_;
};

LimitRow MakeRow(std::string name, const CountSpec* spec, v1::Window window, int64_t limit) {
  LimitRow row;
  row.name = std::move(name);
  row.spec = spec;
  row.window = window == v1::WINDOW_UNSPECIFIED ? v1::ROLLING_24H : window;
  row.limit = limit;
  row.reason = ReasonFor(*spec);
  const uint32_t address_parts = Bit(v1::PART_IP) | Bit(v1::PART_USER_AGENT);
  const bool hours = spec->unit == BucketUnit::kHour;
  row.counts_client_address = hours && spec->Has(v1::PART_IP) &&
                              (spec->parts & ~address_parts) == 0 && spec->service.empty();
  row.integration_pool = hours && spec->parts == Bit(v1::PART_INTEGRATION) && spec->service.empty();
  return row;
}

// The shorthand fields of tier `t` as rows.
void AddShorthandRows(const v1::Tier& t, uint32_t client_key_parts, SpecTable& specs,
                      std::vector<LimitRow>& rows) {
  if (t.has_daily_limit()) {
    rows.push_back(MakeRow("client_daily",
                           specs.Get(client_key_parts, "", false, BucketUnit::kHour), t.window(),
                           t.daily_limit()));
  }
  if (t.group_daily_limit() > 0) {
    rows.push_back(MakeRow("group_daily",
                           specs.Get(Bit(v1::PART_ADDRESS_GROUP), "", false, BucketUnit::kHour),
                           t.window(), t.group_daily_limit()));
  }
  if (t.integration_daily_limit() > 0) {
    rows.push_back(MakeRow("integration_daily",
                           specs.Get(Bit(v1::PART_INTEGRATION), "", false, BucketUnit::kHour),
                           t.window(), t.integration_daily_limit()));
  }
}

// Validates limits[i]; returns its parts' bits.
absl::StatusOr<uint32_t> ValidateRow(const v1::Limit& l, int i, const ErrorReporter& err) {
  if (!IsValidRowName(l.name()) || l.name() == "automated_burst") {
    return err.Error({{"limits", i}, {"name", -1}},
                     absl::StrCat("row name '", l.name(),
                                  "' must be 1-40 chars of [a-z0-9_] and not automated_burst"));
  }
  if (l.counts().empty()) {
    return err.Error({{"limits", i}, {"counts", -1}}, "count at least one part (PART_IP, ...)");
  }
  uint32_t parts = 0;
  for (int c = 0; c < l.counts_size(); ++c) {
    const int part = l.counts(c);
    if (!v1::Part_IsValid(part) || part == v1::PART_UNSPECIFIED) {
      return err.Error({{"limits", i}, {"counts", c}}, absl::StrCat("unknown part ", part));
    }
    if ((parts >> part) & 1u) {
      return err.Error({{"limits", i}, {"counts", c}}, "part listed twice");
    }
    parts |= 1u << part;
  }
  if ((parts & Bit(v1::PART_USER_AGENT)) && !(parts & Bit(v1::PART_IP))) {
    return err.Error({{"limits", i}, {"counts", -1}},
                     "PART_USER_AGENT only together with PART_IP (a User-Agent is free to "
                     "change: it may narrow an address, never replace one)");
  }
  if (!IsValidServicePattern(l.service())) {
    return err.Error({{"limits", i}, {"service", -1}},
                     "\"\", an exact service, or a prefix ending in '*', optionally negated by a "
                     "leading '!'; printable ASCII without spaces, at most 128 chars");
  }
  if (!v1::Window_IsValid(l.window())) {
    return err.Error({{"limits", i}, {"window", -1}}, "unknown window");
  }
  const uint32_t month_parts = Bit(v1::PART_INTEGRATION) | Bit(v1::PART_SERVICE);
  if (l.window() == v1::CALENDAR_MONTH_UTC && (parts & ~month_parts) != 0) {
    return err.Error({{"limits", i}, {"window", -1}},
                     "a CALENDAR_MONTH_UTC row may count only PART_INTEGRATION and PART_SERVICE "
                     "(no history of an address or address group is kept longer than a day)");
  }
  if (l.limit() < 0) return err.Error({{"limits", i}, {"limit", -1}}, "must be >= 0");
  if (!v1::Limit::Cost_IsValid(l.cost())) {
    return err.Error({{"limits", i}, {"cost", -1}}, "unknown cost unit");
  }
  return parts;
}

// Adds `row` (limits[i]) to every tier it names (all but banned ones when
// it names none). Errors: an unknown or banned tier, a name already used.
absl::Status AttachRow(const v1::Policy& policy, const v1::Limit& l, int i, const LimitRow& row,
                       const ErrorReporter& err, CompiledLimits& out) {
  std::vector<int> targets;
  for (int t = 0; t < l.tiers_size(); ++t) {
    int found = -1;
    for (int k = 0; k < policy.tiers_size(); ++k) {
      if (policy.tiers(k).name() == l.tiers(t)) found = k;
    }
    if (found < 0) {
      return err.Error({{"limits", i}, {"tiers", t}},
                       absl::StrCat("no tier named '", l.tiers(t), "'"));
    }
    if (policy.tiers(found).banned()) {
      return err.Error({{"limits", i}, {"tiers", t}},
                       "a banned tier refuses every request; no row applies to it");
    }
    targets.push_back(found);
  }
  if (l.tiers().empty()) {
    for (int k = 0; k < policy.tiers_size(); ++k) {
      if (!policy.tiers(k).banned()) targets.push_back(k);
    }
  }
  for (int k : targets) {
    for (const LimitRow& other : out.rows_by_tier[static_cast<size_t>(k)]) {
      if (other.name == row.name) {
        return err.Error({{"limits", i}, {"name", -1}},
                         absl::StrCat("a row named '", row.name, "' already applies to tier '",
                                      policy.tiers(k).name(), "'"));
      }
    }
    out.rows_by_tier[static_cast<size_t>(k)].push_back(row);
  }
  return absl::OkStatus();
}

}  // namespace

bool CountSpec::MatchesService(absl::string_view s) const {
  if (service.empty()) return true;
  absl::string_view pattern = service;
  const bool negated = absl::ConsumePrefix(&pattern, "!");
  const bool match =
      absl::ConsumeSuffix(&pattern, "*") ? absl::StartsWith(s, pattern) : s == pattern;
  return match != negated;
}

v1::Reason ReasonFor(const CountSpec& spec) {
  if (!spec.service.empty() || spec.Has(v1::PART_SERVICE)) return v1::REASON_SERVICE_QUOTA;
  if (spec.Has(v1::PART_INTEGRATION)) return v1::REASON_INTEGRATION_LIMIT;
  if (spec.parts == Bit(v1::PART_ADDRESS_GROUP)) return v1::REASON_GROUP_LIMIT;
  return v1::REASON_DAILY_LIMIT;
}

absl::StatusOr<CompiledLimits> CompileLimits(const v1::Policy& policy, const ErrorReporter& err,
                                             uint32_t client_key_parts) {
  CompiledLimits out;
  SpecTable specs(&out, client_key_parts);
  const size_t tiers = static_cast<size_t>(policy.tiers_size());
  out.rows_by_tier.resize(tiers);
  out.cap_row_by_tier.resize(tiers);
  for (size_t k = 0; k < tiers; ++k) {
    const v1::Tier& t = policy.tiers(static_cast<int>(k));
    if (!t.banned()) AddShorthandRows(t, client_key_parts, specs, out.rows_by_tier[k]);
  }
  for (int i = 0; i < policy.limits_size(); ++i) {
    const v1::Limit& l = policy.limits(i);
    absl::StatusOr<uint32_t> parts = ValidateRow(l, i, err);
    if (!parts.ok()) return parts.status();
    LimitRow row = MakeRow(l.name(),
                           specs.Get(*parts, l.service(), l.cost() == v1::Limit::COST_REQUESTS,
                                     UnitOfWindow(l.window())),
                           l.window(), l.limit());
    row.enforce = !l.has_enforce() || l.enforce();
    if (absl::Status s = AttachRow(policy, l, i, row, err, out); !s.ok()) return s;
  }
  for (size_t k = 0; k < tiers; ++k) {
    const v1::Tier& t = policy.tiers(static_cast<int>(k));
    const auto& rows = out.rows_by_tier[k];
    if (t.banned()) continue;
    if (rows.empty()) {
      return err.Error({{"tiers", static_cast<int>(k)}},
                       absl::StrCat("no limit applies to tier '", t.name(),
                                    "': set daily_limit or add a row to `limits`"));
    }
    bool has_pool = false;
    bool name_taken = false;
    for (const LimitRow& r : rows) {
      has_pool |= r.integration_pool;
      name_taken |= r.name == "integration_daily";
    }
    if (has_pool || policy.integration_caps().empty()) continue;
    if (name_taken) {
      return err.Error({{"integration_caps", -1}},
                       absl::StrCat("tier '", t.name(),
                                    "' has a row named integration_daily that is not the "
                                    "integration's pool (PART_INTEGRATION alone)"));
    }
    out.cap_row_by_tier[k] =
        MakeRow("integration_daily",
                specs.Get(Bit(v1::PART_INTEGRATION), "", false, BucketUnit::kHour), t.window(), 0);
  }
  return out;
}

}  // namespace quotad
