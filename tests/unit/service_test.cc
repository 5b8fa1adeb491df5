// The gRPC adapter over a real loopback server: status codes and messages
// reach the caller as the contract says.
#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/rpc/offload.h"
#include "quotad/server/listeners.h"
#include "quotad/service/quota_service.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/fault_injecting_store.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

class QuotaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RocksDbOptions options;
    options.path = dir_.Sub("db");
    rocks_ = std::move(RocksDbCounterStore::Open(options).value());
    store_ = std::make_unique<testing::FaultInjectingStore>(rocks_.get());
    policy_ = std::make_unique<PolicyHolder>(
        CompiledPolicy::FromFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto").value());
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 'k')).value());
    admission_ = std::make_unique<AdmissionController>(store_.get(), policy_.get(), hasher_.get(),
                                                       RealClock::Real(), nullptr,
                                                       AdmissionOptions{"n1", "eu"});
    service_ = std::make_unique<QuotaServiceImpl>(admission_.get());
    auto listener = StartListener(ListenerKind::kQuota, "127.0.0.1:0", {service_.get()});
    ASSERT_TRUE(listener.ok()) << listener.status();
    server_ = std::move(listener->server);
    const int port = listener->port;
    client_ = std::make_unique<client::QuotaClient>(client::MakeQuotaConnection(
        {"127.0.0.1:" + std::to_string(port), absl::Seconds(5)}));
  }
  void TearDown() override { server_->Shutdown(); }

  testing::TempDir dir_;
  std::unique_ptr<RocksDbCounterStore> rocks_;
  std::unique_ptr<testing::FaultInjectingStore> store_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::unique_ptr<AdmissionController> admission_;
  std::unique_ptr<QuotaServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<client::QuotaClient> client_;
};

TEST_F(QuotaServiceTest, AcquireCheckRefundRoundTrip) {
  v1::AcquireRequest req;
  req.set_ip("2001:db8::5");
  req.set_user_agent("ndt7-js/0.1");
  req.set_request_id("r1");
  auto acquired = client_->Acquire(req);
  ASSERT_TRUE(acquired.ok()) << acquired.status();
  EXPECT_TRUE(acquired->allowed());
  EXPECT_EQ(acquired->tier(), "interactive");
  EXPECT_EQ(acquired->node_id(), "n1");
  auto checked = client_->Check(req);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->limits(0).used(), 1);
  v1::RefundRequest refund;
  refund.set_request_id("r1");
  auto refunded = client_->Refund(refund);
  ASSERT_TRUE(refunded.ok());
  EXPECT_TRUE(refunded->refunded());
  EXPECT_EQ(client_->Check(req)->limits(0).used(), 0);
}

TEST_F(QuotaServiceTest, BadInputIsInvalidArgumentOverTheWire) {
  v1::AcquireRequest req;
  req.set_ip("not-an-ip");
  for (auto result : {client_->Acquire(req), client_->Check(req)}) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("ip: "));
  }
  req.set_ip("192.0.2.1");
  req.set_cost(0);
  EXPECT_THAT(std::string(client_->Acquire(req).status().message()), HasSubstr("cost: "));
  v1::RefundRequest refund;
  auto r = client_->Refund(refund);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("request_id"));
  refund.set_request_id("unknown");
  EXPECT_EQ(client_->Refund(refund).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->commits(), 0);
}

