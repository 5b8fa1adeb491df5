// gRPC AdminService: operator and dashboard calls. Every call must carry
// "authorization: Bearer <token>" (UNAUTHENTICATED otherwise); every mutating
// call is written to the audit log (identities hashed). Validation errors
// are INVALID_ARGUMENT naming the field and change nothing.
#ifndef QUOTAD_ADMIN_ADMIN_SERVICE_H_
#define QUOTAD_ADMIN_ADMIN_SERVICE_H_

#include <functional>
#include <string>

#include "quotad/admin/node_records.h"
#include "quotad/admin/override_store.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/observability/decision_stats.h"
#include "quotad/observability/metrics.h"
#include "quotad/observability/near_limit.h"
#include "quotad/observability/usage_tracker.h"
#include "quotad/replication/replicator.h"
#include "quotad/rpc/offload.h"
#include "quotad/rpc/unary.h"
#include "quotad/security/authorizer.h"
#include "quotad/storage/audit_store.h"
#include "quotad/storage/counter_store.h"
#include "quotad/v1/admin.grpc.pb.h"

namespace quotad {

// Everything the admin service works on. All pointers borrowed.
struct AdminDeps {
  AdmissionController* admission = nullptr;
  CounterStore* store = nullptr;
  AuditStore* audit = nullptr;
  OverrideStore* overrides = nullptr;
  Replicator* replicator = nullptr;
  PolicyHolder* policy = nullptr;
  DecisionStats* stats = nullptr;
  UsageTracker* usage = nullptr;           // the usage distribution
  NearLimitTracker* near_limit = nullptr;  // near-limit counts
  Metrics* metrics = nullptr;  // may be null
  const IdentityHasher* hasher = nullptr;
  Clock* clock = nullptr;
  std::string policy_path;
  // Re-reads and swaps the policy (the same path as SIGHUP).
  std::function<absl::Status()> reload_policy;
  std::string node_id;
  std::string region;
  std::string version;
  std::string admin_token;
  // Who may call what (callers file, roles). Null: admin_token alone, as
  // before callers files (the service makes its own Authorizer). Borrowed.
  const Authorizer* authorizer = nullptr;
};

// Reads the admin bearer token from `path` (whitespace trimmed), creating it
// with 32 random bytes, hex, mode 0600 if absent. Errors: FailedPrecondition
// for an empty or unreadable file.
absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& path);

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  explicit AdminServiceImpl(AdminDeps deps)
      : deps_(std::move(deps)),
        own_authorizer_(deps_.authorizer == nullptr
                            ? std::make_unique<Authorizer>(deps_.admin_token)
                            : nullptr),
        authorizer_(deps_.authorizer != nullptr ? deps_.authorizer : own_authorizer_.get()) {}

  grpc::ServerUnaryReactor* SetOverride(grpc::CallbackServerContext* ctx,
                                        const v1::SetOverrideRequest* req,
                                        v1::Override* resp) override;
  grpc::ServerUnaryReactor* DeleteOverride(grpc::CallbackServerContext* ctx,
                                           const v1::DeleteOverrideRequest* req,
                                           v1::DeleteOverrideResponse* resp) override;
  grpc::ServerUnaryReactor* ListOverrides(grpc::CallbackServerContext* ctx,
                                          const v1::ListOverridesRequest* req,
                                          v1::ListOverridesResponse* resp) override;
  grpc::ServerUnaryReactor* GetUsage(grpc::CallbackServerContext* ctx, const v1::UsageRequest* req,
                                     v1::UsageResponse* resp) override;
  grpc::ServerUnaryReactor* ResetUsage(grpc::CallbackServerContext* ctx,
                                       const v1::UsageRequest* req,
                                       v1::ResetUsageResponse* resp) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* ctx,
                                      const v1::GetPolicyRequest* req,
                                      v1::GetPolicyResponse* resp) override;
  grpc::ServerUnaryReactor* ReloadPolicy(grpc::CallbackServerContext* ctx,
                                         const v1::ReloadPolicyRequest* req,
                                         v1::GetPolicyResponse* resp) override;
  grpc::ServerUnaryReactor* ClusterStatus(grpc::CallbackServerContext* ctx,
                                          const v1::ClusterStatusRequest* req,
                                          v1::ClusterStatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListAudit(grpc::CallbackServerContext* ctx,
                                      const v1::ListAuditRequest* req,
                                      v1::ListAuditResponse* resp) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* ctx,
                                     const v1::GetStatsRequest* req,
                                     v1::StatsResponse* resp) override;
  grpc::ServerUnaryReactor* GetUsageReport(grpc::CallbackServerContext* ctx,
                                           const v1::UsageReportRequest* req,
                                           v1::UsageReport* resp) override;

  // The logic behind each RPC, callable without gRPC (tests).
  absl::StatusOr<v1::Override> DoSetOverride(const v1::SetOverrideRequest& req,
                                             const std::string& actor);
  absl::StatusOr<v1::UsageResponse> DoGetUsage(const v1::UsageRequest& req);
  absl::StatusOr<v1::ResetUsageResponse> DoResetUsage(const v1::UsageRequest& req);
  absl::StatusOr<v1::GetPolicyResponse> DoGetPolicy();
  absl::StatusOr<v1::ClusterStatusResponse> DoClusterStatus();
  // This node's own aggregates, or with `req.cluster` every node's merged
  // (admin_stats.cc; blocks up to kClusterStatsTimeout for the peers: the
  // RPC runs it off gRPC's callback threads, at most kMaxClusterCalls at
  // once, RESOURCE_EXHAUSTED beyond).
  absl::StatusOr<v1::StatsResponse> DoGetStats(const v1::GetStatsRequest& req);
  static constexpr absl::Duration kClusterStatsTimeout = absl::Seconds(3);
  static constexpr int kMaxClusterCalls = 4;
  // One usage meter's days from this node's merged copy (admin_stats.cc).
  absl::StatusOr<v1::UsageReport> DoGetUsageReport(const v1::UsageReportRequest& req);

 private:
  // Admin writes need "admin"; reads "admin" or "admin_read".
  enum class Access { kRead, kWrite };

  // A caller without the roles `access` needs gets the Authorizer's error (a
  // refused write is also audited) and its reactor is returned; otherwise
  // null, with `caller` set, and the handler goes on.
  template <typename Response>
  grpc::ServerUnaryReactor* RejectUnauthorized(grpc::CallbackServerContext* ctx,
                                               Response* response, const char* method,
                                               Access access, Principal* caller) {
    absl::StatusOr<Principal> who =
        access == Access::kWrite
            ? authorizer_->Authorize(*ctx, Surface::kAdmin, {Role::kAdmin})
            : authorizer_->Authorize(*ctx, Surface::kAdmin, {Role::kAdmin, Role::kAdminRead});
    if (who.ok()) {
      *caller = *std::move(who);
      return nullptr;
    }
    if (access == Access::kWrite) Audit(ctx, Principal{}, method, "", "", who.status());
    return rpc::FinishUnary(ctx, absl::StatusOr<Response>(who.status()), response);
  }
  // `request` as the audit log keeps it: a single address as its ip_hash
  // (an unparsable one dropped), never raw.
  template <typename Request>
  Request Hashed(Request request) const {
    if (auto stored = deps_.overrides->Stored(request.match()); stored.ok()) {
      *request.mutable_match() = *std::move(stored);
    } else {
      request.mutable_match()->clear_ip();
    }
    return request;
  }
  void Audit(grpc::CallbackServerContext* ctx, const Principal& caller, const std::string& method,
             const std::string& target, const std::string& details, const absl::Status& result);

  AdminDeps deps_;
  const std::unique_ptr<Authorizer> own_authorizer_;
  const Authorizer* authorizer_;
  // Last: destroyed first, waiting for the cluster calls that use the above.
  rpc::Offloader cluster_calls_{kMaxClusterCalls};
  absl::Time policy_loaded_at_ = absl::Now();
};

}  // namespace quotad

#endif  // QUOTAD_ADMIN_ADMIN_SERVICE_H_
