// Operator overrides and bans against the real quotad and quotactl: prefix,
// address and User-Agent bans, expiry, tier overrides, precedence (a ban
// beats everything, shadow mode never lifts one), privacy of addresses.
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/admin_fixture.h"
#include "tests/testing/await.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFile;
using testing::WriteFile;

TEST_F(AdminTest, BanOnAPrefixDeniesEveryAddressInItAndNoneOutside) {
  auto r = Admin({"ban", "--prefix=198.51.100.0/24", "--reason=scanner fleet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("cidr/198.51.100.0/24"));
  for (const char* ip : {"198.51.100.0", "198.51.100.1", "198.51.100.77", "198.51.100.255"}) {
    auto resp = Acquire(ip);
    EXPECT_FALSE(resp.allowed()) << ip;
    EXPECT_EQ(resp.reason(), v1::REASON_BANNED) << ip;
  }
  for (const char* ip : {"198.51.101.1", "198.51.99.255", "2001:db8::1"}) {
    EXPECT_TRUE(Acquire(ip).allowed()) << ip;
  }
  ASSERT_EQ(Admin({"ban", "--prefix=2001:db8:bad::/48"}).exit_code, 0);
  EXPECT_FALSE(Acquire("2001:db8:bad:1::9").allowed());
  EXPECT_TRUE(Acquire("2001:db8:bad0::9").allowed());
  // Unban lifts it at once.
  ASSERT_EQ(Admin({"unban", "--prefix=198.51.100.0/24"}).exit_code, 0);
  EXPECT_TRUE(Acquire("198.51.100.77").allowed());
}

TEST_F(AdminTest, AnExpiringBanLiftsOnTime) {
  ASSERT_EQ(Admin({"ban", "--ip=192.0.2.99", "--for=2s"}).exit_code, 0);
  const absl::Time banned_at = absl::Now();
  EXPECT_FALSE(Acquire("192.0.2.99").allowed());
  ASSERT_TRUE(testing::AwaitTrue("the ban lifts", absl::Seconds(15),
                                 [&] { return Check("192.0.2.99").allowed(); },
                                 absl::Milliseconds(50))
                  .ok());
  const absl::Time lifted = absl::Now();
  EXPECT_GE(lifted - banned_at, absl::Milliseconds(1500));
  EXPECT_EQ(OverrideCount(), 0u);  // expired overrides are not listed
}

TEST_F(AdminTest, ASingleAddressBanIsKeptListedAuditedAndLoggedOnlyAsAKeyedHash) {
  ASSERT_EQ(Admin({"ban", "--ip=192.0.2.123", "--reason=abuse"}).exit_code, 0);
  EXPECT_FALSE(Acquire("192.0.2.123").allowed());
  EXPECT_TRUE(Acquire("192.0.2.124").allowed());
  auto list = Admin({"override", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\"ip_hash\""));
  auto audit = Admin({"audit", "--json"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("SetOverride"));
  // The operator names the address; the node keeps only its hash.
  ASSERT_EQ(Admin({"unban", "--ip=192.0.2.123"}).exit_code, 0);
  EXPECT_TRUE(Acquire("192.0.2.123").allowed());
  for (const std::string& text : {list.out, audit.out, Admin({"audit", "--json"}).out,
                                  ReadFile(node_->log_path())}) {
    EXPECT_THAT(text, Not(HasSubstr("192.0.2.123")));
  }
}

TEST_F(AdminTest, ATierOverrideChangesTheLimitAtOnce) {
  EXPECT_EQ(Check("192.0.2.5", "partner").limits(0).limit(), 40);
  ASSERT_EQ(Admin({"override", "set", "--client-name=partner", "--tier=automated"}).exit_code, 0);
  auto now = Check("192.0.2.5", "partner");
  EXPECT_EQ(now.tier(), "automated");
  EXPECT_EQ(now.limits(0).limit(), 4);
  ASSERT_EQ(Admin({"override", "set", "--client-name=partner", "--tier=registered-2",
                   "--daily-limit=7", "--reason=sponsored pilot"})
                .exit_code,
            0);
  EXPECT_EQ(Check("192.0.2.5", "partner").limits(0).limit(), 7);
  auto list = Admin({"override", "list", "--json"});
  EXPECT_THAT(list.out, HasSubstr("\"id\":\"client_name/partner\""));
  EXPECT_THAT(list.out, HasSubstr("sponsored pilot"));
  ASSERT_EQ(Admin({"override", "delete", "--id=client_name/partner"}).exit_code, 0);
  EXPECT_EQ(Check("192.0.2.5", "partner").limits(0).limit(), 40);
}

TEST_F(AdminTest, ABanBeatsASponsorOverrideAndUsageSaysWhichEntryDecided) {
  ASSERT_EQ(Admin({"override", "set", "--ip=192.0.2.60", "--tier=registered-2"}).exit_code, 0);
  ASSERT_EQ(Admin({"override", "set", "--user-agent=^evil/", "--tier=banned"}).exit_code, 0);
  EXPECT_EQ(Acquire("192.0.2.60", "good/1.0").tier(), "registered-2");
  const v1::AcquireResponse banned = Acquire("192.0.2.60", "evil/1.0");
  EXPECT_FALSE(banned.allowed());
  EXPECT_EQ(banned.reason(), v1::REASON_BANNED);
  auto usage = Admin({"usage", "--ip=192.0.2.60", "--user-agent=evil/1.0"});
  EXPECT_THAT(usage.out, HasSubstr("tier: banned (via admin_override user_agent/^evil/)"));
  // A policy rule names itself.
  usage = Admin({"usage", "--ip=192.0.2.61", "--user-agent=murakami/0.7"});
  EXPECT_THAT(usage.out, HasSubstr("(via rule rules[2] (user_agent_regex: \"(?i)^murakami/\""));
}

TEST_F(AdminTest, ShadowModeNeverLiftsABan) {
  std::string policy = ReadFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto");
  ASSERT_THAT(policy, HasSubstr("enforce: true"));
  policy = absl::StrReplaceAll(policy, {{"enforce: true", "enforce: false"}});
  WriteFile(dir_.Sub("shadow.textproto"), policy);
  StartNode({"--policy=" + dir_.Sub("shadow.textproto")});
  for (int i = 0; i < 41; ++i) ASSERT_TRUE(Acquire("192.0.2.70").allowed());  // shadow: over 40
  EXPECT_TRUE(Acquire("192.0.2.70").shadow_denied());
  ASSERT_EQ(Admin({"override", "set", "--prefix=198.51.100.0/24", "--tier=banned"}).exit_code, 0);
  const v1::AcquireResponse banned = Acquire("198.51.100.9");
  EXPECT_FALSE(banned.allowed());
  EXPECT_EQ(banned.reason(), v1::REASON_BANNED);
}

}  // namespace
}  // namespace quotad
