// The operator surface against the real quotad and quotactl: overrides and
// bans, usage, reset, policy, audit, stats, authentication, /metrics.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <regex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "quotad/v1/admin.grpc.pb.h"
#include "tests/e2e/admin_fixture.h"
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
using testing::TempDir;
using testing::WriteFile;


TEST_F(AdminTest, UsageShowsTheRightNumbersAndResetClearsThem) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire("192.0.2.44", "ua-x").allowed());
  auto r = Admin({"usage", "--ip=192.0.2.44", "--user-agent=ua-x", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  v1::UsageResponse usage;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &usage).ok()) << r.out;
  EXPECT_EQ(usage.tier(), "interactive");
  EXPECT_EQ(usage.tier_source(), "default");
  ASSERT_GE(usage.limits_size(), 1);
  EXPECT_EQ(usage.limits(0).status().name(), "client_daily");
  EXPECT_EQ(usage.limits(0).status().used(), 3);
  ASSERT_EQ(usage.limits(0).regions_size(), 1);
  EXPECT_EQ(usage.limits(0).regions(0).region(), "test");
  EXPECT_EQ(usage.limits(0).regions(0).used(), 3);
  auto human = Admin({"usage", "--ip=192.0.2.44", "--user-agent=ua-x"});
  EXPECT_THAT(human.out, HasSubstr("client_daily"));
  EXPECT_THAT(human.out, HasSubstr("test=3"));

  auto reset = Admin({"reset", "--ip=192.0.2.44", "--user-agent=ua-x"});
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  // 3 tests from client_daily (IP+UA) and 3 from ip_daily (the address).
  EXPECT_THAT(reset.out, HasSubstr("cleared 6"));
  auto after = Admin({"usage", "--ip=192.0.2.44", "--user-agent=ua-x", "--json"});
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(after.out, &usage).ok());
  EXPECT_EQ(usage.limits(0).status().used(), 0);
  // The audit names the reset client by hash only.
  auto audit = Admin({"audit", "--json"});
  EXPECT_THAT(audit.out, HasSubstr("ResetUsage"));
  EXPECT_THAT(audit.out, HasSubstr("client/"));
  EXPECT_THAT(audit.out, Not(HasSubstr("192.0.2.44")));
}

TEST_F(AdminTest, UnauthenticatedAdminCallsFail) {
  auto no_token = RunCommand(QUOTACTL_BINARY, {"--target=" + node_->admin_target(), "override", "list"});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.err, HasSubstr("UNAUTHENTICATED"));
  WriteFile(dir_.Sub("wrong.token"), "not-the-right-token-at-all\n");
  auto wrong = RunCommand(QUOTACTL_BINARY, {"--target=" + node_->admin_target(),
                                            "--admin-token-file=" + dir_.Sub("wrong.token"),
                                            "ban", "--ip=192.0.2.1"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_TRUE(Acquire("192.0.2.1").allowed());  // the ban did not happen
  // Every RPC refuses a call without the token.
  auto expect_unauthenticated = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  };
  v1::Override o;
  v1::SetOverrideRequest set;
  set.mutable_match()->set_ip("192.0.2.1");
  set.set_tier("banned");
  expect_unauthenticated(admin_->SetOverride(Ctx(false).get(), set, &o));
  v1::DeleteOverrideResponse del;
  expect_unauthenticated(admin_->DeleteOverride(Ctx(false).get(), v1::DeleteOverrideRequest(), &del));
  v1::ListOverridesResponse list;
  expect_unauthenticated(admin_->ListOverrides(Ctx(false).get(), v1::ListOverridesRequest(), &list));
  v1::UsageResponse usage;
  expect_unauthenticated(admin_->GetUsage(Ctx(false).get(), v1::UsageRequest(), &usage));
  v1::ResetUsageResponse reset;
  expect_unauthenticated(admin_->ResetUsage(Ctx(false).get(), v1::UsageRequest(), &reset));
  v1::GetPolicyResponse policy;
  expect_unauthenticated(admin_->GetPolicy(Ctx(false).get(), v1::GetPolicyRequest(), &policy));
  expect_unauthenticated(admin_->ReloadPolicy(Ctx(false).get(), v1::ReloadPolicyRequest(), &policy));
  v1::ClusterStatusResponse cluster;
  expect_unauthenticated(admin_->ClusterStatus(Ctx(false).get(), v1::ClusterStatusRequest(), &cluster));
  v1::ListAuditResponse audit;
  expect_unauthenticated(admin_->ListAudit(Ctx(false).get(), v1::ListAuditRequest(), &audit));
  v1::StatsResponse stats;
  expect_unauthenticated(admin_->GetStats(Ctx(false).get(), v1::GetStatsRequest(), &stats));
  EXPECT_EQ(OverrideCount(), 0u);
}

