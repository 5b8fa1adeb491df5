// A cache of denials until their retry_after, as a QuotaConnection
// decorator: once a node refused a client, the same request is answered from
// the cache until the moment the node told the client to come back, without
// a call, so a client hammering past its limit costs neither the caller's
// latency budget nor the nodes anything.
//
//  - Only denials are cached (`allowed` false): an admission must reach a
//    node to be charged, and a shadow-mode denial is an admission. Errors
//    are never cached.
//  - The key is everything that decides: ip, user_agent, client_name,
//    integration_id, integration_tier, service and cost (a cheaper request
//    may fit where a dearer one did not); request_id is not part of it.
//  - An entry lives until the answer's retry_after, at most `max_ttl` (an
//    operator may lift a ban or raise a limit meanwhile; a ban has no
//    retry_after and lives `max_ttl`). A hit's retry_after is what remains.
//  - Acquire and Check share the cache (the same decision); Refund passes
//    through.
//  - Bounded: at most `max_entries`; when full, the expired entries are
//    swept (at most once a second) and, while it stays full, new denials
//    are not cached (calls go to the nodes as without the cache).
// Thread-safe.
#ifndef QUOTAD_CLIENT_DENIAL_CACHE_H_
#define QUOTAD_CLIENT_DENIAL_CACHE_H_

#include <functional>
#include <memory>

#include "absl/time/time.h"
#include "client/quota_client.h"

namespace quotad::client {

struct DenialCacheOptions {
  size_t max_entries = 100000;
  absl::Duration max_ttl = absl::Minutes(5);
  std::function<absl::Time()> now = [] { return absl::Now(); };
};

std::shared_ptr<QuotaConnection> MakeDenialCachingConnection(std::shared_ptr<QuotaConnection> inner,
                                                             DenialCacheOptions options = {});

}  // namespace quotad::client

#endif  // QUOTAD_CLIENT_DENIAL_CACHE_H_
