// Replication under load and peer outages, against real quotad processes
// built exactly as in production (their listeners come from StartListener,
// with production's message limits): a burst at one node must drain to every
// peer within seconds, and a charge made right after it must be seen
// everywhere, also when a peer was stopped during the burst and restarted.
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/quota_client.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using Cluster = testing::LocalCluster;
using testing::Await;

// Production's defaults (quotad --help).
constexpr absl::Duration kGossipInterval = absl::Milliseconds(200);
constexpr absl::Duration kAntiEntropyInterval = absl::Seconds(5);

// Client number i: a distinct IPv4 address (and so a distinct counter in
// every limit row but the /24 group).
v1::AcquireRequest NumberedClient(uint32_t i) {
  v1::AcquireRequest req;
  req.set_ip(absl::StrCat("10.", (i >> 16) & 0xff, ".", (i >> 8) & 0xff, ".", i & 0xff));
  req.set_user_agent("burst-test/1.0");
  return req;
}

// Closed-loop load of distinct clients at node `target` for `duration`
// from `threads` callers; returns the numbers of the admitted clients.
std::vector<uint32_t> Burst(Cluster& c, int target, absl::Duration duration, int threads) {
  std::atomic<uint32_t> next{0};
  std::vector<std::vector<uint32_t>> admitted(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const absl::Time end = absl::Now() + duration;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto client = c.Client(target);
      while (absl::Now() < end) {
        const uint32_t i = next.fetch_add(1);
        auto r = client.Acquire(NumberedClient(i));
        if (r.ok() && r->allowed()) admitted[static_cast<size_t>(t)].push_back(i);
      }
    });
  }
  for (auto& w : workers) w.join();
  std::vector<uint32_t> all;
  for (const auto& a : admitted) all.insert(all.end(), a.begin(), a.end());
  return all;
}

// OK when every node in `nodes` counts `expected` for `req`.
absl::Status SeenOn(Cluster& c, const std::vector<int>& nodes, const v1::AcquireRequest& req,
                    int64_t expected) {
  for (int i : nodes) {
    auto r = c.Client(i).Check(req);
    if (!r.ok()) return absl::UnavailableError(absl::StrCat(Cluster::Name(i), ": ", r.status().message()));
    if (r->limits(0).used() != expected) {
      return absl::FailedPreconditionError(absl::StrCat(Cluster::Name(i), " counts ",
                                                        r->limits(0).used(), " for ", req.ip(),
                                                        ", expected ", expected));
    }
  }
  return absl::OkStatus();
}

// Every admitted client of the burst (a sample of them, spread over it)
// is counted once on every node.
absl::Status BurstSeenEverywhere(Cluster& c, const std::vector<uint32_t>& admitted) {
  const size_t step = std::max<size_t>(1, admitted.size() / 40);
  for (size_t k = 0; k < admitted.size(); k += step) {
    if (absl::Status s = SeenOn(c, {0, 1, 2}, NumberedClient(admitted[k]), 1); !s.ok()) return s;
  }
  return absl::OkStatus();
}

class ReplicationLoadTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(ReplicationLoadTest, ABurstDrainsToEveryPeerAndAChargeRightAfterItIsSeenEverywhere) {
  Cluster c(dir_, 3, kGossipInterval, kAntiEntropyInterval);
  ASSERT_TRUE(c.StartAll().ok());
  const std::vector<uint32_t> admitted = Burst(c, 0, absl::Seconds(5), 32);
  std::cout << "burst: " << admitted.size() << " admissions at n1 in 5 s\n";
  // Three slots per admission: far more than one 64 KiB message can carry.
  ASSERT_GT(admitted.size(), 3000u) << "the burst is too small to test anything";
  v1::AcquireRequest probe;
  probe.set_ip("198.51.100.77");
  probe.set_user_agent("probe");
  ASSERT_TRUE(c.Client(0).Acquire(probe)->allowed());
  const absl::Time after = absl::Now();
  ASSERT_TRUE(Await("the probe seen on n2 and n3", absl::Seconds(10), [&] {
                return SeenOn(c, {1, 2}, probe, 1);
              }).ok());
  std::cout << "probe seen everywhere " << absl::FormatDuration(absl::Now() - after)
            << " after the burst\n";
  absl::Status drained = Await("every peer up, nothing pending", absl::Seconds(10),
                               [&] { return c.Drained(); });
  ASSERT_TRUE(drained.ok()) << drained;
  std::cout << "drained " << absl::FormatDuration(absl::Now() - after) << " after the burst\n";
  absl::Status seen = Await("the burst counted on every node", absl::Seconds(10),
                            [&] { return BurstSeenEverywhere(c, admitted); });
  EXPECT_TRUE(seen.ok()) << seen;
  auto status = c.GossipStatus(0);
  ASSERT_TRUE(status.ok());
  for (const auto& p : status->peers()) {
    EXPECT_EQ(p.errors_by_code().count("RESOURCE_EXHAUSTED"), 0u) << p.ShortDebugString();
    EXPECT_GT(p.batches_sent(), 1u) << p.ShortDebugString();
  }
}

TEST_F(ReplicationLoadTest, APeerStoppedDuringABurstCatchesUpAfterItsRestart) {
  Cluster c(dir_, 3, kGossipInterval, kAntiEntropyInterval);
  ASSERT_TRUE(c.StartAll().ok());
  std::vector<uint32_t> admitted;
  std::thread load([&] { admitted = Burst(c, 0, absl::Seconds(5), 32); });
  // n3 goes down once part of the burst has reached it.
  absl::Status absorbed = Await("n3 absorbs part of the burst", absl::Seconds(10), [&] {
    auto status = c.GossipStatus(2);
    if (!status.ok()) return status.status();
    return status->slots_applied() > 1000
               ? absl::OkStatus()
               : absl::UnavailableError(absl::StrCat(status->slots_applied(), " slots applied"));
  });
  ASSERT_TRUE(absorbed.ok()) << absorbed;
  EXPECT_EQ(c.node(2).StopWith(SIGTERM), 0);
  load.join();
  std::cout << "burst: " << admitted.size() << " admissions at n1, n3 down for most of it\n";
  ASSERT_GT(admitted.size(), 3000u) << "the burst is too small to test anything";
  ASSERT_TRUE(c.Start(2).ok());
  const absl::Time restarted = absl::Now();
  v1::AcquireRequest probe;
  probe.set_ip("198.51.100.78");
  probe.set_user_agent("probe");
  ASSERT_TRUE(c.Client(0).Acquire(probe)->allowed());
  absl::Status probe_seen = Await("the probe seen on n2 and n3", absl::Seconds(10), [&] {
    return SeenOn(c, {1, 2}, probe, 1);
  });
  ASSERT_TRUE(probe_seen.ok()) << probe_seen;
  absl::Status drained = Await("every peer up, nothing pending", absl::Seconds(15),
                               [&] { return c.Drained(); });
  ASSERT_TRUE(drained.ok()) << drained;
  std::cout << "drained " << absl::FormatDuration(absl::Now() - restarted)
            << " after the restart\n";
  absl::Status seen = Await("the burst counted on every node", absl::Seconds(15),
                            [&] { return BurstSeenEverywhere(c, admitted); });
  EXPECT_TRUE(seen.ok()) << seen;
}

}  // namespace
}  // namespace quotad
