// The AdmissionController test fixture: a real RocksDB store behind a
// fault-injecting wrapper and file system, a fake clock, a small policy.
#ifndef QUOTAD_TESTS_UNIT_ADMISSION_FIXTURE_H_
#define QUOTAD_TESTS_UNIT_ADMISSION_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/storage/rocksdb_counter_store.h"
#include "tests/testing/fault_fs.h"
#include "tests/testing/fault_injecting_store.h"
#include "tests/testing/temp_dir.h"

namespace quotad {

inline constexpr char kPolicy[] = R"pb(
  tiers { name: "interactive" daily_limit: 40 group_daily_limit: 100 }
  tiers { name: "automated" daily_limit: 4 automated: true integration_daily_limit: 50 }
  tiers { name: "daily" daily_limit: 3 window: CALENDAR_DAY_UTC }
  tiers { name: "small-group" daily_limit: 10 group_daily_limit: 3 }
  tiers { name: "shadow" daily_limit: 2 enforce: false }
  tiers { name: "registered-2" daily_limit: 6 claimable: true claim_aliases: "2" }
  tiers { name: "banned" banned: true }
  overrides { cidr: "203.0.113.0/24" tier: "banned" }
  overrides { client_name: "calendar" tier: "daily" }
  overrides { client_name: "groupy" tier: "small-group" }
  overrides { client_name: "shady" tier: "shadow" }
  rules { client_name: "murakami" tier: "automated" }
  integration_caps { integration_id: "fleet-7" daily_limit: 5 }
  rules { client_name: "fleet" tier: "automated" }
  max_cost: 5
  denial_jitter_seconds: 600
  burst_jitter_seconds: 30
)pb";

inline absl::Time At(const char* text) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, text, &t, &err)) << err;
  return t;
}

inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}
inline absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

inline v1::AcquireRequest Req(const std::string& ip, const std::string& ua = "Mozilla/5.0",
                       const std::string& client_name = "") {
  v1::AcquireRequest r;
  r.set_ip(ip);
  r.set_user_agent(ua);
  r.set_client_name(client_name);
  r.set_service("ndt/ndt7");
  return r;
}

inline const v1::LimitStatus* FindLimit(const v1::AcquireResponse& r, const std::string& name) {
  for (const auto& l : r.limits()) {
    if (l.name() == name) return &l;
  }
  return nullptr;
}

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest() : clock_(At("2026-11-26T10:30:00Z")) {
    RocksDbOptions options;
    options.path = dir_.Sub("db");
    options.node_id = "n1";
    options.clock = &clock_;
    options.file_system = disk_;
    options.recovery_retry = absl::Milliseconds(5);
    rocks_ = std::move(RocksDbCounterStore::Open(options).value());
    store_ = std::make_unique<testing::FaultInjectingStore>(rocks_.get());
    SetPolicy(kPolicy);
    hasher_ = std::move(IdentityHasher::Create(std::string(32, 's')).value());
    MakeController({});
  }

  void SetPolicy(const std::string& text) {
    auto p = CompiledPolicy::FromText(text, "test");
    ASSERT_TRUE(p.ok()) << p.status();
    if (!policy_) {
      policy_ = std::make_unique<PolicyHolder>(*p);
    } else {
      policy_->Set(*p);
    }
  }

  void MakeController(AdmissionOptions options) {
    options.node_id = "n1";
    options.region = "eu";
    admission_ = std::make_unique<AdmissionController>(store_.get(), policy_.get(), hasher_.get(),
                                                       &clock_, nullptr, options);
  }

  v1::AcquireResponse Acquire(const v1::AcquireRequest& r) {
    auto resp = admission_->Acquire(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::AcquireResponse();
  }
  int64_t Used(const v1::AcquireRequest& r, const std::string& limit = "client_daily") {
    auto resp = admission_->Check(r);
    EXPECT_TRUE(resp.ok()) << resp.status();
    const v1::LimitStatus* l = FindLimit(*resp, limit);
    return l ? l->used() : -1;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::shared_ptr<testing::FaultInjectingFileSystem> disk_ =
      std::make_shared<testing::FaultInjectingFileSystem>();
  std::unique_ptr<RocksDbCounterStore> rocks_;
  std::unique_ptr<testing::FaultInjectingStore> store_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<IdentityHasher> hasher_;
  std::unique_ptr<AdmissionController> admission_;
};

}  // namespace quotad

#endif  // QUOTAD_TESTS_UNIT_ADMISSION_FIXTURE_H_