TEST_F(AdminTest, StatsCountDecisionsAndContainNoIdentities) {
  const std::vector<std::string> ips = {"198.18.7.11", "198.18.7.12", "2001:db8:5:7::13"};
  const std::string ua = "StatsCanary/9.9 (unique-stats-ua)";
  for (const auto& ip : ips) {
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(Acquire(ip, ua, "canary-integration").allowed());
  }
  for (int i = 0; i < 4; ++i) Acquire("198.18.9.9", "bot", "murakami");  // 4 allowed (automated)
  EXPECT_FALSE(Acquire("198.18.9.9", "bot", "murakami").allowed());
  auto r = Admin({"stats", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  v1::StatsResponse stats;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &stats).ok()) << r.out;
  int64_t allowed_interactive = 0, denied_automated = 0;
  for (const auto& d : stats.decisions()) {
    if (d.tier() == "interactive" && d.reason() == v1::REASON_ALLOWED) allowed_interactive = d.last_minute();
    if (d.tier() == "automated" && d.reason() == v1::REASON_DAILY_LIMIT) denied_automated = d.last_day();
  }
  EXPECT_EQ(allowed_interactive, 6);
  EXPECT_EQ(denied_automated, 1);
  // Three clients used 2 tests, one used 4.
  std::map<int64_t, int64_t> distribution;
  for (const auto& b : stats.usage_distribution()) distribution[b.tests()] = b.clients();
  EXPECT_EQ(distribution[2], 3);
  EXPECT_EQ(distribution[4], 1);
  EXPECT_EQ(stats.active_clients(), 4);
  // The automated client reached 80% of its 4 (and was then refused).
  int64_t near_automated = -1;
  for (const auto& n : stats.near_limit()) {
    if (n.tier() == "automated" && n.subject() == "client") near_automated = n.count();
  }
  EXPECT_EQ(near_automated, 1);
  ASSERT_GE(stats.top_by_tests_size(), 1);
  EXPECT_EQ(stats.top_by_tests(0).integration(), "canary-integration");
  ASSERT_GE(stats.top_by_denials_size(), 1);
  EXPECT_EQ(stats.top_by_denials(0).integration(), "murakami");
  // No identity of any kind: no address, no User-Agent, no hash-like hex.
  for (const std::string& out : {r.out, Admin({"stats"}).out}) {
    for (const auto& ip : ips) EXPECT_THAT(out, Not(HasSubstr(ip)));
    EXPECT_THAT(out, Not(HasSubstr("198.18.9.9")));
    EXPECT_THAT(out, Not(HasSubstr("unique-stats-ua")));
    EXPECT_FALSE(std::regex_search(out, std::regex("[0-9a-f]{16}"))) << out;
  }
}

TEST_F(AdminTest, TheUsageDistributionIsSeededAgainAfterARestart) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire("198.18.8.1", "ua").allowed());
  ASSERT_TRUE(Acquire("198.18.8.2", "ua").allowed());
  auto distribution = [&] {
    auto r = Admin({"stats", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    v1::StatsResponse stats;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &stats).ok()) << r.out;
    std::map<int64_t, int64_t> out;
    for (const auto& b : stats.usage_distribution()) out[b.tests()] = b.clients();
    out[-1] = stats.active_clients();
    return out;
  };
  const std::map<int64_t, int64_t> expected = {{-1, 2}, {1, 1}, {3, 1}};
  EXPECT_EQ(distribution(), expected);
  StartNode({});  // the same data dir: the distribution is rebuilt from the counters
  EXPECT_EQ(distribution(), expected);
  ASSERT_TRUE(Acquire("198.18.8.2", "ua").allowed());
  EXPECT_EQ(distribution(), (std::map<int64_t, int64_t>{{-1, 2}, {2, 1}, {3, 1}}));
}

