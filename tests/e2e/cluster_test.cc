// Multi-region tests: real quotad processes on 127.0.0.1, each link between
// two nodes through a FaultProxy (delay, resets, partitions in user space).
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "absl/strings/match.h"
#include "quotad/identity/identity_hasher.h"
#include "quotad/storage/keys.h"
#include "quotad/v1/gossip.grpc.pb.h"
#include "quotad/common/status_macros.h"
#include "tests/testing/await.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::FaultProxy;
using testing::QuotadProcess;
using testing::TempDir;

constexpr absl::Duration kGossipInterval = absl::Milliseconds(200);
using Cluster = testing::LocalCluster;

v1::AcquireRequest Client(const std::string& ip, const std::string& ua = "Mozilla/5.0") {
  v1::AcquireRequest req;
  req.set_ip(ip);
  req.set_user_agent(ua);
  return req;
}

int64_t Used(Cluster& c, int i, const v1::AcquireRequest& req) {
  auto r = c.Client(i).Check(req);
  return r.ok() ? r->limits(0).used() : -1;
}

// OK when every node in `nodes` (default: all) reports `expected` for `req`.
absl::Status CountsOn(Cluster& c, const v1::AcquireRequest& req, int64_t expected,
                      std::vector<int> nodes = {}) {
  if (nodes.empty()) {
    for (int i = 0; i < c.size(); ++i) nodes.push_back(i);
  }
  std::string seen;
  bool all = true;
  for (int i : nodes) {
    const int64_t used = Used(c, i, req);
    absl::StrAppend(&seen, Cluster::Name(i), "=", used, " ");
    all &= used == expected;
  }
  if (all) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("expected ", expected, ", saw ", seen));
}

// Waits until every node reports `expected` for `req`; returns the time it took.
absl::StatusOr<absl::Duration> AwaitEverywhere(Cluster& c, const v1::AcquireRequest& req,
                                               int64_t expected,
                                               absl::Duration timeout = absl::Seconds(15)) {
  const absl::Time start = absl::Now();
  QUOTAD_RETURN_IF_ERROR(testing::Await(absl::StrCat(req.ip(), " counted everywhere"), timeout,
                                        [&] { return CountsOn(c, req, expected); }));
  return absl::Now() - start;
}

class ClusterTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(ClusterTest, AClientRefusedInOneRegionIsRefusedInAllOthers) {
  Cluster c(dir_, 3, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  const auto req = Client("192.0.2.40");
  auto frankfurt = c.Client(0);
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(frankfurt.Acquire(req)->allowed()) << i;
  auto took = AwaitEverywhere(c, req, 40);
  ASSERT_TRUE(took.ok()) << took.status();
  std::cout << "converged on 3 nodes in " << absl::FormatDuration(*took) << "\n";
  for (int i = 1; i < 3; ++i) {
    auto r = c.Client(i).Acquire(req);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->allowed()) << "node " << i;
    EXPECT_EQ(r->reason(), v1::REASON_DAILY_LIMIT);
  }
}

TEST_F(ClusterTest, PartitionedRegionsAgreeOnTheExactSumAfterHealing) {
  Cluster c(dir_, 3, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  c.SetDelay(absl::Milliseconds(50));
  c.Partition({2}, true);
  const auto req = Client("2001:db8::77", "partition-test");
  auto a = c.Client(0), b = c.Client(1), island = c.Client(2);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(a.Acquire(req)->allowed());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Acquire(req)->allowed());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(island.Acquire(req)->allowed());
  // The majority side converges among itself; the island sees only itself
  // (it is cut off, so nothing can reach it: no wait needed to show that).
  absl::Status majority = testing::Await("the majority side agrees on 15", absl::Seconds(10),
                                         [&] { return CountsOn(c, req, 15, {0, 1}); });
  ASSERT_TRUE(majority.ok()) << majority;
  EXPECT_EQ(Used(c, 2, req), 7);
  c.Partition({2}, false);
  auto took = AwaitEverywhere(c, req, 22);
  ASSERT_TRUE(took.ok()) << took.status();
  std::cout << "healed and agreed on 22 in " << absl::FormatDuration(*took) << "\n";
}

