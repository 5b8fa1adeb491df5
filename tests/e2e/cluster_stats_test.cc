// Cluster-wide stats against three real nodes: the usage distribution comes
// from merged counters (a client seen in two regions is one client), the
// decisions are each node's summed, every node is listed per region, and a
// node that cannot be reached is flagged, never dropped. And usage reports
// (metering): one integration's units per day and region, the same from every
// node, through a SIGKILL and restart, as JSON, CSV and a table.
#include <signal.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "quotad/v1/admin.pb.h"
#include "tests/testing/await.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using Cluster = testing::LocalCluster;

v1::AcquireRequest Client(const std::string& ip, const std::string& client_name = "") {
  v1::AcquireRequest req;
  req.set_ip(ip);
  req.set_user_agent("Mozilla/5.0");
  req.set_client_name(client_name);
  return req;
}

absl::StatusOr<v1::StatsResponse> Stats(Cluster& c, int i, bool cluster) {
  std::vector<std::string> args = {"--target=" + c.node(i).admin_target(),
                                   "--admin-token-file=" + c.node(i).admin_token_file(), "stats",
                                   "--json"};
  if (cluster) args.push_back("--cluster");
  auto r = testing::RunCommand(QUOTACTL_BINARY, args);
  if (r.exit_code != 0) return absl::UnavailableError(r.err);
  v1::StatsResponse stats;
  if (!google::protobuf::util::JsonStringToMessage(r.out, &stats).ok()) {
    return absl::InternalError(absl::StrCat("not a StatsResponse: ", r.out));
  }
  return stats;
}

std::map<int64_t, int64_t> Distribution(const v1::StatsResponse& s) {
  std::map<int64_t, int64_t> out;
  for (const auto& b : s.usage_distribution()) out[b.tests()] = b.clients();
  return out;
}

// Allowed (or refused for the daily limit) decisions of `tier` in the last hour.
int64_t Decided(const v1::StatsResponse& s, const std::string& tier, v1::Reason reason) {
  int64_t n = 0;
  for (const auto& d : s.decisions()) {
    if (d.tier() == tier && d.reason() == reason) n += d.last_hour();
  }
  return n;
}

