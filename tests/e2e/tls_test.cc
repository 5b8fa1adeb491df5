// TLS end to end, against real processes with certificates made by
// deploy/tls/make-certs.sh: a 3-node cluster with mutual TLS between peers
// converges and enforces; plaintext, wrong-CA and certificate-less peers
// cannot connect; a valid certificate for one node cannot push as another;
// quotactl and the client library speak TLS.
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/quota_client.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "quotad/identity/identity_hasher.h"
#include "quotad/rpc/tls.h"
#include "quotad/storage/keys.h"
#include "quotad/v1/gossip.grpc.pb.h"
#include "tests/testing/await.h"
#include "tests/testing/local_cluster.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;
using Cluster = testing::LocalCluster;

constexpr absl::Duration kGossip = absl::Milliseconds(50);

v1::AcquireRequest Client(const std::string& ip) {
  v1::AcquireRequest r;
  r.set_ip(ip);
  r.set_user_agent("ndt7-js/0.1");
  r.set_service("ndt/ndt7");
  return r;
}

class TlsTest : public ::testing::Test {
 protected:
  // A push to node 0's peer listener over `credentials`, as `from`.
  grpc::Status PushAs(Cluster& c, std::shared_ptr<grpc::ChannelCredentials> credentials,
                      const std::string& from) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("n1");
    auto stub = v1::GossipService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", c.node(0).peer_port()), credentials, args));
    v1::PushRequest push;
    push.set_from_node_id(from);
    push.set_to_node_id("n1");
    push.set_from_origin(12345);
    push.add_key_fingerprints(
        IdentityHasher::FromKeyFile(c.key_file()).value()->KeyFingerprint());
    CounterId id{KeySpace::kClient, {}};
    id.hash.fill(0x42);
    const auto hour = static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()) / 3600);
    v1::Slot* slot = push.add_slots();
    slot->set_key(EncodeCounterKey(id, hour, 12345, CountKind::kCharged));
    slot->set_value(1);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::PushResponse response;
    return stub->Push(&ctx, push, &response);
  }
  std::string Certs(const std::string& name) const { return dir_.Sub("certs/" + name); }
  TlsFiles Files(const std::string& name) const {
    return {Certs(name + ".pem"), Certs(name + ".key"), Certs("ca.pem")};
  }

  testing::TempDir dir_;
};

