// Callers with roles against the real binary: a node with TLS and a callers
// file, called by quotactl with bearer tokens and client certificates made by
// deploy/tls/make-certs.sh.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/security/callers.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;
using testing::QuotadProcess;
using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::MakeCertificates(dir_.Sub("certs"), {"n1", "grafana", "alice"}).ok());
    WriteFile(dir_.Sub("locate.token"), "locate-secret-token\n");
    WriteFile(dir_.Sub("callers.textproto"),
              absl::StrCat("principals { name: \"locate\" roles: \"charge\" token_sha256: \"",
                           Sha256Hex("locate-secret-token"), "\" }\n",
                           "principals { name: \"grafana\" roles: \"read\" roles: \"admin_read\" "
                           "cert_name: \"grafana\" }\n",
                           "principals { name: \"alice\" roles: \"admin\" cert_name: \"alice\" }\n"));
    node_ = std::make_unique<QuotadProcess>(
        dir_.Sub("node"), dir_.Sub("node.log"),
        std::vector<std::string>{"--callers_file=" + dir_.Sub("callers.textproto"),
                                 "--tls_cert_file=" + Cert("n1.pem"),
                                 "--tls_key_file=" + Cert("n1.key"),
                                 "--tls_ca_file=" + Cert("ca.pem")});
    node_->SetClientTls({"", "", Cert("ca.pem")});
    ASSERT_TRUE(node_->Start().ok());
  }
  std::string Cert(const std::string& file) const { return dir_.Sub("certs/" + file); }
  // quotactl against the quota listener (admin: the admin listener) as `who`:
  // "" (nothing), "locate" (its token), or a certificate name.
  testing::CommandResult Quotactl(const std::string& who, std::vector<std::string> args,
                                  bool admin = false) {
    std::vector<std::string> flags = {
        "--target=" + (admin ? node_->admin_target() : node_->target()),
        "--tls_ca_file=" + Cert("ca.pem")};
    if (who == "locate") flags.push_back("--token_file=" + dir_.Sub("locate.token"));
    if (!who.empty() && who != "locate") {
      flags.push_back("--tls_cert_file=" + Cert(who + ".pem"));
      flags.push_back("--tls_key_file=" + Cert(who + ".key"));
    }
    flags.insert(flags.end(), args.begin(), args.end());
    return RunCommand(QUOTACTL_BINARY, flags);
  }

  TempDir dir_;
  std::unique_ptr<QuotadProcess> node_;
};

TEST_F(AuthTest, QuotaCallsNeedTheirRoles) {
  auto nobody = Quotactl("", {"acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(nobody.exit_code, 1);
  EXPECT_THAT(nobody.err, HasSubstr("UNAUTHENTICATED"));
  auto reader = Quotactl("grafana", {"acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(reader.exit_code, 1);
  EXPECT_THAT(reader.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(reader.err, HasSubstr("lacks the role charge"));
  auto charger = Quotactl("locate", {"acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(charger.exit_code, 0) << charger.err;
  auto check = Quotactl("grafana", {"check", "--ip=192.0.2.1", "--json"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("\"used\":\"1\""));
  // A tier claim counts only from a caller with charge.
  auto claim_read = Quotactl("grafana", {"check", "--ip=192.0.2.2", "--integration-tier=0", "--integration-id=acme"});
  EXPECT_THAT(claim_read.out, HasSubstr("tier=interactive"));
  auto claim_charge = Quotactl("locate", {"check", "--ip=192.0.2.2", "--integration-tier=0", "--integration-id=acme"});
  EXPECT_THAT(claim_charge.out, HasSubstr("tier=registered-0")) << claim_charge.err;
}

TEST_F(AuthTest, AdminReadersReadAdminsWriteAndRefusalsAreAudited) {
  auto status = Quotactl("grafana", {"cluster", "status"}, /*admin=*/true);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  // Dashboards read stats with the read-only role (issue 14 point 5).
  auto stats = Quotactl("grafana", {"stats", "--cluster", "--json"}, true);
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("\"cluster\":true"));
  auto ban = Quotactl("grafana", {"ban", "--prefix=203.0.113.0/24", "--reason=x"}, true);
  EXPECT_EQ(ban.exit_code, 1);
  EXPECT_THAT(ban.err, HasSubstr("PERMISSION_DENIED"));
  auto alice = Quotactl("alice", {"ban", "--prefix=203.0.113.0/24", "--reason=abuse"}, true);
  EXPECT_EQ(alice.exit_code, 0) << alice.err;
  // The node's own admin token no longer opens the admin surface.
  auto token = Quotactl("", {"--admin-token-file=" + node_->admin_token_file(), "cluster", "status"},
                        true);
  EXPECT_EQ(token.exit_code, 1);
  auto audit = Quotactl("alice", {"audit", "--json"}, true);
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_THAT(audit.out, HasSubstr("\"actor\":\"alice@"));
  EXPECT_THAT(audit.out, HasSubstr("lacks the role admin"));  // grafana's refused ban
}

}  // namespace
}  // namespace quotad
