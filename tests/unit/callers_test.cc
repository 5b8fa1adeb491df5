#include "quotad/security/callers.h"

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "quotad/security/authorizer.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

constexpr char kCallers[] = R"pb(
  principals { name: "locate" roles: "charge" token_sha256: "%s" }
  principals { name: "grafana" roles: "read" roles: "admin_read" cert_name: "grafana.ops" }
  principals { name: "alice" roles: "admin" cert_name: "alice.ops" }
)pb";

std::string Callers() {
  return absl::StrFormat(kCallers, Sha256Hex("locate-secret-token"));
}

std::vector<std::string> None() { return {}; }

TEST(CallerTableTest, FindsPrincipalsByTokenHashAndCertificateName) {
  auto table = CallerTable::FromText(Callers(), "callers.textproto");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ((*table)->size(), 3u);
  const Principal* locate = (*table)->FindByToken("locate-secret-token");
  ASSERT_NE(locate, nullptr);
  EXPECT_EQ(locate->name, "locate");
  EXPECT_TRUE(locate->Has(Role::kCharge));
  EXPECT_FALSE(locate->Has(Role::kAdmin));
  EXPECT_EQ((*table)->FindByToken("guess"), nullptr);
  const Principal* grafana = (*table)->FindByCertificate({"localhost", "grafana.ops"});
  ASSERT_NE(grafana, nullptr);
  EXPECT_TRUE(grafana->Has(Role::kRead) && grafana->Has(Role::kAdminRead));
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CallerTableTest, BadFilesNameTheLineAndTheField) {
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"principals { roles: \"charge\" cert_name: \"x\" }", "principals[0].name: required"},
      {"principals { name: \"a\" roles: \"charge\" cert_name: \"x\" }\n"
       "principals { name: \"a\" roles: \"read\" cert_name: \"y\" }",
       "callers:2: principals[1].name: 'a' is listed twice"},
      {"principals { name: \"a\"\n roles: \"root\" cert_name: \"x\" }",
       "callers:2: principals[0].roles[0]: unknown role 'root'"},
      {"principals { name: \"a\" cert_name: \"x\" }", "at least one role"},
      {"principals { name: \"a\" roles: \"read\" }", "needs token_sha256 or cert_name"},
      {"principals { name: \"a\" roles: \"read\" token_sha256: \"abc\" }", "64 hex digits"},
      // Found by callers_fuzzer: "authorization: Bearer " (empty) matched it.
      {"principals { name: \"a\" roles: \"admin\" token_sha256: "
       "\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\" }",
       "principals[0].token_sha256: is the SHA-256 of an empty token"},
      {"principals { name: \"a\" roles: \"read\" cert_name: \"x\" }\n"
       "principals { name: \"b\" roles: \"read\" cert_name: \"x\" }",
       "listed twice"},
      {"principals { nme: \"a\" }", "callers:1:"},
  };
  for (const Case& c : cases) {
    auto table = CallerTable::FromText(c.text, "callers");
    ASSERT_FALSE(table.ok()) << c.text;
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(table.status().message()), HasSubstr(c.error)) << c.text;
  }
}

TEST(AuthorizerTest, RolesDecideAndRefusalsAreCounted) {
  testing::TempDir dir;
  const std::string path = dir.Sub("callers.textproto");
  testing::WriteFile(path, Callers());
  Authorizer auth("admin-token-0123456789");
  ASSERT_TRUE(auth.Load(path).ok());
  const auto certs = [](std::vector<std::string> names) { return [names] { return names; }; };
  // No credentials; an unknown token.
  EXPECT_EQ(auth.AuthorizeParts("", None, Surface::kQuota, {Role::kCharge}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.AuthorizeParts("Bearer nope", None, Surface::kQuota, {Role::kCharge})
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.AuthorizeParts("Bearer ", None, Surface::kAdmin, {Role::kAdmin}).status().code(),
            absl::StatusCode::kUnauthenticated);
  // The charge token charges; a read certificate cannot, but may Check.
  auto locate = auth.AuthorizeParts("Bearer locate-secret-token", None, Surface::kQuota,
                                    {Role::kCharge});
  ASSERT_TRUE(locate.ok());
  EXPECT_EQ(locate->name, "locate");
  auto denied = auth.AuthorizeParts("", certs({"grafana.ops"}), Surface::kQuota, {Role::kCharge});
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.status().message()), HasSubstr("'grafana' lacks the role charge"));
  EXPECT_TRUE(auth.AuthorizeParts("", certs({"grafana.ops"}), Surface::kQuota,
                                  {Role::kCharge, Role::kRead})
                  .ok());
  // Admin: admin_read reads, only admin writes; the node's admin token no
  // longer works once a callers file is in use.
  EXPECT_TRUE(auth.AuthorizeParts("", certs({"grafana.ops"}), Surface::kAdmin,
                                  {Role::kAdmin, Role::kAdminRead})
                  .ok());
  EXPECT_EQ(auth.AuthorizeParts("", certs({"grafana.ops"}), Surface::kAdmin, {Role::kAdmin})
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(auth.AuthorizeParts("", certs({"alice.ops"}), Surface::kAdmin, {Role::kAdmin}).ok());
  EXPECT_EQ(auth.AuthorizeParts("Bearer admin-token-0123456789", None, Surface::kAdmin,
                                {Role::kAdmin})
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.refused(Surface::kQuota, absl::StatusCode::kUnauthenticated), 2u);
  EXPECT_EQ(auth.refused(Surface::kQuota, absl::StatusCode::kPermissionDenied), 1u);
  EXPECT_EQ(auth.refused(Surface::kAdmin, absl::StatusCode::kPermissionDenied), 1u);
  EXPECT_EQ(auth.refused(Surface::kAdmin, absl::StatusCode::kUnauthenticated), 2u);
}

TEST(AuthorizerTest, WithoutACallersFileQuotaIsOpenAndAdminNeedsTheToken) {
  Authorizer auth("admin-token-0123456789");
  EXPECT_FALSE(auth.has_callers());
  auto anyone = auth.AuthorizeParts("", None, Surface::kQuota, {Role::kCharge});
  ASSERT_TRUE(anyone.ok());
  EXPECT_EQ(anyone->name, "anonymous");
  EXPECT_EQ(auth.AuthorizeParts("", None, Surface::kAdmin, {Role::kAdmin}).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.AuthorizeParts("Bearer admin-token-0123456789", None, Surface::kAdmin,
                                {Role::kAdmin})
                ->name,
            "admin-token");
}

TEST(AuthorizerTest, ABadReloadKeepsTheTableInUse) {
  testing::TempDir dir;
  const std::string path = dir.Sub("callers.textproto");
  testing::WriteFile(path, Callers());
  Authorizer auth("admin-token-0123456789");
  ASSERT_TRUE(auth.Load(path).ok());
  testing::WriteFile(path, "principals { name: \"x\" roles: \"nope\" cert_name: \"x\" }");
  EXPECT_FALSE(auth.Load(path).ok());
  EXPECT_TRUE(auth.AuthorizeParts("Bearer locate-secret-token", None, Surface::kQuota,
                                  {Role::kCharge})
                  .ok());
}

}  // namespace
}  // namespace quotad
