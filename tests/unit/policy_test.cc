#include "quotad/policy/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

constexpr char kDefaultPolicy[] = QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto";

constexpr char kSmallPolicy[] = R"pb(
  tiers { name: "interactive" daily_limit: 40 }
  tiers { name: "automated" daily_limit: 4 automated: true }
  tiers { name: "sponsored" daily_limit: 500 claimable: true claim_aliases: "2" }
  tiers { name: "banned" banned: true }
  overrides { cidr: "203.0.113.0/24" tier: "banned" }
  overrides { client_name: "vip-integration" tier: "sponsored" }
  rules { client_name: "murakami" tier: "automated" }
  rules { user_agent_regex: "^ndt7-client-go-cmd/" tier: "automated" }
)pb";

std::shared_ptr<const CompiledPolicy> MustParse(const std::string& text) {
  auto p = CompiledPolicy::FromText(text, "test.textproto");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : nullptr;
}

ClientFacts Facts(const char* ip, absl::string_view ua = "", absl::string_view name = "",
                  absl::string_view integration = "") {
  return {*IpAddress::Parse(ip), ua, name, integration};
}

class FixedOverride : public OverrideSource {
 public:
  explicit FixedOverride(std::string tier) : tier_(std::move(tier)) {}
  std::optional<OverrideDecision> Find(const ClientFacts&, absl::Time,
                                      absl::FunctionRef<bool(absl::string_view)>) const override {
    return OverrideDecision{"test/" + tier_, tier_, 0};
  }

 private:
  std::string tier_;
};

// The limit of tier `tier`'s row `name`, or -1.
int64_t RowLimit(const CompiledPolicy& p, absl::string_view tier, absl::string_view name) {
  for (const LimitRow& row : p.FindTier(tier)->rows) {
    if (row.name == name) return row.limit;
  }
  return -1;
}

TEST(PolicyTest, DefaultPolicyFileIsValidAndEncodesTheAup) {
  auto p = CompiledPolicy::FromFile(kDefaultPolicy);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(RowLimit(**p, "interactive", "client_daily"), 40);
  EXPECT_EQ(RowLimit(**p, "automated", "client_daily"), 4);
  EXPECT_TRUE((*p)->FindTier("automated")->automated);
  EXPECT_TRUE((*p)->FindTier("banned")->banned);
  for (const char* alias : {"0", "1", "2", "3"}) EXPECT_NE((*p)->FindClaimableTier(alias), nullptr);
  const absl::Time now = absl::Now();
  EXPECT_EQ((*p)->Classify(Facts("192.0.2.1", "", "murakami"), nullptr, nullptr, now).tier->name,
            "automated");
  EXPECT_EQ((*p)->Classify(Facts("192.0.2.1", "", "ndt7-client-go-cmd"), nullptr, nullptr, now)
                .tier->name,
            "automated");
  EXPECT_EQ((*p)->Classify(Facts("192.0.2.1", "Mozilla/5.0"), nullptr, nullptr, now).tier->name,
            "interactive");
}

