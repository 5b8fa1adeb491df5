// quotad: one regional quota node. main() only wires the pieces together:
// policy file -> RocksDB store -> identity hasher -> admission -> gRPC
// listeners (quota, peer, admin; all built by StartListener).
//
// TLS (--tls_cert_file, --tls_key_file, --tls_ca_file): every listener
// serves TLS; the peer listener requires a client certificate signed by the
// CA that names the sending node id; calls to peers verify that the peer's
// certificate names its node id. The files are re-read every second
// (quotad/rpc/tls.h), so replacing them rotates certificates in place.
//
// Callers (--callers_file): roles per principal, by bearer token or client
// certificate (quotad/security/authorizer.h).
//
// Signals: SIGHUP reloads the policy and the callers file (a bad file is
// rejected and the old one keeps serving), and so does a change of their
// content under --policy_reload_interval; SIGTERM/SIGINT drain in-flight
// calls and close RocksDB cleanly.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "quotad/admin/admin_service.h"
#include "quotad/admin/override_store.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/common/clock.h"
#include "quotad/common/logging.h"
#include "quotad/identity/identity_hasher.h"
#include "quotad/observability/decision_stats.h"
#include "quotad/observability/metrics.h"
#include "quotad/policy/policy.h"
#include "quotad/replication/gossip_service.h"
#include "quotad/replication/peer_transport.h"
#include "quotad/replication/peers.h"
#include "quotad/replication/replicator.h"
#include "quotad/rpc/tls.h"
#include "quotad/security/authorizer.h"
#include "quotad/server/dashboards.h"
#include "quotad/server/file_watcher.h"
#include "quotad/server/flags.h"
#include "quotad/server/listeners.h"
#include "quotad/server/node_gauges.h"
#include "quotad/service/envoy_rls_service.h"
#include "quotad/service/quota_service.h"
#include "quotad/storage/rocksdb_counter_store.h"

namespace quotad {
namespace {

constexpr char kVersion[] = "0.3.0";

absl::Status WritePortFile(const std::string& path, int port) {
  if (path.empty()) return absl::OkStatus();
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat(path, ": ", ec.message()));
  return absl::OkStatus();
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "quotad: %s\n", message.c_str());
  return 1;
}

std::string DefaultNodeId() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "node";
  return host;
}

