// The usage distribution for dashboards: how many clients used exactly N
// tests over the last 24 hours (the client key's counters, KeySpace::kClient,
// over the rolling 24 h: hours [now-23, now] plus up to kAheadHours ahead of
// this node's clock, as a peer's charge may be; every origin merged, so a
// client seen in two regions is one client). Kept up to date from the
// changes this node applies, so reading it costs O(distinct usage values),
// never O(clients).
//
// Fed by the AdmissionController (UsageObserver::OnUsageChanged: charges,
// refunds, resets and slots merged from peers, each after its durable
// write) and seeded once from the store (Seed) before the first change: in
// quotad, before the node replicates or serves. Per client it keeps, in
// memory only, the first 8 bytes of its keyed hash (collisions merge two
// clients: ~1 pair in 10^7 at 2M clients), its net usage in the window, a
// bit per hour in which it has usage, and that hour's amount where it is
// not 1 (most are 1); when an hour leaves the window its amounts are taken
// back out (Advance, run by the node once a second and by every read: one
// pass over the clients, once an hour). Cost: O(1) per change; memory: a
// 16-byte table entry per active client plus one per (client, hour) whose
// amount is not 1: ~49 bytes per client on a day of mixed traffic (94 MiB
// at 2M clients, benchmarks/stats; exported as quotad_usage_tracker_bytes). Changes to other key
// spaces, other bucket units, hours that already left the window or lie further ahead are ignored.
// Clients whose net usage is 0 or less are not counted. During a hash-key rotation a client counted
// under both keys is two clients. Thread-safe.
#ifndef QUOTAD_OBSERVABILITY_USAGE_TRACKER_H_
#define QUOTAD_OBSERVABILITY_USAGE_TRACKER_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "quotad/admission/usage_observer.h"
#include "quotad/common/clock.h"
#include "quotad/storage/counter_store.h"

namespace quotad {

class UsageTracker final : public UsageObserver {
 public:
  static constexpr uint32_t kWindowHours = 24;
  static constexpr uint32_t kAheadHours = 2;

  explicit UsageTracker(Clock* clock) : clock_(clock) {}

  // Adds the store's client slots of the window. Call once, before any
  // OnUsageChanged (else a change could be counted twice).
  // Errors: Unavailable (the tracker is then partly seeded: do not serve
  // stats from it).
  absl::Status Seed(CounterStore* store);

  void OnUsageChanged(const CounterId& id, uint32_t bucket, int64_t delta) override;
  void OnDecision(const DecisionNote&) override {}

  // Takes out the hours that left the window at the clock's now.
  void Advance();

  struct Distribution {
    std::vector<std::pair<int64_t, int64_t>> buckets;  // (tests, clients), ascending tests
    int64_t clients = 0;                               // with usage > 0
  };
  Distribution Read();

  // Bytes held by the tracker's tables (their capacity, not just entries).
  size_t MemoryBytes();

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kSlots = kWindowHours + kAheadHours;  // hour % kSlots
  static_assert(kSlots <= 32, "Client::hours is a 32-bit mask of slots");
  struct Client {
    int32_t used = 0;    // net usage over the slots in `hours`
    uint32_t hours = 0;  // bit s: a nonzero amount in slot s
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<uint64_t, Client> clients ABSL_GUARDED_BY(mu);
    std::array<uint32_t, kSlots> slot_hour
        ABSL_GUARDED_BY(mu){};  // the hour a slot holds (0: none)
    // Per slot, the clients whose amount there is not 1 (most amounts are 1).
    std::array<absl::flat_hash_map<uint64_t, int32_t>, kSlots> amounts ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<int64_t, int64_t> histogram ABSL_GUARDED_BY(mu);  // usage -> clients
  };
  // Sets a client's usage, keeping the histogram in step.
  static void SetUsed(Shard& shard, Client& client, int64_t after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Takes slot `slot`'s hour out of the window: one pass over the shard's
  // clients (once an hour, off the request path: Advance).
  static void Expire(Shard& shard, size_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // Takes every slot holding an hour before `first` out of the window.
  static void ExpireBefore(Shard& shard, uint32_t first) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  Clock* clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace quotad

#endif  // QUOTAD_OBSERVABILITY_USAGE_TRACKER_H_