TEST_F(ClusterTest, LossyDelayedLinksStillConvergeExactly) {
  Cluster c(dir_, 3, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  c.SetDelay(absl::Milliseconds(100));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i != j) c.proxy(i, j).SetResetProbability(0.2);  // "loss": links keep breaking
    }
  }
  const auto req = Client("192.0.2.88", "lossy");
  int total = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(c.Client(i).Acquire(req)->allowed());
      ++total;
    }
  }
  auto took = AwaitEverywhere(c, req, total, absl::Seconds(30));
  ASSERT_TRUE(took.ok()) << took.status();
  std::cout << "converged over lossy 100 ms links in " << absl::FormatDuration(*took) << "\n";
}

TEST_F(ClusterTest, KilledAndWipedNodesLoseNoAcknowledgedCharge) {
  Cluster c(dir_, 3, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  const auto req = Client("198.51.100.50", "wipe-test");
  std::atomic<int> acked{0};
  // Load on node 1 (index 1) until it is killed under us.
  {
    auto victim = c.Client(1);
    std::thread load([&] {
      for (int i = 0; i < 30; ++i) {
        auto r = victim.Acquire(req);
        if (!r.ok()) break;
        if (r->allowed()) ++acked;
      }
    });
    ASSERT_TRUE(testing::AwaitTrue("5 charges acknowledged", absl::Seconds(10),
                                   [&] { return acked.load() >= 5; }, absl::Milliseconds(1))
                    .ok());
    c.node(1).StopWith(SIGKILL);
    load.join();
  }
  const int after_kill = acked.load();
  // Restart with its data dir: every acknowledged charge is still counted,
  // at most one more (in flight at the kill) may have landed.
  ASSERT_TRUE(c.Start(1).ok());
  const int64_t used = Used(c, 1, req);
  EXPECT_GE(used, after_kill);
  EXPECT_LE(used, after_kill + 1);
  ASSERT_TRUE(AwaitEverywhere(c, req, used).ok());

  // More charges from the new incarnation, then SIGKILL and an empty data dir.
  auto node1 = c.Client(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(node1.Acquire(req)->allowed());
  ASSERT_TRUE(AwaitEverywhere(c, req, used + 3).ok());
  c.node(1).StopWith(SIGKILL);
  ASSERT_TRUE(c.Start(1, /*wipe=*/true).ok());
  // The wiped node relearns its earlier slots from its peers; no slot regresses.
  auto took = AwaitEverywhere(c, req, used + 3);
  ASSERT_TRUE(took.ok()) << took.status();
  // Its new increments add on top everywhere.
  auto fresh = c.Client(1);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(fresh.Acquire(req)->allowed());
  ASSERT_TRUE(AwaitEverywhere(c, req, used + 5).ok());
}

TEST_F(ClusterTest, BadPeersAreRejectedCountedAndTheNodeKeepsServing) {
  Cluster c(dir_, 2, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", c.node(0).peer_port()),
                                     grpc::InsecureChannelCredentials());
  auto gossip = v1::GossipService::NewStub(channel);
  auto push = [&](const v1::PushRequest& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::PushResponse resp;
    grpc::Status s = gossip->Push(&ctx, req, &resp);
    return std::make_pair(s, resp);
  };
  CounterId id{KeySpace::kClient, {}};
  id.hash.fill(0x42);
  const uint32_t now_hour = static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()) / 3600);
  v1::PushRequest good;
  good.set_from_node_id("n2");
  good.set_to_node_id("n1");
  good.set_from_origin(12345);
  good.add_key_fingerprints(IdentityHasher::FromKeyFile(c.key_file()).value()->KeyFingerprint());
  auto* slot = good.add_slots();
  slot->set_key(EncodeCounterKey(id, now_hour, 12345, CountKind::kCharged));
  slot->set_value(3);

  auto unknown = good;
  unknown.set_from_node_id("mallory");
  EXPECT_EQ(push(unknown).first.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  auto wrong_target = good;
  wrong_target.set_to_node_id("n7");
  EXPECT_EQ(push(wrong_target).first.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto garbage = good;
  garbage.mutable_slots(0)->set_key("\x07garbage");
  EXPECT_EQ(push(garbage).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto other_key = good;
  other_key.set_key_fingerprints(0, "0123456789abcdef");
  EXPECT_EQ(push(other_key).first.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto value_too_large = good;
  value_too_large.mutable_slots(0)->set_value(uint64_t{1} << 63);
  EXPECT_EQ(push(value_too_large).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto foreign = good;
  foreign.mutable_slots(0)->set_key(EncodeCounterKey(id, now_hour, 999, CountKind::kCharged));
  EXPECT_EQ(push(foreign).first.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto future = good;
  future.mutable_slots(0)->set_key(EncodeCounterKey(id, now_hour + 10, 12345, CountKind::kCharged));
  auto [future_status, future_resp] = push(future);
  EXPECT_TRUE(future_status.ok());
  EXPECT_EQ(future_resp.rejected(), 1u);
  EXPECT_EQ(future_resp.applied(), 0u);
  auto [ok_status, ok_resp] = push(good);
  EXPECT_TRUE(ok_status.ok());
  EXPECT_EQ(ok_resp.applied(), 1u);
  EXPECT_EQ(push(good).second.stale(), 1u);  // idempotent replay

  grpc::ClientContext ctx;
  v1::GossipStatusResponse status;
  ASSERT_TRUE(gossip->Status(&ctx, v1::GossipStatusRequest(), &status).ok());
  EXPECT_EQ(status.rejected_unknown_node(), 1u);
  EXPECT_EQ(status.rejected_wrong_target(), 1u);
  EXPECT_EQ(status.rejected_malformed(), 2u);  // garbage key, value too large
  EXPECT_EQ(status.rejected_key_mismatch(), 1u);
  EXPECT_EQ(status.rejected_foreign_origin(), 1u);
  EXPECT_EQ(status.rejected_future_bucket(), 1u);
  EXPECT_GE(status.slots_applied(), 1u);
  ASSERT_EQ(status.peers_size(), 1);
  EXPECT_EQ(status.peers(0).node_id(), "n2");
  EXPECT_TRUE(c.node(0).Running());
  EXPECT_TRUE(c.Client(0).Acquire(Client("192.0.2.1"))->allowed());

  // A real node restarted with another identity key: refused, and shown.
  c.SetExtraFlags({"--hash_key_file=" + dir_.Sub("another.key")});
  ASSERT_TRUE(c.Start(1).ok());
  absl::Status shown = testing::Await("n1 shows n2's other key", absl::Seconds(15), [&] {
    auto r = testing::RunCommand(
        QUOTACTL_BINARY, {"--target=" + c.node(0).admin_target(),
                          "--admin-token-file=" + c.node(0).admin_token_file(), "cluster",
                          "status"});
    if (absl::StrContains(r.out, "IDENTITY KEY DIFFERS")) return absl::OkStatus();
    return absl::UnavailableError(r.out + r.err);
  });
  EXPECT_TRUE(shown.ok()) << shown;
}

TEST_F(ClusterTest, ABanSetInOneRegionAppliesInEveryRegion) {
  Cluster c(dir_, 3, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  auto admin = testing::RunCommand(
      QUOTACTL_BINARY, {"--target=" + c.node(0).admin_target(),
                        "--admin-token-file=" + c.node(0).admin_token_file(), "ban",
                        "--prefix=203.0.113.0/24", "--for=1h", "--reason=abuse"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  const auto req = Client("203.0.113.50");
  auto banned_everywhere = [&] {
    for (int i = 0; i < 3; ++i) {
      auto r = c.Client(i).Check(req);
      if (!r.ok() || r->reason() != v1::REASON_BANNED) return false;
    }
    return true;
  };
  EXPECT_TRUE(testing::AwaitTrue("the ban applies on every node", absl::Seconds(10),
                                 banned_everywhere).ok());
  // Cluster status from another region names every peer, up, with its region.
  auto status = testing::RunCommand(
      QUOTACTL_BINARY, {"--target=" + c.node(2).admin_target(),
                        "--admin-token-file=" + c.node(2).admin_token_file(), "cluster", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, ::testing::HasSubstr("region-n1"));
  EXPECT_THAT(status.out, ::testing::HasSubstr("region-n2"));
  EXPECT_THAT(status.out, ::testing::Not(::testing::HasSubstr("DOWN")));
  // Lifting it in a third region lifts it everywhere.
  auto unban = testing::RunCommand(
      QUOTACTL_BINARY, {"--target=" + c.node(1).admin_target(),
                        "--admin-token-file=" + c.node(1).admin_token_file(), "unban",
                        "--prefix=203.0.113.0/24"});
  ASSERT_EQ(unban.exit_code, 0) << unban.err;
  auto lifted_everywhere = [&] {
    for (int i = 0; i < 3; ++i) {
      auto r = c.Client(i).Check(req);
      if (!r.ok() || !r->allowed()) return false;
    }
    return true;
  };
  EXPECT_TRUE(testing::AwaitTrue("the ban is lifted on every node", absl::Seconds(10),
                                 lifted_everywhere).ok());
}

TEST_F(ClusterTest, ANodeStartingLaterServesTheBansItsPeersHoldFromItsFirstCall) {
  // Anti-entropy far away: only the start-up sync can bring the ban.
  Cluster c(dir_, 2, kGossipInterval, /*anti_entropy_interval=*/absl::Hours(1));
  ASSERT_TRUE(c.Start(0).ok());
  auto ban = testing::RunCommand(
      QUOTACTL_BINARY, {"--target=" + c.node(0).admin_target(),
                        "--admin-token-file=" + c.node(0).admin_token_file(), "ban",
                        "--prefix=203.0.113.0/24"});
  ASSERT_EQ(ban.exit_code, 0) << ban.err;
  ASSERT_TRUE(c.Start(1).ok());  // returns once n2 serves, after its start-up sync
  auto r = c.Client(1).Check(Client("203.0.113.9"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->reason(), v1::REASON_BANNED);
}

// Overshoot: one client alternating regions faster than gossip converges.
// Bound (docs/consistency.md): a node decides on a view at most
// L = 2*T_gossip + 2*d (+ processing slack) old, so with total request rate R
// over N nodes, the admissions it cannot see are at most R * L * (N-1)/N.
TEST_F(ClusterTest, OvershootOfAClientAlternatingRegionsStaysWithinTheBound) {
  constexpr int kNodes = 3;
  Cluster c(dir_, kNodes, kGossipInterval);
  ASSERT_TRUE(c.StartAll().ok());
  const absl::Duration delay = absl::Milliseconds(20);
  c.SetDelay(delay);
  std::vector<client::QuotaClient> clients;
  for (int i = 0; i < kNodes; ++i) clients.push_back(c.Client(i));
  const auto req = Client("203.0.113.99", "overshoot-test");
  const absl::Duration spacing = absl::Milliseconds(20);  // R = 50/s
  int admitted = 0;
  int attempts = 0;
  const absl::Time start = absl::Now();
  for (; attempts < 120; ++attempts) {
    const absl::Time due = start + spacing * attempts;
    if (absl::Now() < due) absl::SleepFor(due - absl::Now());
    auto r = clients[static_cast<size_t>(attempts % kNodes)].Acquire(req);
    ASSERT_TRUE(r.ok()) << r.status();
    admitted += r->allowed();
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = attempts / seconds;
  const double lag = absl::ToDoubleSeconds(2 * kGossipInterval + 2 * delay) + 0.1;
  const double bound = std::ceil(rate * lag * (kNodes - 1) / kNodes);
  const int overshoot = admitted - 40;
  std::cout << "overshoot: admitted " << admitted << " of limit 40 at " << rate
            << " req/s over " << kNodes << " nodes; bound " << bound << "\n";
  EXPECT_GE(admitted, 40);
  EXPECT_LE(overshoot, bound);
  // And once gossip settles, every node agrees on the real total.
  ASSERT_TRUE(AwaitEverywhere(c, req, admitted).ok());
}

}  // namespace
}  // namespace quotad
