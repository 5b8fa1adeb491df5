// The gauges /metrics computes at scrape time from a running node:
// replication state per peer (up, lag, bytes, queues, errors by code),
// gossip input rejected by reason, calls refused for credentials, and
// RocksDB sizes and stalls. Every pointer is borrowed and must outlive
// `metrics`' last scrape (main keeps them all to the end).
#ifndef QUOTAD_SERVER_NODE_GAUGES_H_
#define QUOTAD_SERVER_NODE_GAUGES_H_

#include "quotad/observability/metrics.h"
#include "quotad/replication/replicator.h"
#include "quotad/security/authorizer.h"
#include "quotad/storage/rocksdb_counter_store.h"

namespace quotad {

void AddNodeGauges(Metrics* metrics, Replicator* replicator, RocksDbCounterStore* store,
                   const Authorizer* authorizer);

}  // namespace quotad

#endif  // QUOTAD_SERVER_NODE_GAUGES_H_