TEST_F(QuotaServiceTest, StorageFailureIsUnavailableOverTheWire) {
  store_->FailCommits(true);
  v1::AcquireRequest req;
  req.set_ip("192.0.2.1");
  auto r = client_->Acquire(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  store_->FailCommits(false);
  EXPECT_EQ(client_->Check(req)->limits(0).used(), 0);
}

// `service` on a quota listener of its own (built as in production) and a
// client for it; the listener shuts down with it.
struct OwnListener {
  explicit OwnListener(grpc::Service* service)
      : listener(StartListener(ListenerKind::kQuota, "127.0.0.1:0", {service})),
        target("127.0.0.1:" + std::to_string(listener.ok() ? listener->port : 0)),
        client(client::MakeQuotaConnection({target, absl::Seconds(5)})) {}
  ~OwnListener() {
    if (listener.ok()) listener->server->Shutdown();
  }
  absl::StatusOr<Listener> listener;
  std::string target;
  client::QuotaClient client;
};

TEST_F(QuotaServiceTest, CallsPastTheInFlightBoundAreRefusedAtOnceAndChargeNothing) {
  QuotaServiceImpl bounded(admission_.get(), nullptr, nullptr, /*max_inflight_calls=*/1);
  OwnListener own(&bounded);
  ASSERT_TRUE(own.listener.ok());
  client::QuotaClient& client = own.client;
  absl::Notification writing, release;
  store_->HoldFirstCommit(&writing, &release);
  v1::AcquireRequest first;
  first.set_ip("192.0.2.1");
  std::thread held([&] { EXPECT_TRUE(client.Acquire(first).ok()); });
  writing.WaitForNotification();  // the first call is in flight, inside its write
  v1::AcquireRequest second;
  second.set_ip("192.0.2.2");
  auto refused = client.Acquire(second);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("overloaded"));
  release.Notify();
  held.join();
  EXPECT_EQ(client.Check(second)->limits(0).used(), 0);
  EXPECT_EQ(client.Check(first)->limits(0).used(), 1);
}

TEST_F(QuotaServiceTest, ACallWhoseDeadlinePassesWhileItsWriteWaitsIsNotCharged) {
  // The controller reads deadlines on its clock: a fake one, advanced past
  // the call's deadline before the held write is released (the server's
  // copy of a gRPC deadline can be a little later than the client's).
  FakeClock clock(absl::Now());
  AdmissionController admission(store_.get(), policy_.get(), hasher_.get(), &clock, nullptr,
                                AdmissionOptions{"n1", "eu"});
  QuotaServiceImpl service(&admission);
  OwnListener own(&service);
  ASSERT_TRUE(own.listener.ok());
  client::QuotaClient& client = own.client;
  absl::Notification writing, release;
  store_->HoldFirstCommit(&writing, &release);
  v1::AcquireRequest first;
  first.set_ip("192.0.2.1");
  std::thread held([&] { EXPECT_TRUE(client.Acquire(first).ok()); });
  writing.WaitForNotification();
  // This call queues behind the held write and gives up after 200 ms.
  client::QuotaClient impatient(
      client::MakeQuotaConnection({own.target, absl::Milliseconds(200)}));
  v1::AcquireRequest second;
  second.set_ip("192.0.2.2");
  EXPECT_EQ(impatient.Acquire(second).status().code(), absl::StatusCode::kDeadlineExceeded);
  clock.Advance(absl::Seconds(10));
  release.Notify();
  held.join();
  admission.WaitForIdle();
  EXPECT_EQ(client.Check(second)->limits(0).used(), 0);
  EXPECT_EQ(client.Check(first)->limits(0).used(), 1);
}

// Calls that wait on peers run off the callback threads: at most N at once,
// and the Offloader outlives none of them.
TEST(OffloaderTest, RunsAtMostNAtOnceAndWaitsForThemWhenDestroyed) {
  absl::Notification release;
  std::atomic<int> finished{0};
  {
    rpc::Offloader offloader(2);
    auto task = [&] {
      release.WaitForNotification();
      finished.fetch_add(1);
    };
    ASSERT_TRUE(offloader.TryRun(task));
    ASSERT_TRUE(offloader.TryRun(task));
    EXPECT_FALSE(offloader.TryRun(task));  // both still run
    release.Notify();
  }  // waits for both
  EXPECT_EQ(finished.load(), 2);
}

}  // namespace
}  // namespace quotad
