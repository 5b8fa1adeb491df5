// Microbenchmarks of the request path pieces: identity hashing,
// classification, and a full Acquire against a real RocksDB store.
//   build/benchmarks/admission_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <filesystem>
#include <cstring>
#include <random>

#include "absl/strings/str_cat.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/storage/rocksdb_counter_store.h"

namespace quotad {
namespace {

constexpr char kPolicyPath[] = QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto";

// A RocksDB store in a fresh temp dir, removed when the benchmark ends.
class TempStore {
 public:
  explicit TempStore(const char* name)
      : dir_((std::filesystem::temp_directory_path() / absl::StrCat(name, "_", getpid())).string()) {
    std::filesystem::remove_all(dir_);
    RocksDbOptions options;
    options.path = dir_;
    store_ = std::move(RocksDbCounterStore::Open(options).value());
  }
  ~TempStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  RocksDbCounterStore* get() { return store_.get(); }

 private:
  std::string dir_;
  std::unique_ptr<RocksDbCounterStore> store_;
};

void BM_HashIpAndUserAgent(benchmark::State& state) {
  auto hasher = IdentityHasher::Create(std::string(32, 'k')).value();
  const IpAddress ip = IpAddress::Parse("192.0.2.17").value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(hasher->HashIpAndUserAgent(ip, "ndt7-js/0.1 (Chrome)"));
  }
}
BENCHMARK(BM_HashIpAndUserAgent);

void BM_Classify(benchmark::State& state) {
  auto policy = CompiledPolicy::FromFile(kPolicyPath).value();
  const ClientFacts facts{IpAddress::Parse("2001:db8::1").value(), "Mozilla/5.0 Firefox/120",
                          "ndt7-js", ""};
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Classify(facts, nullptr, nullptr, absl::Now()));
  }
}
BENCHMARK(BM_Classify);

// Full Acquire: validate, classify, hash, lock, cached read, WriteBatch with
// WAL (no fsync), response. Distinct clients so limits do not deny.
void BM_AcquireRocksDb(benchmark::State& state) {
  TempStore store("quotad_bench");
  PolicyHolder policy(CompiledPolicy::FromFile(kPolicyPath).value());
  auto hasher = IdentityHasher::Create(std::string(32, 'k')).value();
  AdmissionController admission(store.get(), &policy, hasher.get(), RealClock::Real(), nullptr,
                                {});
  v1::AcquireRequest req;
  req.set_user_agent("ndt7-js/0.1");
  uint32_t n = 0;
  for (auto _ : state) {
    ++n;
    req.set_ip(absl::StrCat("10.", (n >> 16) & 255, ".", (n >> 8) & 255, ".", n & 255));
    auto resp = admission.Acquire(req);
    benchmark::DoNotOptimize(resp);
  }
}
BENCHMARK(BM_AcquireRocksDb);

// One storage charge: the WriteBatch of three counters plus an idempotency
// record, WAL on, no fsync.
void BM_StorageCharge(benchmark::State& state) {
  TempStore store("quotad_bench_store");
  const uint32_t hour = HourOf(absl::Now());
  uint64_t n = 0;
  for (auto _ : state) {
    ++n;
    CounterDelta deltas[3];
    for (int d = 0; d < 3; ++d) {
      deltas[d].id.space = static_cast<KeySpace>(d + 1);
      std::memcpy(deltas[d].id.hash.data(), &n, sizeof(n));
      deltas[d].hour = hour;
      deltas[d].amount = 1;
    }
    IdempotencyPut put;
    std::memcpy(put.key.data(), &n, sizeof(n));
    put.expires = absl::Now() + absl::Hours(1);
    put.record = std::string(120, 'r');
    benchmark::DoNotOptimize(store.get()->Commit(deltas, &put));
  }
}
BENCHMARK(BM_StorageCharge);

// CRDT merge of one gossip batch of 1024 remote slots (max-merge through the
// admission controller: read, compare, write, cache update).
void BM_MergeGossipBatch(benchmark::State& state) {
  TempStore store("quotad_bench_merge");
  PolicyHolder policy(CompiledPolicy::FromFile(kPolicyPath).value());
  auto hasher = IdentityHasher::Create(std::string(32, 'k')).value();
  AdmissionController admission(store.get(), &policy, hasher.get(), RealClock::Real(), nullptr, {});
  const uint32_t hour = HourOf(absl::Now());
  std::vector<SlotValue> batch(1024);
  uint64_t round = 0;
  for (auto _ : state) {
    ++round;
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].key.id.space = KeySpace::kClient;
      const uint64_t id = i * 7919;
      std::memcpy(batch[i].key.id.hash.data(), &id, sizeof(id));
      batch[i].key.hour = hour;
      batch[i].key.origin = 42;
      batch[i].value = round;  // every round raises every slot
    }
    benchmark::DoNotOptimize(admission.MergeRemoteSlots(batch));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}
BENCHMARK(BM_MergeGossipBatch);

}  // namespace
}  // namespace quotad

BENCHMARK_MAIN();
