// What admission tells the dashboards' aggregates (quotad/observability:
// UsageTracker, NearLimitTracker), so a stats call reads totals kept up to
// date instead of scanning every client.
//
// Both calls come after the fact they report (a change: right after its
// durable write), with no lock of the controller held, except a refund's or
// reset's change, reported under its counter's shard lock. Implementations
// must be fast, must not block on I/O, and must not call back into the
// controller. They receive keyed hashes only, never a raw identity.
#ifndef QUOTAD_ADMISSION_USAGE_OBSERVER_H_
#define QUOTAD_ADMISSION_USAGE_OBSERVER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "quotad/storage/keys.h"

namespace quotad {

// One decided Acquire (charged or refused; not a replay, not a Check).
struct DecisionNote {
  std::string tier;  // the tier's name
  CounterId client;  // the client key (LimitPlan::client)
  // Whether the request's usage (with its own amount) reaches 80% of a row
  // that counts the client's address, and of the integration's pool row.
  bool client_near = false;
  std::optional<CounterId> pool;  // the integration pool row's counter, if one applied
  bool pool_near = false;
};

class UsageObserver {
 public:
  virtual ~UsageObserver() = default;
  // The net count (charged - refunded, all origins) of `id` in `bucket`
  // changed by `delta` on this node: its own charge, refund or reset, or a
  // slot merged from a peer. May run concurrently from several threads.
  virtual void OnUsageChanged(const CounterId& id, uint32_t bucket, int64_t delta) = 0;
  virtual void OnDecision(const DecisionNote& note) = 0;
};

}  // namespace quotad

#endif  // QUOTAD_ADMISSION_USAGE_OBSERVER_H_
