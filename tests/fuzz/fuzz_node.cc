#include "tests/fuzz/fuzz_node.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace quotad::fuzz {

void FuzzCheck(bool ok, absl::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "FUZZ CHECK FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

void FuzzCheckError(const absl::Status& status, absl::StatusCode code, absl::string_view what) {
  FuzzCheck(status.code() == code && !status.message().empty(),
            absl::StrCat(what, ": expected ", absl::StatusCodeToString(code),
                         " with a message, got ", status.ToString()));
}

std::shared_ptr<const CompiledPolicy> ProductionPolicy() {
  static const auto* policy = [] {
    auto p = CompiledPolicy::FromFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto");
    FuzzCheck(p.ok(), absl::StrCat("the production policy: ", p.status().ToString()));
    return new std::shared_ptr<const CompiledPolicy>(*std::move(p));
  }();
  return *policy;
}

FuzzNode& FuzzNode::Get() {
  static FuzzNode* node = new FuzzNode();  // lives until the process exits
  return *node;
}

FuzzNode::FuzzNode() : policy_(ProductionPolicy()) {
  RocksDbOptions db;
  db.path = dir_.Sub("data");
  db.node_id = kNodeId;
  db.block_cache_bytes = 8 << 20;
  auto store = RocksDbCounterStore::Open(db);
  FuzzCheck(store.ok(), absl::StrCat("open store: ", store.status().ToString()));
  store_ = *std::move(store);
  auto hasher = IdentityHasher::Create(std::string(32, 'k'));
  FuzzCheck(hasher.ok(), "identity key");
  hasher_ = *std::move(hasher);

  AdmissionOptions admission;
  admission.node_id = kNodeId;
  admission.region = "fuzz";
  admission_ = std::make_unique<AdmissionController>(store_.get(), &policy_, hasher_.get(),
                                                      &clock_, nullptr, admission);
  FuzzCheck(usage_.Seed(store_.get()).ok(), "usage seed");
  admission_->AddUsageObserver(&usage_);
  admission_->AddUsageObserver(&near_limit_);
  ReplicatorOptions replication;
  replication.node_id = kNodeId;
  replication.peers.push_back({kPeerId, "loopback"});
  replication.transport = network_.TransportFor(kNodeId);
  replicator_ = std::make_unique<Replicator>(admission_.get(), store_.get(), store_.get(),
                                             &policy_, &clock_, replication);
  FuzzCheck(replicator_->RestoreRecordClock().ok(), "record clock");
  FuzzCheck(replicator_->RebuildDigests().ok(), "digests");
  overrides_ = std::make_unique<OverrideStore>(replicator_.get(), &clock_, hasher_.get());
  AddNodeRecordKinds(replicator_.get());
  FuzzCheck(overrides_->Reload().ok(), "overrides");
  admission_->SetOverrideSource(overrides_.get());
  // Never Start()ed: no background gossip; the fuzzers call the handlers.

  AdminDeps deps;
  deps.admission = admission_.get();
  deps.store = store_.get();
  deps.audit = store_.get();
  deps.overrides = overrides_.get();
  deps.replicator = replicator_.get();
  deps.policy = &policy_;
  deps.stats = &stats_;
  deps.usage = &usage_;
  deps.near_limit = &near_limit_;
  deps.hasher = hasher_.get();
  deps.clock = &clock_;
  deps.reload_policy = [] { return absl::OkStatus(); };
  deps.node_id = kNodeId;
  deps.region = "fuzz";
  deps.version = "fuzz";
  deps.admin_token = "fuzz";
  admin_ = std::make_unique<AdminServiceImpl>(std::move(deps));
}

std::string FuzzNode::StateDigest() {
  v1::DigestRequest request;
  Authenticate(&request);
  const uint32_t hour = static_cast<uint32_t>(kFuzzNowUnixSeconds / 3600);
  request.set_from_hour(hour - 50);
  request.set_to_hour(hour + 10);
  auto response = replicator_->HandleDigest(request);
  FuzzCheck(response.ok(), absl::StrCat("digest: ", response.status().ToString()));
  return response->SerializeAsString();
}

namespace {

int64_t UsedSum(const absl::StatusOr<v1::AcquireResponse>& answer) {
  int64_t sum = 0;
  if (answer.ok()) {
    for (const v1::LimitStatus& l : answer->limits()) sum += l.used();
  }
  return sum;
}

}  // namespace

absl::StatusOr<v1::AcquireResponse> CheckedAcquire(const v1::AcquireRequest& request) {
  AdmissionController& admission = FuzzNode::Get().admission();
  const auto before = admission.Check(request);
  auto answer = admission.Acquire(request);
  if (!answer.ok()) {
    FuzzCheckError(answer.status(), absl::StatusCode::kInvalidArgument, "refused acquire");
    FuzzCheck(UsedSum(admission.Check(request)) == UsedSum(before), "a refused call charged");
    return answer;
  }
  if (answer->allowed() && !answer->shadow_denied() && !answer->replayed()) {
    for (const v1::LimitStatus& l : answer->limits()) {
      FuzzCheck(!l.exceeded(), absl::StrCat("admitted past ", l.name()));
      FuzzCheck(l.limit() <= 0 || l.used() <= l.limit(),
                absl::StrCat("admitted: ", l.name(), " used ", l.used(), " of ", l.limit()));
    }
  }
  return answer;
}

}  // namespace quotad::fuzz
