#include "tests/testing/local_cluster.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"

namespace quotad::testing {

LocalCluster::LocalCluster(const TempDir& dir, int n, absl::Duration gossip_interval,
                           absl::Duration anti_entropy_interval)
    : dir_(dir),
      n_(n),
      gossip_interval_(gossip_interval),
      anti_entropy_interval_(anti_entropy_interval) {
  key_file_ = dir_.Sub("identity.key");
  WriteFile(key_file_, std::string(32, 'K'));
  std::filesystem::permissions(key_file_, std::filesystem::perms::owner_read |
                                              std::filesystem::perms::owner_write);
  proxies_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      proxies_[static_cast<size_t>(i)].push_back(i == j ? nullptr : std::make_unique<FaultProxy>());
    }
  }
  nodes_.resize(static_cast<size_t>(n));
}

std::string LocalCluster::Name(int i) { return absl::StrCat("n", i + 1); }

absl::Status LocalCluster::Start(int i, bool wipe) {
  const std::string data = dir_.Sub(Name(i));
  if (wipe) std::filesystem::remove_all(data);
  std::vector<std::string> peers;
  for (int j = 0; j < n_; ++j) {
    if (j != i) peers.push_back(absl::StrCat(Name(j), "=127.0.0.1:", proxy(i, j).port()));
  }
  std::vector<std::string> flags = {
      "--node_id=" + Name(i), "--region=region-" + Name(i), "--hash_key_file=" + key_file_,
      "--peers=" + absl::StrJoin(peers, ","),
      absl::StrCat("--gossip_interval=", absl::FormatDuration(gossip_interval_)),
      absl::StrCat("--anti_entropy_interval=", absl::FormatDuration(anti_entropy_interval_)),
      "--startup_sync_timeout=3s"};
  if (!tls_dir_.empty()) {
    flags.push_back(absl::StrCat("--tls_cert_file=", tls_dir_, "/", Name(i), ".pem"));
    flags.push_back(absl::StrCat("--tls_key_file=", tls_dir_, "/", Name(i), ".key"));
    flags.push_back(absl::StrCat("--tls_ca_file=", tls_dir_, "/ca.pem"));
  }
  flags.insert(flags.end(), extra_flags_.begin(), extra_flags_.end());
  nodes_[static_cast<size_t>(i)] =
      std::make_unique<QuotadProcess>(data, dir_.Sub(Name(i) + ".log"), std::move(flags));
  if (!tls_dir_.empty()) nodes_[static_cast<size_t>(i)]->SetClientTls({"", "", tls_dir_ + "/ca.pem"});
  absl::Status s = nodes_[static_cast<size_t>(i)]->Start();
  if (!s.ok()) return s;
  for (int j = 0; j < n_; ++j) {
    if (j != i) proxy(j, i).SetTarget(node(i).peer_port());
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::StartAll() {
  for (int i = 0; i < n_; ++i) {
    if (absl::Status s = Start(i); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::UseTls(const std::string& cert_dir) {
  std::vector<std::string> names;
  for (int i = 0; i < n_; ++i) names.push_back(Name(i));
  if (absl::Status s = MakeCertificates(cert_dir, names); !s.ok()) return s;
  tls_dir_ = cert_dir;
  return absl::OkStatus();
}

client::QuotaClient LocalCluster::Client(int i) {
  client::ClientOptions options{node(i).target(), absl::Seconds(5)};
  options.tls = node(i).client_tls();
  return client::QuotaClient(client::MakeQuotaConnection(options));
}

absl::StatusOr<v1::GossipStatusResponse> LocalCluster::GossipStatus(int i) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!tls_dir_.empty()) {
    const std::string own = absl::StrCat(tls_dir_, "/", Name(i));
    credentials = MakeChannelCredentials({own + ".pem", own + ".key", tls_dir_ + "/ca.pem"});
  }
  auto stub = v1::GossipService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", node(i).peer_port()), credentials));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GossipStatusResponse status;
  grpc::Status s = stub->Status(&ctx, v1::GossipStatusRequest(), &status);
  if (!s.ok()) {
    return absl::UnavailableError(absl::StrCat(Name(i), " status: ", s.error_message()));
  }
  return status;
}

absl::Status LocalCluster::Drained() {
  for (int i = 0; i < n_; ++i) {
    if (nodes_[static_cast<size_t>(i)] == nullptr || !node(i).Running()) continue;
    auto status = GossipStatus(i);
    if (!status.ok()) return status.status();
    for (const v1::PeerState& p : status->peers()) {
      if (!p.up() || p.pending_slots() > 0 || p.pending_records() > 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            Name(i), " -> ", p.node_id(), ": ", p.up() ? "up" : "DOWN", ", ", p.pending_slots(),
            " slots and ", p.pending_records(), " records pending, last error '", p.last_error(),
            "'"));
      }
    }
  }
  return absl::OkStatus();
}

void LocalCluster::Partition(const std::set<int>& side, bool cut) {
  for (int i = 0; i < n_; ++i) {
    for (int j = 0; j < n_; ++j) {
      if (i != j && side.count(i) != side.count(j)) proxy(i, j).SetPartitioned(cut);
    }
  }
}

void LocalCluster::SetDelay(absl::Duration one_way) {
  for (int i = 0; i < n_; ++i) {
    for (int j = 0; j < n_; ++j) {
      if (i != j) proxy(i, j).SetDelay(one_way);
    }
  }
}

}  // namespace quotad::testing
