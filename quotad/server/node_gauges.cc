#include "quotad/server/node_gauges.h"

#include <utility>
#include <vector>

namespace quotad {

void AddNodeGauges(Metrics* metrics, Replicator* replicator, RocksDbCounterStore* store,
                   const Authorizer* authorizer) {
  // One gauge per peer-state field, each sample labelled with the peer.
  auto add_peer_gauge = [metrics, replicator](const char* name, const char* help,
                                                double (*value)(const v1::PeerState&)) {
    metrics->AddGauge(name, help, [replicator, value] {
      std::vector<Metrics::Sample> out;
      const v1::GossipStatusResponse status = replicator->RecentStatus(absl::Seconds(1));
      for (const auto& p : status.peers()) {
        out.push_back({{{"peer", p.node_id()}}, value(p)});
      }
      return out;
    });
  };
  add_peer_gauge("quotad_gossip_peer_up", "1 when the last contact with the peer succeeded",
                 [](const v1::PeerState& p) { return p.up() ? 1.0 : 0.0; });
  add_peer_gauge("quotad_gossip_lag_seconds",
                 "Age of the oldest slot not yet acknowledged by the peer",
                 [](const v1::PeerState& p) { return p.lag_micros() / 1e6; });
  add_peer_gauge("quotad_gossip_sent_bytes", "Push payload bytes sent to the peer since start",
                 [](const v1::PeerState& p) { return static_cast<double>(p.bytes_sent()); });
  add_peer_gauge("quotad_gossip_pending_slots", "Slots queued for the peer",
                 [](const v1::PeerState& p) { return static_cast<double>(p.pending_slots()); });
  add_peer_gauge("quotad_gossip_pending_records", "Records queued for the peer",
                 [](const v1::PeerState& p) { return static_cast<double>(p.pending_records()); });
  add_peer_gauge("quotad_gossip_pending_admissions", "Admitted request_ids queued for the peer",
                 [](const v1::PeerState& p) { return static_cast<double>(p.pending_admissions()); });
  add_peer_gauge(
      "quotad_gossip_admissions_dropped",
      "Admitted request_ids not sent to the peer (queue full): a retry there is charged again",
      [](const v1::PeerState& p) { return static_cast<double>(p.admissions_dropped()); });
  add_peer_gauge("quotad_gossip_batches_dropped",
                 "Push batches the peer refused for good (left to anti-entropy)",
                 [](const v1::PeerState& p) { return static_cast<double>(p.batches_dropped()); });
  metrics->AddGauge("quotad_gossip_errors", "Failed exchanges with a peer since start, by gRPC code",
                   [replicator] {
                     std::vector<Metrics::Sample> out;
                     const v1::GossipStatusResponse status = replicator->RecentStatus(absl::Seconds(1));
                     for (const auto& p : status.peers()) {
                       for (const auto& [code, count] : p.errors_by_code()) {
                         out.push_back({{{"peer", p.node_id()}, {"code", code}},
                                        static_cast<double>(count)});
                       }
                     }
                     return out;
                   });
  metrics->AddGauge("quotad_gossip_rejected", "Gossip input rejected since start, by reason", [replicator] {
    const auto st = replicator->RecentStatus(absl::Seconds(1));
    return std::vector<Metrics::Sample>{
        {{{"reason", "unknown_node"}}, static_cast<double>(st.rejected_unknown_node())},
        {{{"reason", "wrong_target"}}, static_cast<double>(st.rejected_wrong_target())},
        {{{"reason", "malformed"}}, static_cast<double>(st.rejected_malformed())},
        {{{"reason", "future_bucket"}}, static_cast<double>(st.rejected_future_bucket())},
        {{{"reason", "own_slot"}}, static_cast<double>(st.rejected_own_slot())},
        {{{"reason", "foreign_origin"}}, static_cast<double>(st.rejected_foreign_origin())},
        {{{"reason", "key_mismatch"}}, static_cast<double>(st.rejected_key_mismatch())},
        {{{"reason", "certificate_mismatch"}},
         static_cast<double>(st.rejected_certificate_mismatch())}};
  });
  metrics->AddGauge("quotad_auth_refused", "Calls refused for credentials since start", [authorizer] {
    std::vector<Metrics::Sample> out;
    for (auto [surface, name] : {std::pair{Surface::kQuota, "quota"}, {Surface::kAdmin, "admin"}}) {
      for (auto code : {absl::StatusCode::kUnauthenticated, absl::StatusCode::kPermissionDenied}) {
        out.push_back({{{"surface", name}, {"code", absl::StatusCodeToString(code)}},
                       static_cast<double>(authorizer->refused(surface, code))});
      }
    }
    return out;
  });
  metrics->AddGauge("quotad_rocksdb_bytes", "RocksDB sizes", [store] {
    return std::vector<Metrics::Sample>{
        {{{"kind", "sst"}}, static_cast<double>(store->IntProperty("rocksdb.total-sst-files-size"))},
        {{{"kind", "memtable"}}, static_cast<double>(store->IntProperty("rocksdb.cur-size-all-mem-tables"))}};
  });
  metrics->AddGauge("quotad_rocksdb_write_stall", "RocksDB write stall state", [store] {
    return std::vector<Metrics::Sample>{
        {{{"kind", "stopped"}}, static_cast<double>(store->IntProperty("rocksdb.is-write-stopped"))},
        {{{"kind", "delayed_write_rate"}},
         static_cast<double>(store->IntProperty("rocksdb.actual-delayed-write-rate"))}};
  });
  metrics->AddGauge("quotad_rocksdb_estimated_keys", "Estimated keys in RocksDB", [store] {
    return std::vector<Metrics::Sample>{
        {{}, static_cast<double>(store->IntProperty("rocksdb.estimate-num-keys"))}};
  });
}

}  // namespace quotad