TEST(PolicyTest, ClassificationOrderIsBanThenOverrideThenClaimThenRuleThenDefault) {
  auto p = MustParse(kSmallPolicy);
  const absl::Time now = absl::Now();
  const TierConfig* sponsored = p->FindClaimableTier("2");
  ASSERT_NE(sponsored, nullptr);
  FixedOverride admin("interactive");

  // An admin override beats policy overrides, claims and rules...
  auto c = p->Classify(Facts("192.0.2.1", "", "vip-integration"), sponsored, &admin, now);
  EXPECT_EQ(c.tier->name, "interactive");
  EXPECT_EQ(c.source, TierSource::kAdminOverride);
  // ...but not a ban (the policy's banned prefix).
  c = p->Classify(Facts("203.0.113.9", "", "murakami"), sponsored, &admin, now);
  EXPECT_EQ(c.tier->name, "banned");
  EXPECT_EQ(c.source, TierSource::kPolicyOverride);
  EXPECT_EQ(c.rule, "overrides[0] (cidr: \"203.0.113.0/24\" tier: \"banned\")");
  // Policy override (banned prefix) beats a claim and a rule.
  c = p->Classify(Facts("203.0.113.9", "", "murakami"), sponsored, nullptr, now);
  EXPECT_EQ(c.tier->name, "banned");
  EXPECT_EQ(c.source, TierSource::kPolicyOverride);
  // A claim beats a rule.
  c = p->Classify(Facts("192.0.2.1", "", "murakami"), sponsored, nullptr, now);
  EXPECT_EQ(c.tier->name, "sponsored");
  EXPECT_EQ(c.source, TierSource::kIntegrationClaim);
  // Rules: client_name and User-Agent pattern.
  c = p->Classify(Facts("192.0.2.1", "", "murakami"), nullptr, nullptr, now);
  EXPECT_EQ(c.source, TierSource::kRule);
  EXPECT_EQ(c.tier->name, "automated");
  EXPECT_EQ(c.rule, "rules[0] (client_name: \"murakami\" tier: \"automated\")");
  c = p->Classify(Facts("192.0.2.1", "ndt7-client-go-cmd/0.7"), nullptr, nullptr, now);
  EXPECT_EQ(c.tier->name, "automated");
  // Default.
  c = p->Classify(Facts("192.0.2.1", "Mozilla/5.0"), nullptr, nullptr, now);
  EXPECT_EQ(c.tier->name, "interactive");
  EXPECT_EQ(c.source, TierSource::kDefault);
  // An admin override naming an unknown tier is ignored.
  FixedOverride bogus("no-such-tier");
  c = p->Classify(Facts("192.0.2.1", "Mozilla/5.0"), nullptr, &bogus, now);
  EXPECT_EQ(c.source, TierSource::kDefault);
}

TEST(PolicyTest, ABanBeatsEveryOtherOverrideAndRule) {
  auto p = MustParse(R"pb(
    tiers { name: "interactive" daily_limit: 40 }
    tiers { name: "sponsored" daily_limit: 500 claimable: true }
    tiers { name: "banned" banned: true }
    overrides { ip: "192.0.2.7" tier: "sponsored" }
    rules { client_name: "partner" tier: "sponsored" }
    rules { user_agent_regex: "^evil/" tier: "banned" }
  )pb");
  const absl::Time now = absl::Now();
  const TierConfig* sponsored = p->FindTier("sponsored");
  FixedOverride admin("sponsored");
  // A sponsor override on the address, a claim, an earlier rule and an
  // admin override all lose to the User-Agent ban.
  for (const OverrideSource* source : {static_cast<const OverrideSource*>(nullptr),
                                       static_cast<const OverrideSource*>(&admin)}) {
    auto c = p->Classify(Facts("192.0.2.7", "evil/1.0", "partner"), sponsored, source, now);
    EXPECT_EQ(c.tier->name, "banned");
    EXPECT_EQ(c.source, TierSource::kRule);
    EXPECT_EQ(c.rule, "rules[1] (user_agent_regex: \"^evil/\" tier: \"banned\")");
  }
  // Without the banned User-Agent the precedence is as before.
  auto c = p->Classify(Facts("192.0.2.7", "good/1.0", "partner"), nullptr, nullptr, now);
  EXPECT_EQ(c.source, TierSource::kPolicyOverride);
  c = p->Classify(Facts("192.0.2.8", "good/1.0", "partner"), nullptr, &admin, now);
  EXPECT_EQ(c.source, TierSource::kAdminOverride);
  // An admin ban beats the policy's sponsor override.
  FixedOverride admin_ban("banned");
  c = p->Classify(Facts("192.0.2.7", "good/1.0"), nullptr, &admin_ban, now);
  EXPECT_EQ(c.tier->name, "banned");
  EXPECT_EQ(c.source, TierSource::kAdminOverride);
}

