// --policy_reload_interval against a real node: a policy file replaced
// under the node (as a Kubernetes ConfigMap volume swaps it) is reloaded
// without a signal; a bad one is refused and the serving policy stays.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;
using testing::ReadFile;
using testing::WriteFile;

// Writes next to `path` and renames over it: readers see the old or the new
// file, never a half-written one.
void Replace(const std::string& path, const std::string& content) {
  WriteFile(path + ".tmp", content);
  ASSERT_EQ(std::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

TEST(PolicyReloadTest, AReplacedPolicyFileIsReloadedWithoutASignalAndABadOneIsRefused) {
  testing::TempDir dir;
  const std::string policy_path = dir.Sub("policy.textproto");
  const std::string original = ReadFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto");
  WriteFile(policy_path, original);
  testing::QuotadProcess node(dir.Sub("node"), dir.Sub("node.log"),
                              {"--policy=" + policy_path, "--policy_reload_interval=100ms"});
  ASSERT_TRUE(node.Start().ok());
  client::QuotaClient client(client::MakeQuotaConnection({node.target(), absl::Seconds(10)}));
  v1::AcquireRequest req;
  req.set_ip("192.0.2.88");
  auto limit = [&] {
    auto r = client.Check(req);
    return r.ok() ? r->limits(0).limit() : -1;
  };
  ASSERT_EQ(limit(), 40);
  auto with_limit = [&](int n) {
    return absl::StrReplaceAll(original,
                               {{"tiers: \"interactive\" limit: 40 }",
                                 absl::StrCat("tiers: \"interactive\" limit: ", n, " }")}});
  };

  Replace(policy_path, with_limit(7));
  EXPECT_TRUE(testing::AwaitTrue("the new limit of 7", absl::Seconds(10), [&] {
                return limit() == 7;
              }).ok());

  Replace(policy_path, "tiers { name: \"interactive\" daily_limit: oops }\n");
  EXPECT_TRUE(testing::AwaitTrue("the bad policy rejected in the log", absl::Seconds(10), [&] {
                return ReadFile(node.log_path()).find("policy reload rejected") !=
                       std::string::npos;
              }).ok());
  EXPECT_EQ(limit(), 7);  // the serving policy stays
  EXPECT_TRUE(node.Running());

  Replace(policy_path, with_limit(9));
  EXPECT_TRUE(testing::AwaitTrue("the next good policy, limit 9", absl::Seconds(10), [&] {
                return limit() == 9;
              }).ok());
  EXPECT_THAT(ReadFile(node.log_path()), HasSubstr("policy reloaded"));
}

}  // namespace
}  // namespace quotad