TEST_F(AdminTest, BadAdminInputIsInvalidArgumentAndChangesNothing) {
  auto set = [&](const std::function<void(v1::SetOverrideRequest*)>& mutate) {
    v1::SetOverrideRequest req;
    req.mutable_match()->set_cidr("203.0.113.0/24");
    req.set_tier("banned");
    mutate(&req);
    v1::Override o;
    return admin_->SetOverride(Ctx().get(), req, &o);
  };
  const std::vector<std::pair<std::function<void(v1::SetOverrideRequest*)>, std::string>> cases = {
      {[](auto* r) { r->mutable_match()->set_cidr("203.0.113.0/33"); }, "match.cidr"},
      {[](auto* r) { r->mutable_match()->set_cidr("203.0.113.7/24"); }, "match.cidr"},
      {[](auto* r) { r->mutable_match()->set_ip("300.1.1.1"); }, "match.ip"},
      {[](auto* r) { r->mutable_match()->set_user_agent_regex("(unclosed"); }, "match.user_agent_regex"},
      {[](auto* r) { r->clear_match(); }, "match"},
      {[](auto* r) { r->set_tier("platinum"); }, "tier: unknown tier 'platinum'"},
      {[](auto* r) { r->set_tier(""); }, "tier: required"},
      {[](auto* r) { r->set_reason(std::string(1025, 'x')); }, "reason: longer than 1024"},
      {[](auto* r) { r->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now()) - 60); },
       "expires_at: in the past"},
      {[](auto* r) { r->mutable_ttl()->set_seconds(-5); }, "ttl: must be positive"},
      {[](auto* r) {
         r->mutable_ttl()->set_seconds(60);
         r->mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 60);
       },
       "ttl: give expires_at or ttl"},
      {[](auto* r) { r->set_daily_limit(-1); }, "daily_limit: must be >= 0"},
  };
  for (const auto& [mutate, field] : cases) {
    grpc::Status s = set(mutate);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), HasSubstr(field));
  }
  EXPECT_EQ(OverrideCount(), 0u);
  EXPECT_TRUE(Acquire("203.0.113.5").allowed());

  v1::DeleteOverrideResponse del;
  EXPECT_EQ(admin_->DeleteOverride(Ctx().get(), v1::DeleteOverrideRequest(), &del).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::DeleteOverrideRequest missing;
  missing.set_id("ip/192.0.2.200");
  EXPECT_EQ(admin_->DeleteOverride(Ctx().get(), missing, &del).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::UsageRequest bad_usage;
  bad_usage.set_ip("nope");
  v1::UsageResponse usage;
  grpc::Status s = admin_->GetUsage(Ctx().get(), bad_usage, &usage);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("ip: "));
  v1::ResetUsageResponse reset;
  EXPECT_EQ(admin_->ResetUsage(Ctx().get(), bad_usage, &reset).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListAuditRequest too_many;
  too_many.set_limit(5000);
  v1::ListAuditResponse audit;
  s = admin_->ListAudit(Ctx().get(), too_many, &audit);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("limit"));
  // CLI argument errors are usage errors (exit 2) and reach no server.
  EXPECT_EQ(Admin({"ban"}).exit_code, 2);
  EXPECT_EQ(Admin({"ban", "--ip=192.0.2.1", "--prefix=192.0.2.0/24"}).exit_code, 2);
  EXPECT_EQ(Admin({"ban", "--ip=192.0.2.1", "--for=soon"}).exit_code, 2);
  EXPECT_EQ(Admin({"override", "set", "--ip=192.0.2.1", "--tier=gold"}).exit_code, 1);
  EXPECT_EQ(OverrideCount(), 0u);
}

TEST_F(AdminTest, PolicyShowAndReloadValidateBeforeSwapping) {
  const std::string policy_path = dir_.Sub("policy.textproto");
  const std::string original = ReadFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto");
  WriteFile(policy_path, original);
  StartNode({"--policy=" + policy_path});
  auto show = Admin({"policy", "show"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("name: \"interactive\""));
  WriteFile(policy_path, absl::StrReplaceAll(original, {{"tiers: \"interactive\" limit: 40 }",
                                                         "tiers: \"interactive\" limit: 9 }"}}));
  ASSERT_EQ(Admin({"policy", "reload"}).exit_code, 0);
  EXPECT_EQ(Check("192.0.2.1").limits(0).limit(), 9);
  WriteFile(policy_path, "tiers { name: \"interactive\" }\nrules { client_name: \"x\" tier: \"ghost\" }\n");
  auto bad = Admin({"policy", "reload"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad.err, HasSubstr("policy.textproto:2: rules[0].tier"));
  EXPECT_EQ(Check("192.0.2.1").limits(0).limit(), 9);
  auto audit = Admin({"audit"});
  EXPECT_THAT(audit.out, HasSubstr("ReloadPolicy"));
  EXPECT_THAT(audit.out, HasSubstr("FAIL"));
}

TEST_F(AdminTest, EveryCommandHasHelp) {
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"acquire"}, {"check"}, {"refund"}, {"override", "set"},
        {"override", "delete"}, {"override", "list"}, {"ban"}, {"unban"}, {"usage"}, {"reset"},
        {"policy", "show"}, {"policy", "reload"}, {"cluster", "status"}, {"stats"}, {"audit"}}) {
    cmd.push_back("--help");
    auto r = RunCommand(QUOTACTL_BINARY, cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd[0];
    EXPECT_THAT(r.out, HasSubstr("quotactl " + cmd[0])) << cmd[0];
    EXPECT_THAT(r.out, HasSubstr("flags:")) << cmd[0];
  }
}

