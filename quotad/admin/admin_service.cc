#include "quotad/admin/admin_service.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "quotad/common/logging.h"
#include "quotad/common/secret_file.h"
#include "quotad/common/status_macros.h"
#include "quotad/policy/window.h"
#include "quotad/rpc/unary.h"

namespace quotad {
namespace {

constexpr size_t kMaxReasonBytes = 1024;

using rpc::SetTimestamp;

std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) return "{}";
  return out;
}

v1::AcquireRequest ToAcquire(const v1::UsageRequest& req) {
  v1::AcquireRequest out;
  out.set_ip(req.ip());
  out.set_user_agent(req.user_agent());
  out.set_client_name(req.client_name());
  out.set_integration_id(req.integration_id());
  out.set_integration_tier(req.integration_tier());
  return out;
}

}  // namespace

absl::StatusOr<std::string> LoadOrCreateAdminToken(const std::string& path) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return absl::InternalError("RAND_bytes failed");
  const std::string fresh =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(raw), sizeof(raw)));
  QUOTAD_ASSIGN_OR_RETURN(bool created, CreateSecretFileIfAbsent(path, fresh + "\n"));
  if (created) QUOTAD_LOG(INFO) << "generated an admin token in " << path;
  auto contents = ReadSmallFile(path);
  if (!contents.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read admin token file ", path, ": ", contents.status().message()));
  }
  // The first line is the token (as quotactl reads it).
  const absl::string_view first_line = absl::string_view(*contents).substr(0, contents->find('\n'));
  const std::string token(absl::StripAsciiWhitespace(first_line));
  if (token.size() < 16) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin token in ", path, " is shorter than 16 characters"));
  }
  return token;
}

void AdminServiceImpl::Audit(grpc::CallbackServerContext* ctx, const Principal& caller,
                             const std::string& method, const std::string& target,
                             const std::string& details, const absl::Status& result) {
  v1::AuditEntry entry;
  SetTimestamp(deps_.clock->Now(), entry.mutable_time());
  entry.set_actor(absl::StrCat(caller.name.empty() ? "unauthenticated" : caller.name, "@",
                               ctx->peer()));
  entry.set_method(method);
  entry.set_target(target);
  entry.set_details(details);
  entry.set_node_id(deps_.node_id);
  entry.set_ok(result.ok());
  entry.set_error(std::string(result.message()));
  if (absl::Status s = deps_.audit->AppendAudit(entry); !s.ok()) {
    QUOTAD_LOG(ERROR) << "audit write failed for " << method << ": " << s;
  }
  QUOTAD_LOG(INFO) << "admin " << method << " " << target << (result.ok() ? " ok" : " failed");
}

absl::StatusOr<v1::Override> AdminServiceImpl::DoSetOverride(const v1::SetOverrideRequest& req,
                                                             const std::string& actor) {
  QUOTAD_ASSIGN_OR_RETURN(std::string id, deps_.overrides->IdOf(req.match()));
  auto policy = deps_.policy->Current();
  if (req.tier().empty()) return absl::InvalidArgumentError("tier: required");
  if (policy->FindTier(req.tier()) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("tier: unknown tier '", req.tier(), "'"));
  }
  if (req.daily_limit() < 0) return absl::InvalidArgumentError("daily_limit: must be >= 0");
  if (req.reason().size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: longer than ", kMaxReasonBytes, " bytes (", req.reason().size(), ")"));
  }
  if (req.has_expires_at() && req.has_ttl()) {
    return absl::InvalidArgumentError("ttl: give expires_at or ttl, not both");
  }
  const absl::Time now = deps_.clock->Now();
  v1::Override o;
  *o.mutable_match() = req.match();
  o.set_tier(req.tier());
  o.set_daily_limit(req.daily_limit());
  o.set_reason(req.reason());
  o.set_created_by(actor);
  o.set_created_on_node(deps_.node_id);
  SetTimestamp(now, o.mutable_created_at());
  if (req.has_expires_at()) {
    if (rpc::FromTimestamp(req.expires_at()) <= now) {
      return absl::InvalidArgumentError("expires_at: in the past");
    }
    *o.mutable_expires_at() = req.expires_at();
  } else if (req.has_ttl()) {
    const absl::Duration ttl = rpc::FromDuration(req.ttl());
    if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("ttl: must be positive");
    SetTimestamp(now + ttl, o.mutable_expires_at());
  }
  return deps_.overrides->Put(std::move(o));
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetOverride(grpc::CallbackServerContext* ctx,
                                                        const v1::SetOverrideRequest* req,
                                                        v1::Override* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "SetOverride", Access::kWrite, &caller)) return rejected;
  auto result = DoSetOverride(*req, absl::StrCat(caller.name, "@", ctx->peer()));
  Audit(ctx, caller, "SetOverride", result.ok() ? result->id() : "", ToJson(Hashed(*req)),
        result.status());
  return rpc::FinishUnary(ctx, std::move(result), resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteOverride(grpc::CallbackServerContext* ctx,
                                                           const v1::DeleteOverrideRequest* req,
                                                           v1::DeleteOverrideResponse* resp) {
  using R = absl::StatusOr<v1::DeleteOverrideResponse>;
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "DeleteOverride", Access::kWrite, &caller)) return rejected;
  std::string id = req->id();
  R result = [&]() -> R {
    if (id.empty()) {
      if (!req->has_match()) return absl::InvalidArgumentError("id: give an id or a match");
      QUOTAD_ASSIGN_OR_RETURN(id, deps_.overrides->IdOf(req->match()));
    }
    if (id.size() > 2048) return absl::InvalidArgumentError("id: too long");
    QUOTAD_ASSIGN_OR_RETURN(bool deleted, deps_.overrides->Delete(id));
    if (!deleted) return absl::NotFoundError(absl::StrCat("id: no override '", id, "'"));
    v1::DeleteOverrideResponse r;
    r.set_deleted(true);
    return r;
  }();
  Audit(ctx, caller, "DeleteOverride", id, ToJson(Hashed(*req)), result.status());
  return rpc::FinishUnary(ctx, std::move(result), resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListOverrides(grpc::CallbackServerContext* ctx,
                                                          const v1::ListOverridesRequest* req,
                                                          v1::ListOverridesResponse* resp) {
  using R = absl::StatusOr<v1::ListOverridesResponse>;
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "ListOverrides", Access::kRead, &caller)) return rejected;
  R result = [&]() -> R {
    QUOTAD_ASSIGN_OR_RETURN(auto list, deps_.overrides->List(req->tier()));
    v1::ListOverridesResponse r;
    for (auto& o : list) *r.add_overrides() = std::move(o);
    return r;
  }();
  return rpc::FinishUnary(ctx, std::move(result), resp);
}

