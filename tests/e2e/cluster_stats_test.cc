// Cluster-wide stats against three real nodes: the usage distribution comes
// from merged counters (a client seen in two regions is one client), the
// decisions are each node's summed, every node is listed per region, and a
// node that cannot be reached is flagged, never dropped.
#include <signal.h>

#include <map>

#include "absl/strings/str_cat.h"
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

}  // namespace
}  // namespace quotad
