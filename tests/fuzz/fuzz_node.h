// A whole quotad node in one fuzzer process, without sockets: RocksDB in a
// temporary directory, the production policy file, admission controller,
// replicator (node "n1" with one configured peer "n2" on a loopback network
// that is never started), override store and admin service, wired as main()
// wires them. The clock is fixed (kFuzzNow), so seed inputs that name hours
// and expiry times stay meaningful whenever the fuzzer runs.
//
// Also the fuzzers' one assertion helper: FuzzCheck aborts with a message,
// which libFuzzer reports as a crash and saves the input.
#ifndef QUOTAD_TESTS_FUZZ_FUZZ_NODE_H_
#define QUOTAD_TESTS_FUZZ_FUZZ_NODE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "quotad/admin/admin_service.h"
#include "quotad/admin/override_store.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/common/clock.h"
#include "quotad/observability/decision_stats.h"
#include "quotad/observability/near_limit.h"
#include "quotad/observability/usage_tracker.h"
#include "quotad/policy/policy.h"
#include "quotad/replication/replicator.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/loopback_transport.h"
#include "tests/testing/temp_dir.h"

namespace quotad::fuzz {

// 2026-11-27T00:00:00Z: hour 498816 since the epoch (the seeds' hour).
inline constexpr int64_t kFuzzNowUnixSeconds = 1795737600;
inline const absl::Time kFuzzNow = absl::FromUnixSeconds(kFuzzNowUnixSeconds);

// Aborts (a libFuzzer crash) with `what` when `ok` is false.
void FuzzCheck(bool ok, absl::string_view what);
// FuzzCheck for an error status: `status` must have `code` and a message.
void FuzzCheckError(const absl::Status& status, absl::StatusCode code, absl::string_view what);

// The production AUP policy (deploy/policy/aup.textproto).
std::shared_ptr<const CompiledPolicy> ProductionPolicy();

// Acquire on the node with the request path's contract checked: a refused
// call is InvalidArgument and charges nothing (Check reads the same usage
// before and after); an enforced, fresh admission exceeds no limit and uses
// no more than a limit allows. Returns the answer.
absl::StatusOr<v1::AcquireResponse> CheckedAcquire(const v1::AcquireRequest& request);

class FuzzNode {
 public:
  static constexpr char kNodeId[] = "n1";
  static constexpr char kPeerId[] = "n2";

  // The process's one node, built on first use (aborts if it cannot be).
  static FuzzNode& Get();

  AdmissionController& admission() { return *admission_; }
  Replicator& replicator() { return *replicator_; }
  OverrideStore& overrides() { return *overrides_; }
  AdminServiceImpl& admin() { return *admin_; }
  const CompiledPolicy& policy() const { return *policy_.Current(); }
  FakeClock& clock() { return clock_; }

  // Fills a gossip request's sender fields so it passes the sender and key
  // checks (from n2 to n1, this node's key fingerprints and policy).
  template <typename Request>
  void Authenticate(Request* request) const {
    request->set_from_node_id(kPeerId);
    request->set_to_node_id(kNodeId);
    request->clear_key_fingerprints();
    for (const std::string& f : admission_->KeyFingerprints()) request->add_key_fingerprints(f);
    request->set_policy_fingerprint(policy_.Current()->fingerprint());
  }
  // Everything a peer could compare: the slot sketches of the retained
  // hours and the records digest, serialized.
  std::string StateDigest();

 private:
  FuzzNode();

  testing::TempDir dir_;
  FakeClock clock_{kFuzzNow};
  PolicyHolder policy_;
  std::unique_ptr<RocksDbCounterStore> store_;
  std::unique_ptr<IdentityHasher> hasher_;
  UsageTracker usage_{&clock_};  // outlive admission_, which reports to them
  NearLimitTracker near_limit_{&clock_};
  std::unique_ptr<AdmissionController> admission_;
  testing::LoopbackNetwork network_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<OverrideStore> overrides_;
  DecisionStats stats_{&clock_};
  std::unique_ptr<AdminServiceImpl> admin_;
};

}  // namespace quotad::fuzz

#endif  // QUOTAD_TESTS_FUZZ_FUZZ_NODE_H_