int Run() {
  if (absl::Status s = CheckFlags(); !s.ok()) return Fail(std::string(s.message()));
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const std::string node_id =
      absl::GetFlag(FLAGS_node_id).empty() ? DefaultNodeId() : absl::GetFlag(FLAGS_node_id);
  const std::string region = absl::GetFlag(FLAGS_region);
  auto peers = ParsePeers(absl::GetFlag(FLAGS_peers), node_id);
  if (!peers.ok()) return Fail(absl::StrCat("--", peers.status().message()));
  const TlsFiles tls{absl::GetFlag(FLAGS_tls_cert_file), absl::GetFlag(FLAGS_tls_key_file),
                     absl::GetFlag(FLAGS_tls_ca_file)};
  if (tls.enabled()) {
    if (auto s = CheckNodeTlsFiles(tls); !s.ok()) return Fail(std::string(s.message()));
  } else if (!peers->empty()) {
    QUOTAD_LOG(WARNING) << "no --tls_cert_file: gossip is plaintext and any host that reaches "
                           "--peer_listen can pose as a peer (see docs/operations.md, Security)";
  }
  if (auto s = CheckClusterFlags(!peers->empty()); !s.ok()) return Fail(std::string(s.message()));
  const std::string peer_listen = absl::GetFlag(FLAGS_peer_listen);

  // Signals are handled by sigwait() in this thread only; block them before
  // any other thread (RocksDB, gRPC) starts so those threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string policy_path = absl::GetFlag(FLAGS_policy);
  auto policy = CompiledPolicy::FromFile(policy_path);
  if (!policy.ok()) return Fail(absl::StrCat("bad policy: ", policy.status().message()));
  PolicyHolder policy_holder(*policy);
  Metrics metrics({{"region", region}, {"node", node_id}});
  auto tier_names = [](const CompiledPolicy& p) {
    std::vector<std::string> names;
    for (const auto& t : p.tiers()) names.push_back(t.name);
    return names;
  };
  metrics.DeclareTiers(tier_names(**policy));

  std::error_code ec;
  const bool created = std::filesystem::create_directories(data_dir, ec);
  if (ec) return Fail(absl::StrCat("cannot create data dir ", data_dir, ": ", ec.message()));
  if (created) {
    // Counters, keys and tokens: readable by this user only.
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    if (ec) return Fail(absl::StrCat("cannot make data dir ", data_dir, " 0700: ", ec.message()));
  }

  RocksDbOptions db_options;
  db_options.path = data_dir;
  db_options.node_id = node_id;
  db_options.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  db_options.retention = (*policy)->retention();
  auto store = RocksDbCounterStore::Open(db_options);
  if (!store.ok()) return Fail(std::string(store.status().message()));

  const std::string key_file = absl::GetFlag(FLAGS_hash_key_file).empty()
                                   ? absl::StrCat(data_dir, "/identity.key")
                                   : absl::GetFlag(FLAGS_hash_key_file);
  auto hasher = IdentityHasher::FromKeyFile(key_file);
  if (!hasher.ok()) return Fail(absl::StrCat("--hash_key_file: ", hasher.status().message()));

  std::unique_ptr<IdentityHasher> previous_hasher;
  if (const std::string previous = absl::GetFlag(FLAGS_previous_hash_key_file); !previous.empty()) {
    if (!std::filesystem::exists(previous)) {
      return Fail(absl::StrCat("--previous_hash_key_file: ", previous, " does not exist"));
    }
    auto loaded = IdentityHasher::FromKeyFile(previous);
    if (!loaded.ok()) {
      return Fail(absl::StrCat("--previous_hash_key_file: ", loaded.status().message()));
    }
    previous_hasher = std::move(*loaded);
  }

  AdmissionOptions admission_options;
  admission_options.node_id = node_id;
  admission_options.region = region;
  admission_options.idempotency_ttl = absl::GetFlag(FLAGS_idempotency_ttl);
  admission_options.max_cached_counters =
      static_cast<size_t>(absl::GetFlag(FLAGS_cache_counters));
  admission_options.max_commit_queue = static_cast<size_t>(absl::GetFlag(FLAGS_max_commit_queue));
  Dashboards dashboards(RealClock::Real());  // outlives `admission`, which reports to it
  AdmissionController admission(store->get(), &policy_holder, hasher->get(), RealClock::Real(),
                                /*overrides=*/nullptr, admission_options);
  // Seeded before anything can change a counter (replication, serving).
  if (auto s = dashboards.Attach(store->get(), &admission); !s.ok()) {
    return Fail(absl::StrCat("cannot scan counters: ", s.message()));
  }
  admission.SetPreviousHasher(previous_hasher.get());
  // Callers: the callers file, else the admin token for the admin surface.
  const std::string token_file = absl::GetFlag(FLAGS_admin_token_file).empty()
                                     ? absl::StrCat(data_dir, "/admin.token")
                                     : absl::GetFlag(FLAGS_admin_token_file);
  auto admin_token = LoadOrCreateAdminToken(token_file);
  if (!admin_token.ok()) return Fail(absl::StrCat("--admin_token_file: ", admin_token.status().message()));
  Authorizer authorizer(*admin_token);
  const std::string callers_file = absl::GetFlag(FLAGS_callers_file);
  if (!callers_file.empty()) {
    if (auto s = authorizer.Load(callers_file); !s.ok()) {
      return Fail(absl::StrCat("--callers_file: ", s.message()));
    }
  } else {
    QUOTAD_LOG(WARNING) << "no --callers_file: any caller that reaches --listen may charge, "
                           "refund and read any client's usage (development only)";
  }
  DecisionStats decision_stats(RealClock::Real());
  QuotaServiceImpl service(&admission, &metrics, &decision_stats,
                           absl::GetFlag(FLAGS_max_inflight_calls), &authorizer);
  EnvoyRlsServiceImpl envoy_rls(&service, RealClock::Real());

  ReplicatorOptions replication;
  replication.node_id = node_id;
  replication.peers = *peers;
  replication.gossip_interval = absl::GetFlag(FLAGS_gossip_interval);
  replication.anti_entropy_interval = absl::GetFlag(FLAGS_anti_entropy_interval);
  replication.max_clock_skew = absl::GetFlag(FLAGS_max_clock_skew);
  replication.max_pending_slots = static_cast<size_t>(absl::GetFlag(FLAGS_gossip_max_pending_slots));
  const std::unique_ptr<PeerTransport> transport =
      NewGrpcPeerTransport(tls.enabled() ? MakeChannelCredentials(tls) : nullptr);
  replication.transport = transport.get();
  Replicator replicator(&admission, store->get(), store->get(), &policy_holder, RealClock::Real(),
                        replication);
  if (auto s = replicator.RestoreRecordClock(); !s.ok()) {
    return Fail(absl::StrCat("cannot read records: ", s.message()));
  }
  if (auto s = replicator.RebuildDigests(); !s.ok()) {
    return Fail(absl::StrCat("cannot scan counters: ", s.message()));
  }
  // Every record kind is registered before the first exchange with a peer:
  // records of a kind not yet known would be refused by the start-up sync.
  OverrideStore overrides(&replicator, RealClock::Real(), hasher->get());
  AddNodeRecordKinds(&replicator);
  if (!peers->empty()) replicator.InitialSync(absl::GetFlag(FLAGS_startup_sync_timeout));
  if (auto s = overrides.Reload(); !s.ok()) return Fail(absl::StrCat("cannot read overrides: ", s.message()));
  admission.SetOverrideSource(&overrides);
  NodeAnnouncer announcer(&replicator, &policy_holder, {node_id, region, kVersion},
                          (*store)->origin());
  if (auto s = announcer.Start(); !s.ok()) {
    return Fail(absl::StrCat("cannot record node info: ", s.message()));
  }
  replicator.Start();
  GossipServiceImpl gossip_service(&replicator, /*check_certificates=*/tls.enabled());

  auto reload_policy = [&]() -> absl::Status {
    auto next = CompiledPolicy::FromFile(policy_path);
    metrics.CountPolicyReload(next.ok());
    if (!next.ok()) {
      QUOTAD_LOG(ERROR) << "policy reload rejected, keeping the current policy: "
                        << next.status().message();
      return next.status();
    }
    policy_holder.Set(*next);
    metrics.DeclareTiers(tier_names(**next));
    (*store)->SetRetention((*next)->retention());
    QUOTAD_LOG(INFO) << "policy reloaded from " << policy_path;
    return absl::OkStatus();
  };

  AdminDeps admin_deps;
  admin_deps.admission = &admission;
  admin_deps.store = store->get();
  admin_deps.audit = store->get();
  admin_deps.overrides = &overrides;
  admin_deps.replicator = &replicator;
  admin_deps.policy = &policy_holder;
  admin_deps.stats = &decision_stats;
  admin_deps.usage = dashboards.usage();
  admin_deps.near_limit = dashboards.near_limit();
  admin_deps.metrics = &metrics;
  admin_deps.hasher = hasher->get();
  admin_deps.clock = RealClock::Real();
  admin_deps.policy_path = policy_path;
  admin_deps.reload_policy = reload_policy;
  admin_deps.node_id = node_id;
  admin_deps.region = region;
  admin_deps.version = kVersion;
  admin_deps.admin_token = *admin_token;
  admin_deps.authorizer = &authorizer;
  AdminServiceImpl admin_service(std::move(admin_deps));
  replicator.SetStatsProvider([&] { return admin_service.DoGetStats(v1::GetStatsRequest()); });

  // Metrics computed at scrape time (replication, credentials, RocksDB).
  AddNodeGauges(&metrics, &replicator, store->get(), &authorizer);
  dashboards.AddGauges(&metrics, &policy_holder);
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen); !metrics_listen.empty()) {
    if (auto s = metrics.Serve(metrics_listen); !s.ok()) return Fail(absl::StrCat("--metrics_listen: ", s.message()));
    if (auto s = WritePortFile(absl::GetFlag(FLAGS_metrics_port_file), metrics.port()); !s.ok()) {
      return Fail(absl::StrCat("--metrics_port_file: ", s.message()));
    }
    QUOTAD_LOG(INFO) << "metrics on port " << metrics.port() << " (/metrics)";
  }

  // Every listener comes from StartListener, the same code the test
  // clusters use: same limits, same options.
  auto credentials = [&](ClientCertificates client_certs) {
    return tls.enabled() ? MakeServerCredentials(tls, client_certs) : nullptr;
  };
  auto quota_listener =
      StartListener(ListenerKind::kQuota, absl::GetFlag(FLAGS_listen), {&service, &envoy_rls},
                    credentials(ClientCertificates::kOptional));
  if (!quota_listener.ok()) return Fail(absl::StrCat("--listen: ", quota_listener.status().message()));
  const int port = quota_listener->port;
  std::unique_ptr<grpc::Server> server = std::move(quota_listener->server);
  std::unique_ptr<grpc::Server> peer_server;
  int peer_port = 0;
  if (!peer_listen.empty()) {
    auto peer_listener = StartListener(ListenerKind::kPeer, peer_listen, {&gossip_service},
                                       credentials(ClientCertificates::kRequired));
    if (!peer_listener.ok()) {
      return Fail(absl::StrCat("--peer_listen: ", peer_listener.status().message()));
    }
    peer_port = peer_listener->port;
    peer_server = std::move(peer_listener->server);
    if (auto s = WritePortFile(absl::GetFlag(FLAGS_peer_port_file), peer_port); !s.ok()) {
      return Fail(absl::StrCat("--peer_port_file: ", s.message()));
    }
  }
  auto admin_listener =
      StartListener(ListenerKind::kAdmin, absl::GetFlag(FLAGS_admin_listen), {&admin_service},
                    credentials(ClientCertificates::kOptional));
  if (!admin_listener.ok()) {
    return Fail(absl::StrCat("--admin_listen: ", admin_listener.status().message()));
  }
  const int admin_port = admin_listener->port;
  std::unique_ptr<grpc::Server> admin_server = std::move(admin_listener->server);
  if (auto s = WritePortFile(absl::GetFlag(FLAGS_admin_port_file), admin_port); !s.ok()) {
    return Fail(absl::StrCat("--admin_port_file: ", s.message()));
  }
  // Health follows the disk: NOT_SERVING from a failed write until the store
  // has healed itself (RocksDbCounterStore, StorageRecovery).
  std::vector<grpc::HealthCheckServiceInterface*> health = {server->GetHealthCheckService()};
  if (peer_server != nullptr) health.push_back(peer_server->GetHealthCheckService());
  (*store)->SetHealthListener([health](bool serving) {
    for (auto* h : health) h->SetServingStatus(serving);
  });
  // The main port file last: when it exists, everything is serving.
  if (auto s = WritePortFile(absl::GetFlag(FLAGS_port_file), port); !s.ok()) {
    return Fail(absl::StrCat("--port_file: ", s.message()));
  }
  QUOTAD_LOG(INFO) << "quotad node=" << node_id << " region=" << region << " serving on port "
                   << port << " (listen " << absl::GetFlag(FLAGS_listen) << "), data_dir "
                   << data_dir << ", policy " << policy_path << ", origin slot " << std::hex
                   << (*store)->origin() << std::dec
                   << (db_options.sync_writes ? ", sync writes" : "") << ", " << peers->size()
                   << " peers; peer port " << peer_port << ", admin port " << admin_port;

  // SIGHUP, or a changed file under --policy_reload_interval.
  absl::Mutex reload_mu;
  auto reload_files = [&] {
    absl::MutexLock lock(&reload_mu);
    reload_policy().IgnoreError();
    if (callers_file.empty()) return;
    if (auto s = authorizer.Load(callers_file); !s.ok()) {
      QUOTAD_LOG(ERROR) << "callers file not reloaded (the previous one stays): " << s;
    } else {
      QUOTAD_LOG(INFO) << "callers file reloaded";
    }
  };
  std::optional<FileWatcher> watcher;
  if (absl::GetFlag(FLAGS_policy_reload_interval) > absl::ZeroDuration()) {
    std::vector<std::string> watched = {policy_path};
    if (!callers_file.empty()) watched.push_back(callers_file);
    watcher.emplace(std::move(watched), absl::GetFlag(FLAGS_policy_reload_interval), reload_files);
  }
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      reload_files();
      continue;
    }
    QUOTAD_LOG(INFO) << "signal " << sig << ": draining";
    break;
  }
  watcher.reset();
  (*store)->SetHealthListener(nullptr);
  server->GetHealthCheckService()->Shutdown();
  admin_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (peer_server != nullptr) {
    peer_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMicroseconds(absl::GetFlag(FLAGS_drain_timeout)));
  QUOTAD_LOG(INFO) << "grpc server shut down";
  server->Wait();
  admission.WaitForIdle();  // group commits still being written
  replicator.Stop();
  store->reset();  // syncs the WAL and closes RocksDB
  QUOTAD_LOG(INFO) << "stopped cleanly";
  return 0;
}

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  // Debian's Abseil keeps Mutex deadlock detection on, which builds a lock
  // graph on every acquisition (seen at ~3% of CPU in profiles). Lock order
  // is enforced by design (ShardLocks sorts) and tested under TSan-free
  // stress, so turn it off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage("quotad: a regional quota node. See README.md.");
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr, "quotad: unexpected argument '%s'\n", rest[1]);
    return 2;
  }
  return quotad::Run();
}