absl::StatusOr<v1::UsageResponse> AdminServiceImpl::DoGetUsage(const v1::UsageRequest& req) {
  QUOTAD_ASSIGN_OR_RETURN(UsageExplanation explain, deps_.admission->Explain(ToAcquire(req)));
  // origin -> its node, from the nodes' announcements.
  QUOTAD_ASSIGN_OR_RETURN(const auto origins, ListOrigins(deps_.replicator));
  v1::UsageResponse out;
  out.set_tier(explain.decision.tier());
  out.set_tier_source(std::string(TierSourceName(explain.source)));
  out.set_override_id(explain.override_id);
  out.set_rule(explain.rule);
  for (const auto& [name, id, window, client_address] : explain.counters) {
    const HourRange range = WindowRange(window, deps_.clock->Now());
    v1::LimitUsage* usage = out.add_limits();
    for (const auto& status : explain.decision.limits()) {
      if (status.name() == name) *usage->mutable_status() = status;
    }
    std::map<std::pair<std::string, std::string>, int64_t> by_region;
    QUOTAD_RETURN_IF_ERROR(
        deps_.store
            ->ScanSlots(id.Encode(), range.first, range.last, "", SIZE_MAX,
                        [&](const SlotValue& v) {
                          auto it = origins.find(OriginHex(v.key.origin));
                          const auto where =
                              it != origins.end()
                                  ? std::make_pair(it->second.node_id, it->second.region)
                                  : std::make_pair(std::string("?"), std::string("unknown"));
                          const int64_t amount = static_cast<int64_t>(v.value);
                          by_region[{where.second, where.first}] +=
                              v.key.kind == CountKind::kCharged ? amount : -amount;
                          return true;
                        })
            .status());
    for (const auto& [where, used] : by_region) {
      v1::RegionUsage* r = usage->add_regions();
      r->set_region(where.first);
      r->set_node_id(where.second);
      r->set_used(used);
    }
  }
  *out.mutable_decision() = std::move(explain.decision);
  return out;
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetUsage(grpc::CallbackServerContext* ctx,
                                                     const v1::UsageRequest* req,
                                                     v1::UsageResponse* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "GetUsage", Access::kRead, &caller)) return rejected;
  return rpc::FinishUnary(ctx, DoGetUsage(*req), resp);
}

absl::StatusOr<v1::ResetUsageResponse> AdminServiceImpl::DoResetUsage(const v1::UsageRequest& req) {
  QUOTAD_ASSIGN_OR_RETURN(UsageExplanation explain, deps_.admission->Explain(ToAcquire(req)));
  v1::ResetUsageResponse out;
  // The rows that count the client's own address (IP+UA, IP); group,
  // integration and service counters are shared with other clients.
  std::vector<CounterId> reset;
  for (const auto& row : explain.counters) {
    const bool seen = std::find(reset.begin(), reset.end(), row.id) != reset.end();
    if (!row.client_address || seen) continue;
    reset.push_back(row.id);
    QUOTAD_ASSIGN_OR_RETURN(int64_t cleared,
                            deps_.admission->ResetCounter(row.id, UnitOfWindow(row.window)));
    out.set_cleared(out.cleared() + cleared);
  }
  return out;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResetUsage(grpc::CallbackServerContext* ctx,
                                                       const v1::UsageRequest* req,
                                                       v1::ResetUsageResponse* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "ResetUsage", Access::kWrite, &caller)) return rejected;
  auto result = DoResetUsage(*req);
  // The audit names the client by its keyed hash only.
  std::string target = "client/invalid";
  if (auto ip = IpAddress::Parse(req->ip()); ip.ok()) {
    target = absl::StrCat("client/", HashToHex(deps_.hasher->HashIpAndUserAgent(*ip, req->user_agent())));
  }
  Audit(ctx, caller, "ResetUsage", target,
        result.ok() ? absl::StrCat("{\"cleared\":", result->cleared(), "}") : "{}", result.status());
  return rpc::FinishUnary(ctx, std::move(result), resp);
}