TEST(PolicyTest, ShadowModeNeverLiftsABan) {
  auto p = MustParse(R"pb(
    enforce: false
    tiers { name: "interactive" daily_limit: 40 }
    tiers { name: "banned" banned: true }
  )pb");
  EXPECT_FALSE(p->FindTier("interactive")->enforce);
  EXPECT_TRUE(p->FindTier("banned")->enforce);
}

TEST(PolicyTest, ShadowModeIsGlobalWithPerTierOverride) {
  auto p = MustParse(R"pb(
    enforce: false
    tiers { name: "interactive" daily_limit: 40 }
    tiers { name: "automated" daily_limit: 4 enforce: true }
  )pb");
  EXPECT_FALSE(p->FindTier("interactive")->enforce);
  EXPECT_TRUE(p->FindTier("automated")->enforce);
}

TEST(PolicyTest, DefaultsAreFilledIn) {
  auto p = MustParse(R"pb(tiers { name: "interactive" daily_limit: 40 })pb");
  EXPECT_EQ(p->max_cost(), 10);
  EXPECT_EQ(p->retention_hours(), 48);
  EXPECT_EQ(p->meter_retention_days(), 400);
  EXPECT_EQ(p->ipv4_group_prefix(), 24);
  EXPECT_EQ(p->ipv6_group_prefix(), 48);
  EXPECT_TRUE(p->client_key_includes_user_agent());
  EXPECT_EQ(p->automated_mean_interval(), absl::Hours(6));
  EXPECT_EQ(p->automated_min_interval(), absl::Minutes(36));
  EXPECT_EQ(p->automated_max_interval(), absl::Hours(15));
  ASSERT_EQ(p->FindTier("interactive")->rows.size(), 1u);
  EXPECT_EQ(p->FindTier("interactive")->rows[0].window, v1::ROLLING_24H);
}

TEST(PolicyTest, RowsOverTheSameCountShareASpecAndTheClientKeyIsMarked) {
  auto p = MustParse(R"pb(
    tiers { name: "interactive" daily_limit: 40 }
    tiers { name: "automated" daily_limit: 4 automated: true }
    limits { name: "ip_daily" counts: PART_IP limit: 400 }
    limits {
      name: "hourly"
      counts: [ PART_USER_AGENT, PART_IP ]
      window: HOUR_UTC
      limit: 10
    }
    limits { name: "data" counts: PART_INTEGRATION service: "data/*" limit: 5 cost: COST_REQUESTS }
  )pb");
  const TierConfig& interactive = *p->FindTier("interactive");
  const TierConfig& automated = *p->FindTier("automated");
  ASSERT_EQ(interactive.rows.size(), 4u);  // client_daily (shorthand), then the file's rows
  EXPECT_EQ(interactive.rows[0].name, "client_daily");
  EXPECT_TRUE(interactive.rows[0].spec->is_client_key);
  EXPECT_EQ(interactive.rows[0].spec, interactive.rows[2].spec);  // same parts, service, cost
  EXPECT_EQ(interactive.rows[0].spec, automated.rows[0].spec);    // across tiers too
  EXPECT_NE(interactive.rows[0].spec, interactive.rows[1].spec);
  EXPECT_FALSE(interactive.rows[1].spec->is_client_key);
  EXPECT_TRUE(interactive.rows[1].counts_client_address);
  EXPECT_EQ(interactive.rows[3].reason, v1::REASON_SERVICE_QUOTA);
  EXPECT_TRUE(interactive.rows[3].spec->per_request);
  EXPECT_TRUE(interactive.rows[3].spec->MatchesService("data/gcs"));
  EXPECT_FALSE(interactive.rows[3].spec->MatchesService("ndt/ndt7"));
  CountSpec negated;
  negated.service = "!data/*";
  EXPECT_FALSE(negated.MatchesService("data/gcs"));
  EXPECT_TRUE(negated.MatchesService("ndt/ndt7"));
  EXPECT_TRUE(negated.MatchesService(""));
}

