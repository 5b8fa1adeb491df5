// N real quotad processes on 127.0.0.1, every directed link i->j through its
// own FaultProxy, sharing one identity hash key. For multi-region tests and
// the convergence benchmark.
#ifndef QUOTAD_TESTS_TESTING_LOCAL_CLUSTER_H_
#define QUOTAD_TESTS_TESTING_LOCAL_CLUSTER_H_

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/status/statusor.h"
#include "client/quota_client.h"
#include "quotad/v1/gossip.grpc.pb.h"
#include "tests/testing/fault_proxy.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad::testing {

class LocalCluster {
 public:
  LocalCluster(const TempDir& dir, int n, absl::Duration gossip_interval,
               absl::Duration anti_entropy_interval = absl::Seconds(1));

  static std::string Name(int i);

  // TLS from now on: node i serves with `cert_dir`/n<i+1>.pem (and .key),
  // every node trusts `cert_dir`/ca.pem (files of MakeCertificates, which
  // this calls for every node name), and this harness's clients verify with
  // the CA (peer-status calls present n<i+1>'s certificate).
  absl::Status UseTls(const std::string& cert_dir);
  // Extra quotad flags for every node started from now on.
  void SetExtraFlags(std::vector<std::string> flags) { extra_flags_ = std::move(flags); }

  // Starts (or restarts) node i, optionally with an empty data dir.
  absl::Status Start(int i, bool wipe = false);
  absl::Status StartAll();

  QuotadProcess& node(int i) { return *nodes_[static_cast<size_t>(i)]; }
  FaultProxy& proxy(int from, int to) {
    return *proxies_[static_cast<size_t>(from)][static_cast<size_t>(to)];
  }
  client::QuotaClient Client(int i);
  // Node i's replication state, from its peer listener.
  absl::StatusOr<v1::GossipStatusResponse> GossipStatus(int i);
  // OK when every running node reports every peer up with nothing queued;
  // otherwise a description of the first node and peer that is not.
  absl::Status Drained();

  // Cuts (or heals) every link between `side` and the rest, both directions.
  void Partition(const std::set<int>& side, bool cut);
  // One-way delay on every link.
  void SetDelay(absl::Duration one_way);

  int size() const { return n_; }
  // The identity key file every node is started with.
  const std::string& key_file() const { return key_file_; }

 private:
  const TempDir& dir_;
  int n_;
  absl::Duration gossip_interval_;
  absl::Duration anti_entropy_interval_;
  std::string key_file_;
  std::vector<std::string> extra_flags_;
  std::string tls_dir_;
  std::vector<std::vector<std::unique_ptr<FaultProxy>>> proxies_;
  std::vector<std::unique_ptr<QuotadProcess>> nodes_;
};

}  // namespace quotad::testing

#endif  // QUOTAD_TESTS_TESTING_LOCAL_CLUSTER_H_
