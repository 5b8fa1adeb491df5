// The AUP's limit rows against a real node (deploy/policy/aup.textproto): an
// IP cap evaluated next to the IP+User-Agent cap, and a data-access quota
// scoped by service, in units per UTC day.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::QuotadProcess;
using testing::TempDir;

class AupRowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<QuotadProcess>(dir_.Sub("node"), dir_.Sub("node.log"),
                                            std::vector<std::string>{});
    ASSERT_TRUE(node_->Start().ok());
    client_ = std::make_unique<client::QuotaClient>(
        client::MakeQuotaConnection({node_->target(), absl::Seconds(10)}));
  }

  v1::AcquireResponse Acquire(const v1::AcquireRequest& req) {
    auto r = client_->Acquire(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::AcquireResponse();
  }

  static const v1::LimitStatus* Limit(const v1::AcquireResponse& r, const std::string& name) {
    for (const auto& l : r.limits()) {
      if (l.name() == name) return &l;
    }
    return nullptr;
  }

  TempDir dir_;
  std::unique_ptr<QuotadProcess> node_;
  std::unique_ptr<client::QuotaClient> client_;
};

TEST_F(AupRowsTest, ChangingTheUserAgentBuysNoMoreThanTheAddressCap) {
  // 40 a day per User-Agent, 400 per address: a script rotating its UA on
  // one IPv6 /64 gets 400, not 40 per string.
  int admitted = 0;
  v1::AcquireResponse last;
  for (int i = 0; i < 420; ++i) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("2001:db8:77:1:", absl::Hex(i + 1), "::9"));
    req.set_user_agent(absl::StrCat("rotating/", i % 15));
    last = Acquire(req);
    admitted += last.allowed();
  }
  EXPECT_EQ(admitted, 400);
  ASSERT_FALSE(last.allowed());
  EXPECT_EQ(last.reason(), v1::REASON_DAILY_LIMIT);
  ASSERT_NE(Limit(last, "ip_daily"), nullptr);
  EXPECT_TRUE(Limit(last, "ip_daily")->exceeded());
  EXPECT_EQ(Limit(last, "ip_daily")->used(), 400);
  EXPECT_FALSE(Limit(last, "client_daily")->exceeded());
}

TEST_F(AupRowsTest, ADataUserSpendsItsDailyUnitsOnDataServicesAndKeepsItsTests) {
  auto data = [](const std::string& service, int64_t cost) {
    v1::AcquireRequest req;
    req.set_ip("198.51.100.20");
    req.set_user_agent("data-client/2");
    req.set_integration_id("university-lab");
    req.set_integration_tier("data");
    req.set_service(service);
    req.set_cost(cost);
    return req;
  };
  for (int i = 0; i < 50; ++i) {
    const auto r = Acquire(data(i % 2 ? "data/bigquery" : "data/gcs", 10));
    ASSERT_TRUE(r.allowed()) << i;
    EXPECT_EQ(r.tier(), "data");
  }
  const auto over = Acquire(data("data/gcs", 1));
  EXPECT_FALSE(over.allowed());
  EXPECT_EQ(over.reason(), v1::REASON_SERVICE_QUOTA);
  ASSERT_NE(Limit(over, "data_units_daily"), nullptr);
  EXPECT_EQ(Limit(over, "data_units_daily")->used(), 500);
  EXPECT_EQ(Limit(over, "data_requests_hourly")->used(), 50);
  // The month's units and the minute's requests count the same admissions
  // (the minute may have turned meanwhile).
  ASSERT_NE(Limit(over, "data_units_monthly"), nullptr);
  EXPECT_EQ(Limit(over, "data_units_monthly")->used(), 500);
  EXPECT_FALSE(Limit(over, "data_units_monthly")->exceeded());
  ASSERT_NE(Limit(over, "data_requests_per_minute"), nullptr);
  EXPECT_LE(Limit(over, "data_requests_per_minute")->used(), 50);
  EXPECT_FALSE(Limit(over, "data_requests_per_minute")->exceeded());
  // The same user's tests are counted by tests_daily alone.
  const auto test = Acquire(data("ndt/ndt7", 1));
  EXPECT_TRUE(test.allowed());
  ASSERT_EQ(test.limits_size(), 1);
  EXPECT_EQ(test.limits(0).name(), "tests_daily");
}

}  // namespace
}  // namespace quotad