TEST(PolicyTest, TheAupGivesEveryTierItsRowsAndAnIpCapNextToTheClientCap) {
  auto p = CompiledPolicy::FromFile(kDefaultPolicy);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(RowLimit(**p, "interactive", "ip_daily"), 400);
  EXPECT_EQ(RowLimit(**p, "automated", "ip_daily"), 400);
  EXPECT_EQ(RowLimit(**p, "interactive", "group_daily"), 2000);
  EXPECT_EQ(RowLimit(**p, "registered-2", "client_daily"), 1000);
  EXPECT_EQ(RowLimit(**p, "automated", "integration_daily"), 20000);
  EXPECT_EQ(RowLimit(**p, "data", "data_units_daily"), 500);
  EXPECT_TRUE((*p)->FindTier("banned")->rows.empty());
  for (const TierConfig& tier : (*p)->tiers()) {
    if (tier.banned || tier.name == "data") continue;
    EXPECT_TRUE(tier.rows[0].spec->is_client_key) << tier.name;
  }
}

TEST(PolicyTest, BurstBudgetsDefaultToThePolicysAndATierMaySetItsOwn) {
  auto p = MustParse(R"pb(
    tiers { name: "interactive" daily_limit: 40 }
    tiers { name: "automated" daily_limit: 4 automated: true }
    tiers { name: "registered" daily_limit: 9 automated: true burst_per_minute: 50 }
    automated_burst_per_minute: 600
  )pb");
  EXPECT_EQ(p->FindTier("automated")->burst_per_minute, 600);
  EXPECT_EQ(p->FindTier("registered")->burst_per_minute, 50);
}

struct BadPolicyCase {
  const char* name;
  const char* text;
  const char* expected;  // substring of the error
};

void PrintTo(const BadPolicyCase& c, std::ostream* os) { *os << c.name; }

class BadPolicyTest : public ::testing::TestWithParam<BadPolicyCase> {};

