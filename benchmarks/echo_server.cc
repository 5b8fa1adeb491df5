// The ceiling: a QuotaService with quotad's request/response shapes and
// threading (callback API, inline handlers) that does no work. quotad cannot
// beat it; quotad's throughput as a fraction of it is its efficiency.
#include <csignal>
#include <fstream>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "benchmarks/serve_until_signal.h"
#include "grpcpp/grpcpp.h"
#include "quotad/rpc/unary.h"
#include "quotad/v1/quota.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "listen address");
ABSL_FLAG(std::string, port_file, "", "write the bound port here");

namespace quotad {
namespace {

class EchoService final : public v1::QuotaService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Acquire(grpc::CallbackServerContext* ctx, const v1::AcquireRequest* req,
                                    v1::AcquireResponse* resp) override {
    // The same response shape quotad sends for an allowed interactive client.
    const absl::Time now = absl::Now();
    resp->set_allowed(true);
    resp->set_reason(v1::REASON_ALLOWED);
    resp->set_tier(req->client_name().empty() ? "interactive" : "automated");
    for (const char* name : {"client_daily", "group_daily"}) {
      v1::LimitStatus* l = resp->add_limits();
      l->set_name(name);
      l->set_limit(40);
      l->set_used(1);
      l->set_remaining(39);
      rpc::SetTimestamp(now + absl::Hours(24), l->mutable_reset_time());
    }
    rpc::SetTimestamp(now, resp->mutable_next_request());
    resp->set_node_id("echo");
    resp->set_region("local");
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const v1::AcquireRequest* req,
                                  v1::AcquireResponse* resp) override {
    return Acquire(ctx, req, resp);
  }
};

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  quotad::EchoService service;
  return quotad::bench::ServeUntilSignal(&service, absl::GetFlag(FLAGS_listen),
                                         absl::GetFlag(FLAGS_port_file), "echo_server");
}
