// The peer baseline: a gRPC rate-limit service in front of Redis, the
// architecture of envoyproxy/ratelimit and of the platform's current limiter.
// Acquire does, per dimension (IP+User-Agent, address group), one round trip
// to Redis pipelining INCRBY and EXPIRE on a per-day key, then compares the
// counts with the limits (40/day interactive, 4/day for client_name
// murakami; 2000 per /24 or /48). Keys hold raw identities, as those services
// do. One Redis connection per server thread.
#include <hiredis/hiredis.h>

#include <csignal>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/serve_until_signal.h"
#include "grpcpp/grpcpp.h"
#include "quotad/identity/ip_address.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/quota.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "listen address");
ABSL_FLAG(std::string, port_file, "", "write the bound port here");
ABSL_FLAG(int, redis_port, 6390, "redis-server port on 127.0.0.1");

namespace quotad {
namespace {

redisContext* Connection() {
  thread_local redisContext* ctx = nullptr;
  if (ctx == nullptr || ctx->err) {
    if (ctx) redisFree(ctx);
    ctx = redisConnect("127.0.0.1", absl::GetFlag(FLAGS_redis_port));
  }
  return ctx;
}

class RedisLimiter final : public v1::QuotaService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Acquire(grpc::CallbackServerContext* ctx, const v1::AcquireRequest* req,
                                    v1::AcquireResponse* resp) override {
    auto* reactor = ctx->DefaultReactor();
    auto ip = IpAddress::Parse(req->ip());
    if (!ip.ok()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ip: malformed"));
      return reactor;
    }
    const int64_t cost = req->has_cost() ? req->cost() : 1;
    const bool automated = req->client_name() == "murakami";
    const int64_t day = absl::ToUnixSeconds(absl::Now()) / 86400;
    const std::string keys[2] = {
        absl::StrCat("rl:ipua:", req->ip(), ":", req->user_agent(), ":", day),
        absl::StrCat("rl:grp:", ip->Masked(ip->is_v4() ? 24 : 48).ToString(), ":", day)};
    const int64_t limits[2] = {automated ? 4 : 40, 2000};
    redisContext* c = Connection();
    bool allowed = true;
    const absl::Time now = absl::Now();
    for (int d = 0; d < 2; ++d) {
      redisAppendCommand(c, "INCRBY %b %lld", keys[d].data(), keys[d].size(),
                         static_cast<long long>(cost));
      redisAppendCommand(c, "EXPIRE %b 86400", keys[d].data(), keys[d].size());
      redisReply* incr = nullptr;
      redisReply* expire = nullptr;
      if (redisGetReply(c, reinterpret_cast<void**>(&incr)) != REDIS_OK ||
          redisGetReply(c, reinterpret_cast<void**>(&expire)) != REDIS_OK || incr == nullptr) {
        if (incr) freeReplyObject(incr);
        if (expire) freeReplyObject(expire);
        reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "redis unavailable"));
        return reactor;
      }
      const int64_t used = incr->integer;
      freeReplyObject(incr);
      freeReplyObject(expire);
      v1::LimitStatus* l = resp->add_limits();
      l->set_name(d == 0 ? "client_daily" : "group_daily");
      l->set_limit(limits[d]);
      l->set_used(used);
      l->set_remaining(std::max<int64_t>(0, limits[d] - used));
      l->set_exceeded(used > limits[d]);
      rpc::SetTimestamp(absl::FromUnixSeconds((day + 1) * 86400), l->mutable_reset_time());
      allowed &= used <= limits[d];
    }
    resp->set_allowed(allowed);
    resp->set_reason(allowed ? v1::REASON_ALLOWED : v1::REASON_DAILY_LIMIT);
    resp->set_tier(automated ? "automated" : "interactive");
    rpc::SetTimestamp(now, resp->mutable_next_request());
    resp->set_node_id("redis-peer");
    resp->set_region("local");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  quotad::RedisLimiter service;
  return quotad::bench::ServeUntilSignal(&service, absl::GetFlag(FLAGS_listen),
                                         absl::GetFlag(FLAGS_port_file), "redis_limiter");
}
