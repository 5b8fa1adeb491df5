// Automated fleets against three real nodes: what a fleet that fills up
// together is told (issue 11: limits as data, fair fleets, spread retries).
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::LocalCluster;
using testing::TempDir;

class FleetTest : public ::testing::Test {
 protected:
  // The AUP, with `replace` applied (each must match).
  void StartCluster(const std::vector<std::pair<std::string, std::string>>& replace) {
    std::string policy = testing::ReadFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto");
    for (const auto& [from, to] : replace) {
      ASSERT_NE(policy.find(from), std::string::npos) << from;
      policy = absl::StrReplaceAll(policy, {{from, to}});
    }
    testing::WriteFile(dir_.Sub("policy.textproto"), policy);
    cluster_.SetExtraFlags({"--policy=" + dir_.Sub("policy.textproto")});
    ASSERT_TRUE(cluster_.StartAll().ok());
  }

  TempDir dir_;
  LocalCluster cluster_{dir_, 3, absl::Milliseconds(200)};
};

TEST_F(FleetTest, AFleetFillingUpInTheSameSecondIsToldToComeBackSpreadOverTheWindow) {
  // A node burst budget that lets the whole fleet through at once (the
  // burst limit is not what this test is about).
  StartCluster({{"automated_burst_per_minute: 600", "automated_burst_per_minute: 100000"}});
  constexpr int kClients = 1000;
  std::vector<client::QuotaClient> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(cluster_.Client(i));
  std::map<int64_t, int> per_minute;  // next_request of the 4th test, by minute
  absl::Time earliest = absl::InfiniteFuture();
  const absl::Time start = absl::Now();
  for (int c = 0; c < kClients; ++c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.", 90 + c / 200, ".", c % 200, ".1"));  // one /24 each
    req.set_user_agent("murakami/0.7");
    req.set_client_name("murakami");
    v1::AcquireResponse last;
    for (int t = 0; t < 4; ++t) {
      auto r = nodes[static_cast<size_t>(c % 3)].Acquire(req);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(r->allowed()) << "client " << c << " test " << t;
      last = *r;
    }
    const absl::Time next = absl::FromUnixSeconds(last.next_request().seconds());
    earliest = std::min(earliest, next);
    ++per_minute[absl::ToUnixSeconds(next) / 60];
  }
  std::cout << kClients << " clients filled up in " << absl::FormatDuration(absl::Now() - start)
            << "; next_request over " << per_minute.size() << " minutes\n";
  // Capacity frees when the hour they filled up in leaves the rolling window.
  EXPECT_GE(earliest, absl::Now() + absl::Hours(22));
  for (const auto& [minute, count] : per_minute) {
    EXPECT_LE(count, kClients * 6 / 100)
        << count << " clients told to come back in the same minute ("
        << absl::FormatTime(absl::FromUnixSeconds(minute * 60)) << ")";
  }
}

TEST_F(FleetTest, AFleetFiringAtOnceDoesNotReduceARegisteredIntegrationsAdmissions) {
  // A node burst budget of 100 a minute (per tier, per integration).
  StartCluster({{"automated_burst_per_minute: 600", "automated_burst_per_minute: 100"}});
  std::vector<client::QuotaClient> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(cluster_.Client(i));
  // 600 unregistered murakami clients fire at the three nodes at once: the
  // automated tier's pool (100 per node) refuses most of them.
  int fleet_admitted = 0;
  int fleet_burst_denied = 0;
  for (int c = 0; c < 600; ++c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.", 50 + c / 200, ".", c % 200, ".1"));
    req.set_user_agent("murakami/0.7");
    req.set_client_name("murakami");
    auto r = nodes[static_cast<size_t>(c % 3)].Acquire(req);
    ASSERT_TRUE(r.ok()) << r.status();
    fleet_admitted += r->allowed();
    fleet_burst_denied += r->reason() == v1::REASON_BURST_LIMIT;
  }
  EXPECT_LE(fleet_admitted, 300);
  EXPECT_GE(fleet_burst_denied, 300);
  // Right after, a registered integration (tier "2") sends 10 tests for each
  // of 20 clients through the same nodes: its own budget, all admitted.
  int partner_admitted = 0;
  for (int c = 0; c < 20; ++c) {
    for (int t = 0; t < 10; ++t) {
      v1::AcquireRequest req;
      req.set_ip(absl::StrCat("10.60.", c, ".1"));
      req.set_user_agent("partner-app/3.1");
      req.set_integration_id("partner-42");
      req.set_integration_tier("2");
      auto r = nodes[static_cast<size_t>((c + t) % 3)].Acquire(req);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->tier(), "registered-2");
      partner_admitted += r->allowed();
    }
  }
  EXPECT_EQ(partner_admitted, 200);
}

TEST_F(FleetTest, AStagedRolloutEnforcesTheSameClientsOnEveryNode) {
  // Interactive clients: limit 0 (every call over it), enforced for 25%.
  StartCluster(
      {{"tiers: \"interactive\" limit: 40 }", "tiers: \"interactive\" limit: 0 }"},
       {"tiers { name: \"interactive\" }", "tiers { name: \"interactive\" enforce_percent: 25 }"}});
  constexpr int kClients = 600;
  int refused = 0;
  for (int c = 0; c < kClients; ++c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.8.", c / 250, ".", c % 250));
    req.set_user_agent("Mozilla/5.0");
    std::vector<bool> allowed;
    for (int i = 0; i < 3; ++i) {
      auto r = cluster_.Client(i).Check(req);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->shadow_denied(), r->allowed());
      allowed.push_back(r->allowed());
    }
    EXPECT_EQ(allowed[0], allowed[1]) << "client " << c;
    EXPECT_EQ(allowed[0], allowed[2]) << "client " << c;
    refused += !allowed[0];
  }
  EXPECT_NEAR(refused, kClients / 4, kClients * 6 / 100);
}

}  // namespace
}  // namespace quotad