// Minimal HTTP/1.0 GET on loopback.
std::string HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

// "{b="2",a="1"}" -> "{a="1",b="2"}": series keys independent of label order.
std::string SortedLabels(const std::string& braced) {
  if (braced.size() < 2) return braced;
  std::vector<std::string> labels =
      absl::StrSplit(braced.substr(1, braced.size() - 2), absl::ByString("\","), absl::SkipEmpty());
  for (size_t i = 0; i + 1 < labels.size(); ++i) labels[i] += "\"";
  std::sort(labels.begin(), labels.end());
  return absl::StrCat("{", absl::StrJoin(labels, ","), "}");
}

TEST_F(AdminTest, MetricsAreScrapedAndParse) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Acquire("192.0.2.60").allowed());
  ASSERT_EQ(Admin({"ban", "--ip=192.0.2.61"}).exit_code, 0);
  EXPECT_FALSE(Acquire("192.0.2.61").allowed());
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadFile(dir_.Sub("metrics.port"))), &port));
  const std::string response = HttpGet(port, "/metrics");
  ASSERT_THAT(response, HasSubstr("200 OK"));
  const std::string body = response.substr(response.find("\r\n\r\n") + 4);
  // Every sample line parses as: name{labels} value (special values are
  // case-insensitive, as Prometheus' own parser reads them).
  const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)$)");
  std::map<std::string, double> values;
  int samples = 0;
  for (absl::string_view line : absl::StrSplit(body, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    std::smatch m;
    const std::string l(line);
    ASSERT_TRUE(std::regex_match(l, m, sample)) << "unparsable: " << l;
    const std::string v = m[3].str();
    values[m[1].str() + SortedLabels(m[2].str())] =
        (v[0] == 'N' || v[0] == 'n' || v.find("nf") != std::string::npos) ? 0.0 : std::stod(v);
    ++samples;
  }
  EXPECT_GT(samples, 10);
  EXPECT_EQ(
      (values
           [R"(quotad_decisions_total{node="test-node",reason="REASON_ALLOWED",region="test",shadow="false",tier="interactive"})"]),
      3);
  EXPECT_EQ(
      (values
           [R"(quotad_decisions_total{node="test-node",reason="REASON_BANNED",region="test",shadow="false",tier="banned"})"]),
      1);
  EXPECT_EQ(
      (values
           [R"(quotad_rpc_duration_seconds_count{code="OK",node="test-node",region="test",rpc="Acquire"})"]),
      4);
  EXPECT_TRUE(
      values.count(R"(quotad_rocksdb_bytes{kind="memtable",node="test-node",region="test"})"));
  EXPECT_TRUE(values.count(
      R"(quotad_auth_refused{code="UNAUTHENTICATED",node="test-node",region="test",surface="admin"})"));
  EXPECT_TRUE(values.count(
      R"(quotad_gossip_rejected{node="test-node",reason="certificate_mismatch",region="test"})"));
  EXPECT_TRUE(values.count(
      R"(quotad_gossip_rejected{node="test-node",reason="key_mismatch",region="test"})"));
  EXPECT_THAT(body, Not(HasSubstr("192.0.2.60")));
  // Every metric the Grafana dashboard queries is one quotad exports.
  const std::string dashboard = ReadFile(QUOTAD_SOURCE_DIR "/deploy/grafana/quotad-dashboard.json");
  const std::regex metric_name("quotad_[a-z_]+");
  int referenced = 0;
  for (auto it = std::sregex_iterator(dashboard.begin(), dashboard.end(), metric_name);
       it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    for (const char* suffix : {"_bucket", "_count", "_sum"}) {
      if (absl::EndsWith(name, suffix)) name.resize(name.size() - strlen(suffix));
    }
    if (name == "quotad_overview") continue;  // the dashboard's uid
    EXPECT_THAT(body, HasSubstr("# TYPE " + name + " ")) << name;
    ++referenced;
  }
  EXPECT_GT(referenced, 8);
}

}  // namespace
}  // namespace quotad
