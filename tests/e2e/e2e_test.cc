// End-to-end tests: the real quotad binary on 127.0.0.1 (a free port), driven
// through the real quotactl and the client library.
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::QuotadProcess;
using testing::ReadFile;
using testing::RunCommand;
using testing::RunQuotadToExit;
using testing::TempDir;
using testing::WriteFile;

constexpr char kDefaultPolicy[] = QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto";

class EndToEndTest : public ::testing::Test {
 protected:
  std::unique_ptr<QuotadProcess> StartNode(std::vector<std::string> args = {},
                                           const std::string& name = "node") {
    auto node = std::make_unique<QuotadProcess>(dir_.Sub(name), dir_.Sub(name + ".log"), args);
    absl::Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s;
    return node;
  }

  testing::CommandResult Quotactl(const QuotadProcess& node, std::vector<std::string> args) {
    args.insert(args.begin(), "--target=" + node.target());
    return RunCommand(QUOTACTL_BINARY, args);
  }

  static v1::AcquireResponse ParseJson(const std::string& json) {
    v1::AcquireResponse resp;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &resp).ok()) << json;
    return resp;
  }

  static client::QuotaClient Client(const QuotadProcess& node) {
    return client::QuotaClient(client::MakeQuotaConnection({node.target(), absl::Seconds(10)}));
  }

  static int64_t UsedBy(client::QuotaClient& client, const v1::AcquireRequest& req) {
    auto r = client.Check(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->limits(0).used() : -1;
  }

  TempDir dir_;
};

