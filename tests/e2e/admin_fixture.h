// The admin test fixture: one real quotad (with /metrics), quotactl against
// its admin port with the node's token, and a QuotaService client.
#ifndef QUOTAD_TESTS_E2E_ADMIN_FIXTURE_H_
#define QUOTAD_TESTS_E2E_ADMIN_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "client/quota_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "quotad/v1/admin.grpc.pb.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override { StartNode({}); }

  void StartNode(std::vector<std::string> extra) {
    node_.reset();
    std::vector<std::string> args = {"--metrics_listen=127.0.0.1:0",
                                     "--metrics_port_file=" + dir_.Sub("metrics.port")};
    args.insert(args.end(), extra.begin(), extra.end());
    node_ = std::make_unique<testing::QuotadProcess>(dir_.Sub("node"), dir_.Sub("node.log"), args);
    ASSERT_TRUE(node_->Start().ok());
    token_ = std::string(absl::StripAsciiWhitespace(testing::ReadFile(node_->admin_token_file())));
    ASSERT_GE(token_.size(), 16u);
    admin_ = v1::AdminService::NewStub(
        grpc::CreateChannel(node_->admin_target(), grpc::InsecureChannelCredentials()));
  }

  // quotactl against the admin port with the token.
  testing::CommandResult Admin(std::vector<std::string> args) {
    args.insert(args.begin(), {"--target=" + node_->admin_target(),
                               "--admin-token-file=" + node_->admin_token_file()});
    return testing::RunCommand(QUOTACTL_BINARY, args);
  }

  std::unique_ptr<grpc::ClientContext> Ctx(bool with_token = true) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (with_token) ctx->AddMetadata("authorization", "Bearer " + token_);
    return ctx;
  }

  v1::AcquireResponse Acquire(const std::string& ip, const std::string& ua = "Mozilla/5.0",
                              const std::string& client_name = "") {
    auto client = client::QuotaClient(client::MakeQuotaConnection({node_->target(), absl::Seconds(5)}));
    v1::AcquireRequest req;
    req.set_ip(ip);
    req.set_user_agent(ua);
    req.set_client_name(client_name);
    auto r = client.Acquire(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::AcquireResponse();
  }
  v1::AcquireResponse Check(const std::string& ip, const std::string& client_name = "") {
    auto client = client::QuotaClient(client::MakeQuotaConnection({node_->target(), absl::Seconds(5)}));
    v1::AcquireRequest req;
    req.set_ip(ip);
    req.set_user_agent("Mozilla/5.0");
    req.set_client_name(client_name);
    auto r = client.Check(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::AcquireResponse();
  }
  size_t OverrideCount() {
    v1::ListOverridesResponse resp;
    EXPECT_TRUE(admin_->ListOverrides(Ctx().get(), v1::ListOverridesRequest(), &resp).ok());
    return static_cast<size_t>(resp.overrides_size());
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::QuotadProcess> node_;
  std::string token_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

}  // namespace quotad

#endif  // QUOTAD_TESTS_E2E_ADMIN_FIXTURE_H_