TEST(ClusterStatsTest, OneViewFromMergedCountersWithEveryRegionAndUnreachableOnesFlagged) {
  testing::TempDir dir;
  Cluster c(dir, 3, absl::Milliseconds(200));
  ASSERT_TRUE(c.StartAll().ok());
  // A roams: 2 tests in n1's region, 1 in n2's. B: 1 in n3's. C (automated,
  // 4 a day): 4 in n1's region, then refused in n2's.
  const auto a = Client("192.0.2.61"), b = Client("192.0.2.62"),
             bot = Client("192.0.2.63", "murakami");
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.Client(0).Acquire(a)->allowed());
  ASSERT_TRUE(c.Client(1).Acquire(a)->allowed());
  ASSERT_TRUE(c.Client(2).Acquire(b)->allowed());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c.Client(0).Acquire(bot)->allowed());
  ASSERT_TRUE(testing::AwaitTrue("n2 has seen the bot's 4 tests", absl::Seconds(15), [&] {
                auto r = c.Client(1).Check(bot);
                return r.ok() && !r->allowed();
              }).ok());
  ASSERT_FALSE(c.Client(1).Acquire(bot)->allowed());

  // What the merged counters say: A 3 (one client), B 1, C 4.
  const std::map<int64_t, int64_t> expected = {{1, 1}, {3, 1}, {4, 1}};
  ASSERT_TRUE(testing::AwaitTrue("every node's counters merged", absl::Seconds(15), [&] {
                for (int i = 0; i < 3; ++i) {
                  auto s = Stats(c, i, false);
                  if (!s.ok() || Distribution(*s) != expected) return false;
                }
                return true;
              }).ok());

  auto all = Stats(c, 0, true);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->cluster());
  EXPECT_EQ(Distribution(*all), expected);
  EXPECT_EQ(all->active_clients(), 3);
  EXPECT_EQ(all->unreachable_nodes(), 0);
  ASSERT_EQ(all->nodes_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const v1::NodeStats& n = all->nodes(i);
    EXPECT_TRUE(n.reachable()) << n.error();
    EXPECT_EQ(n.node_id(), Cluster::Name(i));
    EXPECT_EQ(n.region(), "region-" + Cluster::Name(i));
  }
  // Decisions: each node's own, summed.
  EXPECT_EQ(Decided(all->nodes(0).stats(), "interactive", v1::REASON_ALLOWED), 2);
  EXPECT_EQ(Decided(all->nodes(1).stats(), "interactive", v1::REASON_ALLOWED), 1);
  EXPECT_EQ(Decided(all->nodes(2).stats(), "interactive", v1::REASON_ALLOWED), 1);
  EXPECT_EQ(Decided(*all, "interactive", v1::REASON_ALLOWED), 4);
  EXPECT_EQ(Decided(*all, "automated", v1::REASON_ALLOWED), 4);
  EXPECT_EQ(Decided(*all, "automated", v1::REASON_DAILY_LIMIT), 1);
  // The bot was near its limit in two regions (its 4th test; its refusal).
  int64_t near = 0;
  for (const auto& n : all->near_limit()) {
    if (n.tier() == "automated" && n.subject() == "client") near = n.count();
  }
  EXPECT_EQ(near, 2);

  // n3 goes away: listed, flagged, its figures left out; the call still answers.
  c.node(2).StopWith(SIGKILL);
  auto partial = Stats(c, 0, true);
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_EQ(partial->unreachable_nodes(), 1);
  ASSERT_EQ(partial->nodes_size(), 3);
  EXPECT_FALSE(partial->nodes(2).reachable());
  EXPECT_EQ(partial->nodes(2).node_id(), Cluster::Name(2));
  EXPECT_EQ(partial->nodes(2).region(), "region-" + Cluster::Name(2));
  EXPECT_FALSE(partial->nodes(2).error().empty());
  EXPECT_EQ(Decided(*partial, "interactive", v1::REASON_ALLOWED), 3);
  EXPECT_EQ(Distribution(*partial), expected);  // n1's merged counters still know B
  auto human =
      testing::RunCommand(QUOTACTL_BINARY, {"--target=" + c.node(0).admin_target(),
                                            "--admin-token-file=" + c.node(0).admin_token_file(),
                                            "stats", "--cluster"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("1 unreachable"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("UNREACHABLE"), std::string::npos) << human.out;
}

testing::CommandResult Quotactl(Cluster& c, int i, std::vector<std::string> args) {
  args.insert(args.begin(), {"--target=" + c.node(i).admin_target(),
                             "--admin-token-file=" + c.node(i).admin_token_file()});
  return testing::RunCommand(QUOTACTL_BINARY, args);
}

std::string Day(absl::Duration from_now) {
  return absl::FormatTime("%Y-%m-%d", absl::Now() + from_now, absl::UTCTimeZone());
}

// Node i's report for acme-probe over yesterday..tomorrow (so a test that
// spans midnight UTC still sees every charge).
absl::StatusOr<v1::UsageReport> AcmeReport(Cluster& c, int i) {
  auto r = Quotactl(c, i,
                    {"report", "--integration=acme-probe", "--from=" + Day(-absl::Hours(24)),
                     "--to=" + Day(absl::Hours(24)), "--json"});
  if (r.exit_code != 0) return absl::UnavailableError(r.err);
  v1::UsageReport report;
  if (!google::protobuf::util::JsonStringToMessage(r.out, &report).ok()) {
    return absl::InternalError(absl::StrCat("not a UsageReport: ", r.out));
  }
  return report;
}

// region -> charged, over the whole report.
std::map<std::string, int64_t> Charged(const v1::UsageReport& r) {
  std::map<std::string, int64_t> out;
  for (const auto& g : r.regions()) out[g.region()] = g.charged();
  return out;
}

TEST(UsageReportTest, OneIntegrationsUnitsPerRegionFromAnyNodeThroughARestart) {
  testing::TempDir dir;
  Cluster c(dir, 3, absl::Milliseconds(200));
  ASSERT_TRUE(c.StartAll().ok());
  auto acme = Client("192.0.2.71");
  acme.set_integration_id("acme-probe");
  for (int i = 0; i < 3; ++i) {
    acme.set_ip(absl::StrCat("192.0.2.", 71 + i));
    ASSERT_TRUE(c.Client(0).Acquire(acme)->allowed());
  }
  acme.set_cost(2);
  ASSERT_TRUE(c.Client(1).Acquire(acme)->allowed());
  const std::map<std::string, int64_t> expected = {{"region-n1", 3}, {"region-n2", 2}};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        testing::AwaitTrue(absl::StrCat("n", i + 1, " reports both regions"), absl::Seconds(15),
                           [&] {
                             auto r = AcmeReport(c, i);
                             return r.ok() && Charged(*r) == expected && r->total_units() == 5;
                           })
            .ok());
  }
  auto report = AcmeReport(c, 2);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->days_size(), 3);
  EXPECT_EQ(report->node_id(), "n3");
  for (const auto& d : report->days()) EXPECT_TRUE(d.retained()) << d.day();

  // SIGKILL: what was acknowledged was in the WAL, and stays in the report.
  c.node(0).StopWith(SIGKILL);
  ASSERT_TRUE(c.Start(0).ok());
  auto after = AcmeReport(c, 0);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(Charged(*after), expected);
  EXPECT_EQ(after->total_units(), 5);

  // CSV: a row per day for "all", then one per region with charges.
  auto csv = Quotactl(c, 2,
                      {"report", "--integration=acme-probe", "--from=" + Day(-absl::Hours(24)),
                       "--to=" + Day(absl::Hours(24)), "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  std::vector<std::string> lines = absl::StrSplit(csv.out, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "day,region,units,charged,refunded,retained");
  int64_t all = 0, n1 = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(f.size(), 6u) << lines[i];
    if (f[1] == "all") all += std::stoll(f[2]);
    if (f[1] == "region-n1") n1 += std::stoll(f[3]);
  }
  EXPECT_EQ(all, 5);
  EXPECT_EQ(n1, 3);
  // A table for people, by tier too (the default range: the last 30 days).
  auto table = Quotactl(c, 1, {"report", "--tier=interactive"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("tier \"interactive\""), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("region-n1 3, region-n2 2"), std::string::npos) << table.out;
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 2 + 30 + 1) << table.out;
  // Bad input: a clear error naming the flag's field, exit status 1.
  auto bad = Quotactl(c, 1, {"report", "--integration=acme-probe", "--from=2026-13-01"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("from"), std::string::npos) << bad.err;
  auto neither = Quotactl(c, 1, {"report"});
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_NE(neither.err.find("exactly one"), std::string::npos) << neither.err;
}

}  // namespace
}  // namespace quotad
