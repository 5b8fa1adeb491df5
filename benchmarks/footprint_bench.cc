// Footprint: charge N distinct clients once each (one client-day of tests)
// through the real AdmissionController and RocksDB store, compact, and
// report bytes on disk per client-day and the process's peak RSS. Run it for
// 1M and 10M clients: RSS must stay bounded (the counter cache and RocksDB's
// caches are bounded), disk must stay <= 200 bytes per client-day.
//   build/benchmarks/footprint_bench --clients=1000000
#include <sys/resource.h>

#include <filesystem>
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "quotad/admission/admission_controller.h"
#include "quotad/storage/rocksdb_counter_store.h"

ABSL_FLAG(int64_t, clients, 1000000, "distinct clients to charge");
ABSL_FLAG(std::string, dir, "", "data dir (default: a fresh temp dir, removed afterwards)");
ABSL_FLAG(bool, request_ids, false, "also store an idempotency record per charge");

namespace quotad {
namespace {

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".sst") total += e.file_size();
  }
  return total;
}

int Run() {
  const int64_t n = absl::GetFlag(FLAGS_clients);
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool temp = dir.empty();
  if (temp) dir = (std::filesystem::temp_directory_path() / absl::StrCat("quotad_footprint_", getpid())).string();
  std::filesystem::remove_all(dir);
  RocksDbOptions options;
  options.path = dir;
  auto store = RocksDbCounterStore::Open(options);
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    return 1;
  }
  PolicyHolder policy(CompiledPolicy::FromFile(QUOTAD_SOURCE_DIR "/deploy/policy/aup.textproto").value());
  auto hasher = IdentityHasher::Create(std::string(32, 'k')).value();
  auto admission = std::make_unique<AdmissionController>(store->get(), &policy, hasher.get(),
                                                         RealClock::Real(), nullptr,
                                                         AdmissionOptions{});
  v1::AcquireRequest req;
  req.set_user_agent("ndt7-js/0.4");
  const absl::Time start = absl::Now();
  for (int64_t c = 0; c < n; ++c) {
    // IPv4 clients spread over /24s like real users (~200 per /24).
    req.set_ip(absl::StrCat(1 + (c >> 24) % 200, ".", (c >> 16) & 255, ".", (c >> 8) & 255, ".",
                            c & 255));
    if (absl::GetFlag(FLAGS_request_ids)) req.set_request_id(absl::StrCat("r", c));
    auto r = admission->Acquire(req);
    if (!r.ok()) {
      std::cerr << r.status() << "\n";
      return 1;
    }
    if ((c + 1) % 1000000 == 0) std::cerr << (c + 1) / 1000000 << "M clients\n";
  }
  const double load_s = absl::ToDoubleSeconds(absl::Now() - start);
  if (auto s = (*store)->CompactAll(); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  const uint64_t sst = DirBytes(dir);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::cout << absl::StrFormat(
      "clients %d  load %.1fs (%.0f/s)  sst bytes %d  bytes/client-day %.1f  peak RSS %.1f MiB\n",
      n, load_s, n / load_s, sst, static_cast<double>(sst) / static_cast<double>(n),
      usage.ru_maxrss / 1024.0);
  std::cout << absl::StrFormat(
      "{\"clients\":%d,\"sst_bytes\":%d,\"bytes_per_client_day\":%.1f,\"peak_rss_mib\":%.1f}\n", n,
      sst, static_cast<double>(sst) / static_cast<double>(n), usage.ru_maxrss / 1024.0);
  admission.reset();
  store->reset();
  if (temp) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace quotad

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return quotad::Run();
}