TEST_F(TlsTest, AMutualTlsClusterConvergesAndEnforcesAcrossRegions) {
  Cluster c(dir_, 3, kGossip);
  ASSERT_TRUE(c.UseTls(dir_.Sub("certs")).ok());
  ASSERT_TRUE(c.StartAll().ok());
  const auto req = Client("192.0.2.9");
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(c.Client(i % 3).Acquire(req)->allowed()) << i;
  absl::Status refused_everywhere = testing::Await("limit reached everywhere", absl::Seconds(15), [&] {
    for (int i = 0; i < 3; ++i) {
      auto r = c.Client(i).Check(req);
      if (!r.ok()) return r.status();
      if (r->limits(0).used() != 40) {
        return absl::UnavailableError(absl::StrCat("n", i + 1, " counts ", r->limits(0).used()));
      }
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(refused_everywhere.ok()) << refused_everywhere;
  EXPECT_FALSE(c.Client(2).Acquire(req)->allowed());
  EXPECT_TRUE(testing::Await("drained", absl::Seconds(15), [&] { return c.Drained(); }).ok());
}

TEST_F(TlsTest, PlaintextWrongCaAndCertificatelessPeersCannotConnect) {
  Cluster c(dir_, 2, kGossip);
  ASSERT_TRUE(c.UseTls(dir_.Sub("certs")).ok());
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(testing::MakeCertificates(dir_.Sub("other-ca"), {"n2"}).ok());
  const grpc::Status plaintext = PushAs(c, grpc::InsecureChannelCredentials(), "n2");
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  // A certificate for n2 from another CA (the client trusts the node).
  const grpc::Status wrong_ca = PushAs(
      c,
      MakeChannelCredentials({dir_.Sub("other-ca/n2.pem"), dir_.Sub("other-ca/n2.key"),
                              Certs("ca.pem")}),
      "n2");
  EXPECT_EQ(wrong_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << wrong_ca.error_message();
  const grpc::Status no_cert = PushAs(c, MakeChannelCredentials({"", "", Certs("ca.pem")}), "n2");
  EXPECT_EQ(no_cert.error_code(), grpc::StatusCode::UNAVAILABLE) << no_cert.error_message();
  // n2's own certificate works.
  const grpc::Status good = PushAs(c, MakeChannelCredentials(Files("n2")), "n2");
  EXPECT_TRUE(good.ok()) << good.error_message();
}

TEST_F(TlsTest, AValidCertificateForOneNodeCannotPushAsAnother) {
  Cluster c(dir_, 3, kGossip);
  ASSERT_TRUE(c.UseTls(dir_.Sub("certs")).ok());
  ASSERT_TRUE(c.StartAll().ok());
  const grpc::Status spoofed = PushAs(c, MakeChannelCredentials(Files("n2")), "n3");
  EXPECT_EQ(spoofed.error_code(), grpc::StatusCode::PERMISSION_DENIED) << spoofed.error_message();
  auto status = c.GossipStatus(0);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->rejected_certificate_mismatch(), 1u);
  EXPECT_EQ(status->slots_applied(), 0u);
}

TEST_F(TlsTest, QuotactlAndTheClientLibrarySpeakTls) {
  Cluster c(dir_, 1, kGossip);
  ASSERT_TRUE(c.UseTls(dir_.Sub("certs")).ok());
  ASSERT_TRUE(c.StartAll().ok());
  auto quotactl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "--target=" + c.node(0).target());
    return testing::RunCommand(QUOTACTL_BINARY, args);
  };
  auto ok = quotactl({"--tls_ca_file=" + Certs("ca.pem"), "acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("ALLOWED"));
  auto plaintext = quotactl({"acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(plaintext.exit_code, 1);
  auto bad_flags = quotactl({"--tls_ca_file=" + Certs("ca.pem"),
                             "--tls_cert_file=" + Certs("n1.pem"), "acquire", "--ip=192.0.2.1"});
  EXPECT_EQ(bad_flags.exit_code, 2);
  EXPECT_THAT(bad_flags.err, HasSubstr("--tls_cert_file and --tls_key_file"));
  auto admin = quotactl({"--tls_ca_file=" + Certs("ca.pem"), "--target=" + c.node(0).admin_target(),
                         "--admin-token-file=" + c.node(0).admin_token_file(), "cluster", "status"});
  EXPECT_EQ(admin.exit_code, 0) << admin.err;
  v1::AcquireRequest same_as_quotactl;  // the IP alone, as quotactl sent it
  same_as_quotactl.set_ip("192.0.2.1");
  EXPECT_EQ(c.Client(0).Check(same_as_quotactl)->limits(0).used(), 1);
}

TEST_F(TlsTest, BadTlsFilesStopTheNodeWithAClearMessage) {
  ASSERT_TRUE(testing::MakeCertificates(dir_.Sub("certs"), {"n1", "n2"}).ok());
  const std::string data = "--data_dir=" + dir_.Sub("d");
  const std::string policy = std::string("--policy=") + QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto";
  auto missing_ca = testing::RunQuotadToExit(
      {policy, data, "--tls_cert_file=" + Certs("n1.pem"), "--tls_key_file=" + Certs("n1.key")});
  EXPECT_EQ(missing_ca.exit_code, 1);
  EXPECT_THAT(missing_ca.err, HasSubstr("--tls_ca_file: required"));
  auto wrong_key = testing::RunQuotadToExit({policy, data, "--tls_cert_file=" + Certs("n1.pem"),
                                             "--tls_key_file=" + Certs("n2.key"),
                                             "--tls_ca_file=" + Certs("ca.pem")});
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_THAT(wrong_key.err, HasSubstr("is not the key of"));
}

}  // namespace
}  // namespace quotad