absl::StatusOr<v1::GetPolicyResponse> AdminServiceImpl::DoGetPolicy() {
  auto policy = deps_.policy->Current();
  v1::GetPolicyResponse out;
  out.set_path(deps_.policy_path);
  std::string text;
  google::protobuf::TextFormat::PrintToString(policy->proto(), &text);
  out.set_textproto(text);
  SetTimestamp(policy_loaded_at_, out.mutable_loaded_at());
  return out;
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetPolicy(grpc::CallbackServerContext* ctx,
                                                      const v1::GetPolicyRequest*,
                                                      v1::GetPolicyResponse* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "GetPolicy", Access::kRead, &caller)) return rejected;
  return rpc::FinishUnary(ctx, DoGetPolicy(), resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReloadPolicy(grpc::CallbackServerContext* ctx,
                                                         const v1::ReloadPolicyRequest*,
                                                         v1::GetPolicyResponse* resp) {
  using R = absl::StatusOr<v1::GetPolicyResponse>;
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "ReloadPolicy", Access::kWrite, &caller)) return rejected;
  absl::Status reloaded = deps_.reload_policy();
  if (reloaded.ok()) policy_loaded_at_ = absl::Now();
  Audit(ctx, caller, "ReloadPolicy", deps_.policy_path, "{}", reloaded);
  if (!reloaded.ok()) return rpc::FinishUnary(ctx, R(reloaded), resp);
  return rpc::FinishUnary(ctx, DoGetPolicy(), resp);
}

absl::StatusOr<v1::ClusterStatusResponse> AdminServiceImpl::DoClusterStatus() {
  QUOTAD_ASSIGN_OR_RETURN(const auto nodes, ListNodes(deps_.replicator));
  const v1::GossipStatusResponse gossip = deps_.replicator->Status();
  v1::ClusterStatusResponse out;
  v1::NodeStatus* self = out.mutable_self();
  self->set_node_id(deps_.node_id);
  self->set_region(deps_.region);
  self->set_version(deps_.version);
  self->set_up(true);
  SetTimestamp(absl::Now(), self->mutable_last_contact());
  if (!gossip.key_fingerprints().empty()) self->set_key_fingerprint(gossip.key_fingerprints(0));
  self->set_policy_fingerprint(gossip.policy_fingerprint());
  for (const v1::PeerState& p : gossip.peers()) {
    v1::NodeStatus* n = out.add_peers();
    n->set_node_id(p.node_id());
    n->set_address(p.address());
    n->set_up(p.up());
    if (auto it = nodes.find(p.node_id()); it != nodes.end()) {
      n->set_region(it->second.region);
      n->set_version(it->second.version);
    }
    if (p.last_contact_unix_micros() > 0) {
      SetTimestamp(absl::FromUnixMicros(p.last_contact_unix_micros()), n->mutable_last_contact());
    }
    rpc::SetDuration(absl::Microseconds(p.lag_micros()), n->mutable_replication_lag());
    n->set_pending_slots(p.pending_slots());
    n->set_errors(p.errors());
    n->set_last_error(p.last_error());
    *n->mutable_errors_by_code() = p.errors_by_code();
    n->set_pending_records(p.pending_records());
    n->set_key_mismatch(p.key_mismatch());
    n->set_policy_differs(p.policy_differs());
    if (p.policy_differs()) n->set_policy_fingerprint(p.policy_fingerprint());
  }
  return out;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ClusterStatus(grpc::CallbackServerContext* ctx,
                                                          const v1::ClusterStatusRequest*,
                                                          v1::ClusterStatusResponse* resp) {
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "ClusterStatus", Access::kRead, &caller)) return rejected;
  return rpc::FinishUnary(ctx, DoClusterStatus(), resp);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListAudit(grpc::CallbackServerContext* ctx,
                                                      const v1::ListAuditRequest* req,
                                                      v1::ListAuditResponse* resp) {
  using R = absl::StatusOr<v1::ListAuditResponse>;
  Principal caller;
  if (auto* rejected = RejectUnauthorized(ctx, resp, "ListAudit", Access::kRead, &caller)) return rejected;
  R result = [&]() -> R {
    if (req->limit() > 1000) return absl::InvalidArgumentError("limit: at most 1000");
    QUOTAD_ASSIGN_OR_RETURN(auto entries, deps_.audit->ListAudit(req->limit() == 0 ? 100 : req->limit()));
    v1::ListAuditResponse r;
    for (auto& e : entries) *r.add_entries() = std::move(e);
    return r;
  }();
  return rpc::FinishUnary(ctx, std::move(result), resp);
}

}  // namespace quotad