TEST_P(BadPolicyTest, IsRejectedWithLineAndField) {
  auto p = CompiledPolicy::FromText(GetParam().text, "bad.textproto");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr(GetParam().expected));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("bad.textproto:"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadPolicyCase{"SyntaxError", "tiers { name: \"interactive\" daily_limit: forty }",
                      "bad.textproto:1:"},
        BadPolicyCase{"UnknownField", "tiers { name: \"x\" }\nbogus: 1", "bad.textproto:2:"},
        BadPolicyCase{"NoTiers", "max_cost: 3", "tiers: at least one tier"},
        BadPolicyCase{"NoDefaultTier", "tiers { name: \"automated\" daily_limit: 4 }",
                      "default_tier: no tier named 'interactive'"},
        BadPolicyCase{"DuplicateTier",
                      "tiers { name: \"interactive\" }\ntiers { name: \"interactive\" }",
                      "bad.textproto:2: tiers[1].name: duplicate tier"},
        BadPolicyCase{"BadTierName", "tiers { name: \"Inter Active\" }", "tiers[0].name"},
        BadPolicyCase{
            "ShadowBan",
            "tiers { name: \"interactive\" }\ntiers { name: \"b\" banned: true enforce: false }",
            "bad.textproto:2: tiers[1].enforce: a banned tier is always enforced"},
        BadPolicyCase{"EnforcePercentRange", "tiers { name: \"interactive\" enforce_percent: 101 }",
                      "tiers[0].enforce_percent: must be 0..100"},
        BadPolicyCase{"PartlyEnforcedBan",
                      "tiers { name: \"interactive\" }\ntiers { name: \"b\" banned: true "
                      "enforce_percent: 50 }",
                      "tiers[1].enforce_percent: a banned tier is enforced for every client"},
        BadPolicyCase{
            "CapByClientName",
            "tiers { name: \"interactive\" }\nintegration_caps { client_name: \"m\" daily_limit: 9 "
            "}",
            "integration_caps[0].client_name: a shared pool cannot be keyed by client_name"},
        BadPolicyCase{"ClientPrefixShorterThanGroup",
                      "tiers { name: \"interactive\" }\nidentity { ipv6_client_prefix: 32 }",
                      "identity.ipv6_client_prefix: must be ipv6_group_prefix (48)..128"},
        BadPolicyCase{"NegativeLimit", "tiers { name: \"interactive\"\n daily_limit: -1 }",
                      "bad.textproto:2: tiers[0].daily_limit: must be >= 0"},
        BadPolicyCase{
            "RuleUnknownTier",
            "tiers { name: \"interactive\" }\nrules { client_name: \"m\" tier: \"nope\" }",
            "bad.textproto:2: rules[0].tier: no tier named 'nope'"},
        BadPolicyCase{"RuleBadRegex",
                      "tiers { name: \"interactive\" }\nrules {\n user_agent_regex: \"(\" tier: "
                      "\"interactive\" }",
                      "bad.textproto:3: rules[0].user_agent_regex: bad RE2 pattern"},
        BadPolicyCase{"RuleWithoutMatch",
                      "tiers { name: \"interactive\" }\nrules { tier: \"interactive\" }",
                      "rules[0]: needs client_name or user_agent_regex"},
        BadPolicyCase{"OverrideBadCidr",
                      "tiers { name: \"interactive\" }\noverrides { cidr: \"10.0.0.1/8\" tier: "
                      "\"interactive\" }",
                      "overrides[0].cidr"},
        BadPolicyCase{"OverrideBadIp",
                      "tiers { name: \"interactive\" }\noverrides { ip: \"10.0.0\" tier: "
                      "\"interactive\" }",
                      "overrides[0].ip"},
        BadPolicyCase{"TierWithoutLimits", "tiers { name: \"interactive\" }",
                      "bad.textproto:1: tiers[0]: no limit applies to tier 'interactive'"},
        BadPolicyCase{"RowUnknownTier",
                      "tiers { name: \"interactive\" daily_limit: 1 }\nlimits { name: \"x\" "
                      "counts: PART_IP tiers: \"nope\" limit: 1 }",
                      "bad.textproto:2: limits[0].tiers[0]: no tier named 'nope'"},
        BadPolicyCase{"RowOnBannedTier",
                      "tiers { name: \"interactive\" daily_limit: 1 }\ntiers { name: \"b\" banned: "
                      "true }\nlimits { name: \"x\" counts: PART_IP tiers: \"b\" limit: 1 }",
                      "limits[0].tiers[0]: a banned tier refuses every request"},
        BadPolicyCase{"UserAgentAlone",
                      "tiers { name: \"interactive\" }\nlimits {\n name: \"ua\" counts: "
                      "PART_USER_AGENT limit: 1 }",
                      "limits[0].counts: PART_USER_AGENT only together with PART_IP"},
        BadPolicyCase{"MonthRowCountingAnAddress",
                      "tiers { name: \"interactive\" daily_limit: 40 }\nlimits {\n name: \"m\" "
                      "counts: [ PART_IP, PART_SERVICE ] window: CALENDAR_MONTH_UTC limit: 9 }",
                      "limits[0].window: a CALENDAR_MONTH_UTC row may count only PART_INTEGRATION"},
        BadPolicyCase{"MonthRowCountingAGroup",
                      "tiers { name: \"interactive\" daily_limit: 40 }\nlimits {\n name: \"m\" "
                      "counts: PART_ADDRESS_GROUP window: CALENDAR_MONTH_UTC limit: 9 }",
                      "no history of an address or address group is kept longer than a day"},
        BadPolicyCase{"MinuteWindowOnATier",
                      "tiers { name: \"interactive\" daily_limit: 40 window: MINUTE_UTC }",
                      "tiers[0].window: a tier's daily limits take ROLLING_24H"},
        BadPolicyCase{"MonthWindowOnATier",
                      "tiers { name: \"interactive\" daily_limit: 40 window: CALENDAR_MONTH_UTC }",
                      "put a minute or month window on a row"},
        BadPolicyCase{"RowWithoutParts",
                      "tiers { name: \"interactive\" }\nlimits { name: \"x\" limit: 1 }",
                      "limits[0].counts: count at least one part"},
        BadPolicyCase{"PartTwice",
                      "tiers { name: \"interactive\" }\nlimits { name: \"x\" counts: [PART_IP, "
                      "PART_IP] limit: 1 }",
                      "limits[0].counts[1]: part listed twice"},
        BadPolicyCase{"RowNameTakenInATier",
                      "tiers { name: \"interactive\" daily_limit: 4 }\nlimits { name: "
                      "\"client_daily\" counts: PART_IP limit: 1 }",
                      "limits[0].name: a row named 'client_daily' already applies to tier"},
        BadPolicyCase{"ReservedRowName",
                      "tiers { name: \"interactive\" }\nlimits { name: \"automated_burst\" "
                      "counts: PART_IP limit: 1 }",
                      "limits[0].name: row name 'automated_burst'"},
        BadPolicyCase{"BadServicePattern",
                      "tiers { name: \"interactive\" }\nlimits { name: \"x\" counts: PART_IP "
                      "service: \"data/*/x\" limit: 1 }",
                      "limits[0].service:"},
        BadPolicyCase{"NegativeRowLimit",
                      "tiers { name: \"interactive\" }\nlimits { name: \"x\" counts: PART_IP "
                      "limit: -1 }",
                      "limits[0].limit: must be >= 0"},
        BadPolicyCase{"NegativeBurst",
                      "tiers { name: \"interactive\" daily_limit: 1 burst_per_minute: -1 }",
                      "tiers[0].burst_per_minute: must be >= 0"},
        BadPolicyCase{"ShortRetention", "tiers { name: \"interactive\" }\nretention_hours: 24",
                      "bad.textproto:2: retention_hours: must be >= 25"},
        BadPolicyCase{"ShortMeterRetention",
                      "tiers { name: \"interactive\" }\nmeter_retention_days: 34",
                      "bad.textproto:2: meter_retention_days: must be in [35, 1830]"},
        BadPolicyCase{"LongMeterRetention",
                      "tiers { name: \"interactive\" }\nmeter_retention_days: 1831",
                      "bad.textproto:2: meter_retention_days: must be in [35, 1830]"},
        BadPolicyCase{"NegativeCost", "tiers { name: \"interactive\" }\nmax_cost: -2",
                      "max_cost: must be >= 1"},
        BadPolicyCase{"BadGroupPrefix",
                      "tiers { name: \"interactive\" }\nidentity { ipv4_group_prefix: 40 }",
                      "identity.ipv4_group_prefix: must be 1..32"},
        BadPolicyCase{"AliasWithoutClaimable",
                      "tiers { name: \"interactive\" claim_aliases: \"0\" }",
                      "claim_aliases[0]: aliases need claimable"},
        BadPolicyCase{"DuplicateAlias",
                      "tiers { name: \"interactive\" }\ntiers { name: \"a\" claimable: true "
                      "claim_aliases: \"0\" }\ntiers { name: \"b\" claimable: true claim_aliases: "
                      "\"0\" }",
                      "tiers[2].claim_aliases[0]"},
        BadPolicyCase{"BadIntervals",
                      "tiers { name: \"interactive\" }\nautomated_min_interval_seconds: 99999",
                      "automated_mean_interval_seconds"},
        BadPolicyCase{
            "BannedClaimable",
            "tiers { name: \"interactive\" }\ntiers { name: \"b\" banned: true claimable: "
            "true }",
            "tiers[1].claimable"}),
    [](const ::testing::TestParamInfo<BadPolicyCase>& info) { return info.param.name; });

}  // namespace
}  // namespace quotad