TEST_F(EndToEndTest, QuotactlAcquireCheckRefundWithJsonAndHumanOutput) {
  auto node = StartNode();
  auto r = Quotactl(*node, {"acquire", "--ip=192.0.2.7", "--user-agent=ndt7-js/0.1",
                            "--service=ndt/ndt7", "--request-id=req-1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Proto field names are kept in the JSON.
  EXPECT_THAT(r.out, HasSubstr("\"allowed\":true"));
  EXPECT_THAT(r.out, HasSubstr("\"tier\":\"interactive\""));
  EXPECT_THAT(r.out, HasSubstr("\"next_request\""));
  auto resp = ParseJson(r.out);
  EXPECT_TRUE(resp.allowed());
  EXPECT_EQ(resp.limits(0).used(), 1);
  EXPECT_EQ(resp.node_id(), "test-node");

  auto human = Quotactl(*node, {"check", "--ip=192.0.2.7", "--user_agent=ndt7-js/0.1"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_THAT(human.out, HasSubstr("ALLOWED"));
  EXPECT_THAT(human.out, HasSubstr("client_daily: 1/40 used"));

  auto refund = Quotactl(*node, {"refund", "--request-id=req-1", "--json"});
  ASSERT_EQ(refund.exit_code, 0) << refund.err;
  EXPECT_THAT(refund.out, HasSubstr("\"refunded\":true"));
  auto after = Quotactl(*node, {"check", "--ip=192.0.2.7", "--user-agent=ndt7-js/0.1", "--json"});
  EXPECT_EQ(ParseJson(after.out).limits(0).used(), 0);

  // A replay after the refund says so and charges nothing; the request_id
  // cannot be reused for another client.
  auto replay = Quotactl(*node, {"acquire", "--ip=192.0.2.7", "--user-agent=ndt7-js/0.1",
                                 "--request-id=req-1", "--json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_TRUE(ParseJson(replay.out).replayed());
  EXPECT_TRUE(ParseJson(replay.out).refunded());
  auto stolen = Quotactl(*node, {"acquire", "--ip=192.0.2.8", "--user-agent=ndt7-js/0.1",
                                 "--request-id=req-1"});
  EXPECT_NE(stolen.exit_code, 0);
  EXPECT_THAT(stolen.err, HasSubstr("request_id: already used for another client"));
  auto untouched = Quotactl(*node, {"check", "--ip=192.0.2.8", "--user-agent=ndt7-js/0.1", "--json"});
  EXPECT_EQ(ParseJson(untouched.out).limits(0).used(), 0);
}

TEST_F(EndToEndTest, AHostRotatingItsPrivacyAddressesGetsFortyNotFortyPerAddress) {
  auto node = StartNode();
  auto client = Client(*node);
  v1::AcquireRequest req;
  req.set_user_agent("ndt7-js/0.1");
  for (int i = 0; i < 40; ++i) {
    req.set_ip(absl::StrCat("2001:db8:42:7:", absl::Hex((i * 7919 + 1) % 65536), "::1"));
    auto r = client.Acquire(req);
    ASSERT_TRUE(r.ok() && r->allowed()) << i;
  }
  req.set_ip("2001:db8:42:7:abcd:ef01:2345:6789");
  auto denied = client.Acquire(req);
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->reason(), v1::REASON_DAILY_LIMIT);
}

TEST_F(EndToEndTest, QuotactlExitCodes) {
  auto node = StartNode();
  // A denial is a successful call: exit 0.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(Quotactl(*node, {"acquire", "--ip=192.0.2.9", "--client-name=murakami"}).exit_code, 0);
  }
  auto denied = Quotactl(*node, {"acquire", "--ip=192.0.2.9", "--client-name=murakami", "--json"});
  EXPECT_EQ(denied.exit_code, 0);
  EXPECT_THAT(denied.out, HasSubstr("\"allowed\":false"));
  EXPECT_THAT(denied.out, HasSubstr("\"reason\":\"REASON_DAILY_LIMIT\""));
  EXPECT_THAT(denied.out, HasSubstr("\"retry_after\""));
  // RPC errors: 1, with the status and the field.
  auto bad_ip = Quotactl(*node, {"acquire", "--ip=300.1.1.1"});
  EXPECT_EQ(bad_ip.exit_code, 1);
  EXPECT_THAT(bad_ip.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad_ip.err, HasSubstr("ip: "));
  auto bad_cost = Quotactl(*node, {"acquire", "--ip=192.0.2.1", "--cost=-1"});
  EXPECT_EQ(bad_cost.exit_code, 1);
  EXPECT_THAT(bad_cost.err, HasSubstr("cost: "));
  auto bad_tier = Quotactl(*node, {"acquire", "--ip=192.0.2.1", "--integration-id=x",
                                   "--integration-tier=gold"});
  EXPECT_EQ(bad_tier.exit_code, 1);
  EXPECT_THAT(bad_tier.err, HasSubstr("integration_tier: "));
  auto unknown_refund = Quotactl(*node, {"refund", "--request-id=nope"});
  EXPECT_EQ(unknown_refund.exit_code, 1);
  EXPECT_THAT(unknown_refund.err, HasSubstr("NOT_FOUND"));
  auto unreachable = RunCommand(QUOTACTL_BINARY, {"--target=127.0.0.1:1", "--timeout=1s",
                                                  "acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(unreachable.exit_code, 1);
  // Usage errors: 2.
  EXPECT_EQ(Quotactl(*node, {}).exit_code, 2);
  EXPECT_EQ(Quotactl(*node, {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Quotactl(*node, {"acquire"}).exit_code, 2);
  EXPECT_EQ(Quotactl(*node, {"refund"}).exit_code, 2);
  EXPECT_NE(Quotactl(*node, {"acquire", "--no-such-flag=1", "--ip=192.0.2.1"}).exit_code, 0);
}

TEST_F(EndToEndTest, SixtyFourConcurrentAcquiresAdmitExactlyForty) {
  auto node = StartNode();
  auto client = Client(*node);
  v1::AcquireRequest req;
  req.set_ip("2001:db8::40");
  req.set_user_agent("Mozilla/5.0");
  std::atomic<int> allowed{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&] {
      auto r = client.Acquire(req);
      if (!r.ok()) {
        ++errors;
      } else if (r->allowed()) {
        ++allowed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(allowed.load(), 40);
  EXPECT_EQ(UsedBy(client, req), 40);
}

class CrashTest : public EndToEndTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CrashTest, AcknowledgedChargesSurviveSigkill) {
  std::vector<std::string> args;
  if (GetParam()) args.push_back("--sync_writes");
  auto node = StartNode(args);
  constexpr int kClients = 8;
  std::atomic<int> acked[kClients] = {};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = Client(*node);
      v1::AcquireRequest req;
      req.set_ip(absl::StrCat("10.", c, ".0.1"));
      req.set_user_agent("crash-test");
      while (!stop.load()) {
        auto r = client.Acquire(req);
        if (!r.ok()) break;  // the node died under us
        if (r->allowed()) ++acked[c];
        if (acked[c] == 40) break;
      }
    });
  }
  // Let load build up, then kill -9 in the middle of it.
  ASSERT_TRUE(testing::AwaitTrue("10 charges acknowledged", absl::Seconds(10),
                                 [&] { return acked[0].load() >= 10; }, absl::Milliseconds(1))
                  .ok());
  EXPECT_EQ(node->StopWith(SIGKILL), 128 + SIGKILL);
  stop = true;
  for (auto& t : threads) t.join();

  auto restarted = StartNode(args);
  auto client = Client(*restarted);
  int total = 0;
  for (int c = 0; c < kClients; ++c) {
    v1::AcquireRequest req;
    req.set_ip(absl::StrCat("10.", c, ".0.1"));
    req.set_user_agent("crash-test");
    const int64_t used = UsedBy(client, req);
    // Every acknowledged charge is there; at most the one in flight at the
    // kill may also have landed without its reply.
    EXPECT_GE(used, acked[c].load()) << "client " << c;
    EXPECT_LE(used, acked[c].load() + 1) << "client " << c;
    total += acked[c].load();
  }
  EXPECT_GT(total, 10);
}

INSTANTIATE_TEST_SUITE_P(WalModes, CrashTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "SyncWrites" : "WalNoFsync"; });

TEST_F(EndToEndTest, RawIdentitiesNeverReachDiskOrInfoLogs) {
  const std::string ip4 = "198.51.100.123";
  const std::string ip6 = "2001:db8:dead:beef::77";
  const std::string ua = "PrivacyCanary/1.0 (unique-ua-7781)";
  auto node = StartNode();
  auto client = Client(*node);
  for (const std::string& ip : {ip4, ip6}) {
    for (int i = 0; i < 3; ++i) {
      v1::AcquireRequest req;
      req.set_ip(ip);
      req.set_user_agent(ua);
      req.set_request_id(absl::StrCat("canary-request-", ip, "-", i));
      ASSERT_TRUE(client.Acquire(req).ok());
    }
    v1::AcquireRequest bad;  // errors must not leak identities either
    bad.set_ip(ip);
    bad.set_user_agent(ua);
    bad.set_cost(-1);
    ASSERT_FALSE(client.Acquire(bad).ok());
  }
  ASSERT_EQ(node->StopWith(SIGTERM), 0);  // flush and close everything
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(node->data_dir())) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  files.push_back(node->log_path());
  ASSERT_GT(files.size(), 3u);
  for (const std::string& f : files) {
    const std::string contents = ReadFile(f);
    for (const std::string& needle : {ip4, ip6, ua, std::string("unique-ua-7781"),
                                      std::string("canary-request")}) {
      EXPECT_THAT(contents, Not(HasSubstr(needle))) << f << " contains " << needle;
    }
  }
}

TEST_F(EndToEndTest, DebugLoggingIsTheOnlyPlaceRawIpsAppear) {
  auto node = StartNode({"--log_level=debug"});
  auto client = Client(*node);
  v1::AcquireRequest req;
  req.set_ip("198.51.100.124");
  ASSERT_TRUE(client.Acquire(req).ok());
  ASSERT_EQ(node->StopWith(SIGTERM), 0);
  EXPECT_THAT(ReadFile(node->log_path()), HasSubstr("198.51.100.124"));
}

TEST_F(EndToEndTest, SighupReloadsAGoodPolicyAndRejectsABadOne) {
  const std::string policy_path = dir_.Sub("policy.textproto");
  const std::string original = ReadFile(kDefaultPolicy);
  ASSERT_THAT(original, HasSubstr("tiers: \"interactive\" limit: 40 }"));
  WriteFile(policy_path, original);
  auto node = StartNode({"--policy=" + policy_path});
  auto client = Client(*node);
  v1::AcquireRequest req;
  req.set_ip("192.0.2.77");
  auto limit = [&] {
    auto r = client.Check(req);
    return r.ok() ? r->limits(0).limit() : -1;
  };
  EXPECT_EQ(limit(), 40);

  WriteFile(policy_path, absl::StrReplaceAll(original, {{"tiers: \"interactive\" limit: 40 }",
                                                         "tiers: \"interactive\" limit: 7 }"}}));
  node->Signal(SIGHUP);
  EXPECT_TRUE(testing::AwaitTrue("the reloaded limit of 7", absl::Seconds(10),
                                 [&] { return limit() == 7; }).ok());
  EXPECT_THAT(ReadFile(node->log_path()), HasSubstr("policy reloaded"));

  WriteFile(policy_path, "tiers { name: \"interactive\" daily_limit: oops }\n");
  node->Signal(SIGHUP);
  EXPECT_TRUE(testing::AwaitTrue("the bad policy rejected in the log", absl::Seconds(10), [&] {
                return ReadFile(node->log_path()).find("policy reload rejected") !=
                       std::string::npos;
              }).ok());
  const std::string log = ReadFile(node->log_path());
  EXPECT_THAT(log, HasSubstr("policy reload rejected"));
  EXPECT_THAT(log, HasSubstr("policy.textproto:1:"));  // the line of the error
  EXPECT_TRUE(node->Running());
  EXPECT_EQ(limit(), 7);  // the old policy keeps serving
}

TEST_F(EndToEndTest, SigtermDrainsAndExitsCleanly) {
  auto node = StartNode();
  auto client = Client(*node);
  v1::AcquireRequest req;
  req.set_ip("192.0.2.1");
  ASSERT_TRUE(client.Acquire(req).ok());
  EXPECT_EQ(node->StopWith(SIGTERM), 0);
  EXPECT_THAT(ReadFile(node->log_path()), HasSubstr("stopped cleanly"));
  // The data dir reopens without recovery problems and kept the charge.
  auto again = StartNode();
  auto client2 = Client(*again);
  EXPECT_EQ(UsedBy(client2, req), 1);
}

TEST_F(EndToEndTest, BadStartupConfigurationFailsWithAClearMessage) {
  const std::string policy = std::string("--policy=") + kDefaultPolicy;
  const std::string data = "--data_dir=" + dir_.Sub("d");
  auto unknown_flag = RunQuotadToExit({"--no_such_flag=1", policy, data});
  EXPECT_NE(unknown_flag.exit_code, 0);
  EXPECT_THAT(unknown_flag.err, HasSubstr("no_such_flag"));

  WriteFile(dir_.Sub("bad.textproto"), "tiers { name: \"interactive\" }\nrules { tier: \"x\" }\n");
  auto bad_policy = RunQuotadToExit({"--policy=" + dir_.Sub("bad.textproto"), data,
                                     "--listen=127.0.0.1:0"});
  EXPECT_EQ(bad_policy.exit_code, 1);
  EXPECT_THAT(bad_policy.err, HasSubstr("bad policy"));
  EXPECT_THAT(bad_policy.err, HasSubstr("bad.textproto:2"));

  auto missing_policy = RunQuotadToExit({"--policy=" + dir_.Sub("none"), data});
  EXPECT_EQ(missing_policy.exit_code, 1);
  EXPECT_THAT(missing_policy.err, HasSubstr("cannot read policy file"));

  WriteFile(dir_.Sub("a-file"), "x");
  auto file_as_dir = RunQuotadToExit({policy, "--data_dir=" + dir_.Sub("a-file"),
                                      "--listen=127.0.0.1:0"});
  EXPECT_EQ(file_as_dir.exit_code, 1);
  EXPECT_THAT(file_as_dir.err, HasSubstr("a-file"));

  auto bad_listen = RunQuotadToExit({policy, data, "--listen=not-an-address:xyz"});
  EXPECT_EQ(bad_listen.exit_code, 1);
  EXPECT_THAT(bad_listen.err, HasSubstr("--listen"));

  auto bad_ttl = RunQuotadToExit({policy, data, "--idempotency_ttl=1m"});
  EXPECT_EQ(bad_ttl.exit_code, 1);
  EXPECT_THAT(bad_ttl.err, HasSubstr("--idempotency_ttl"));

  auto peers_without_key = RunQuotadToExit(
      {policy, data, "--peer_listen=127.0.0.1:0", "--peers=n2=127.0.0.1:1"});
  EXPECT_EQ(peers_without_key.exit_code, 1);
  EXPECT_THAT(peers_without_key.err, HasSubstr("--hash_key_file: required with --peers"));

  // A data dir already served by a running node is locked.
  auto node = StartNode({}, "locked");
  // A new data dir holds keys and counters: this user's only.
  EXPECT_EQ(std::filesystem::status(node->data_dir()).permissions(),
            std::filesystem::perms::owner_all);
  // Regression: gRPC's default SO_REUSEPORT let a second node share a port.
  auto same_port = RunQuotadToExit({policy, "--data_dir=" + dir_.Sub("other"),
                                    "--listen=" + node->target(), "--admin_listen=127.0.0.1:0"});
  EXPECT_EQ(same_port.exit_code, 1);
  EXPECT_THAT(same_port.err, HasSubstr("--listen"));
  auto locked = RunQuotadToExit({policy, "--data_dir=" + node->data_dir(), "--listen=127.0.0.1:0"});
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_THAT(locked.err, HasSubstr("cannot open data dir"));
}

}  // namespace
}  // namespace quotad
