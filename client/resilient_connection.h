// A QuotaConnection over several regional quotad nodes that survives a bad
// day (node down, region partitioned, node overloaded). Wraps one
// connection per node (MakeQuotaConnection, or mocks in tests):
//
//  - Failover. Nodes are tried in the order given (the nearest first). A
//    call that fails with UNAVAILABLE, DEADLINE_EXCEEDED or
//    RESOURCE_EXHAUSTED is retried on the next node (wrapping around), after
//    a jittered exponential backoff, until `max_attempts` calls were made or
//    the next one would start after `budget`. Any other error is an answer
//    (INVALID_ARGUMENT, PERMISSION_DENIED, ...) and is returned at once.
//  - Safe retries. Every attempt sends the same request; an Acquire without
//    a request_id is given one first (`assign_request_ids`), so an answer
//    lost in flight and retried elsewhere is a replay, not a second charge,
//    once the nodes have exchanged it. Refund retries are idempotent too.
//  - Circuit breaker, per node: `breaker_failures` failures in a row open it
//    for `breaker_cooldown`, during which the node is skipped without a
//    call; then one call probes it (half open), and its success closes it.
//  - Adaptive throttling, per node (AdaptiveThrottle, adaptive_throttle.h):
//    a node that answers only part of what it is sent sees about K times
//    what it answers; a healthy node is never throttled.
//
// When no node answers, the last error is returned (UNAVAILABLE "no quotad
// node available" if every node was skipped): the caller's failure policy
// decides (QuotaClient::Decide). Every attempt still has the wrapped
// connection's own deadline, so a call takes at most `budget` plus one
// attempt's timeout. Thread-safe.
#ifndef QUOTAD_CLIENT_RESILIENT_CONNECTION_H_
#define QUOTAD_CLIENT_RESILIENT_CONNECTION_H_

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "client/quota_client.h"
#include "quotad/common/clock.h"

namespace quotad::client {

struct ResilienceOptions {
  int max_attempts = 3;
  absl::Duration budget = absl::Milliseconds(300);
  absl::Duration initial_backoff = absl::Milliseconds(2);
  absl::Duration max_backoff = absl::Milliseconds(40);
  bool assign_request_ids = true;
  int breaker_failures = 5;
  absl::Duration breaker_cooldown = absl::Seconds(5);
  // 0: no throttling. 1.1, not the SRE book's 2: a quotad node's goodput
  // collapses just above its capacity (docs/performance.md, overload), and
  // under 3x overload K=1.1 kept 51-65% of capacity answered, K=2 31-42%,
  // no throttling under 2%.
  double throttle_k = 1.1;
  absl::Duration throttle_window = absl::Seconds(30);
  // Breaker and throttle time (not the backoff sleeps). Borrowed.
  Clock* clock = RealClock::Real();
};

// `nodes`: one connection per node, in preference order; at least one.
std::shared_ptr<QuotaConnection> MakeResilientConnection(
    std::vector<std::shared_ptr<QuotaConnection>> nodes, ResilienceOptions options = {});

}  // namespace quotad::client

#endif  // QUOTAD_CLIENT_RESILIENT_CONNECTION_H_
