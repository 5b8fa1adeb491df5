// Storage faults against the real binary on a real, size-limited file
// system: the node's data dir lives on a tmpfs this test mounts, a filler
// file takes the last free byte, and the node must answer UNAVAILABLE with
// nothing charged, report NOT_SERVING, log one error, and resume by itself
// once the filler is deleted, with every acknowledged charge still counted
// (also after a restart). Needs CAP_SYS_ADMIN to mount; without it the test
// is skipped and says so (the injected-fault unit tests in
// rocksdb_counter_store_test and admission_test still run).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <signal.h>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/quota_client.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/testing/quotad_process.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::QuotadProcess;
using testing::ReadFile;
using testing::TempDir;

// One client per call, each in its own /24 (no group limit interferes).
v1::AcquireRequest Client(int i) {
  v1::AcquireRequest r;
  r.set_ip(absl::StrCat("10.", i % 256, ".", (i / 256) % 256, ".7"));
  r.set_user_agent("ndt7-js/0.1");
  r.set_service("ndt/ndt7");
  return r;
}

// Writes zeros to `path` until the file system refuses; returns bytes written.
size_t FillDisk(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  const std::vector<char> chunk(64 << 10, 0);
  size_t total = 0;
  for (;;) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  ::close(fd);
  return total;
}

int CountLines(const std::string& text, absl::string_view needle) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) n += absl::StrContains(line, needle);
  return n;
}

int64_t UsedBy(client::QuotaClient& client, const v1::AcquireRequest& req) {
  auto r = client.Check(req);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->limits(0).used() : -1;
}

TEST(StorageFaultTest, AFullDiskGivesUnavailableAndNotServingThenTheNodeResumesByItself) {
  TempDir dir;
  const std::string disk = dir.Sub("disk");
  std::filesystem::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=48m,mode=0700") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno)
                 << "): needs CAP_SYS_ADMIN; injected faults are tested in unit tests";
  }
  absl::Cleanup unmount = [&] { ::umount2(disk.c_str(), MNT_DETACH); };
  QuotadProcess node(disk + "/data", dir.Sub("node.log"));
  absl::Cleanup show_log = [&] {
    if (::testing::Test::HasFailure()) std::cerr << "node log:\n" << ReadFile(node.log_path());
  };
  ASSERT_TRUE(node.Start().ok());
  client::QuotaClient client(client::MakeQuotaConnection({node.target(), absl::Seconds(10)}));
  int next = 0;
  for (; next < 20; ++next) ASSERT_TRUE(client.Acquire(Client(next))->allowed());

  ASSERT_GT(FillDisk(disk + "/filler"), 0u);
  // Charges keep succeeding while the WAL has room in pages it already
  // holds; then the disk refuses one.
  std::vector<int> acked;
  for (int i = 0; i < next; ++i) acked.push_back(i);
  absl::Status refused;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (refused.ok() && absl::Now() < deadline) {
    auto r = client.Acquire(Client(next));
    if (r.ok()) {
      ASSERT_TRUE(r->allowed());
      acked.push_back(next);
    } else {
      refused = r.status();
    }
    ++next;
  }
  ASSERT_EQ(refused.code(), absl::StatusCode::kUnavailable)
      << "the full disk never refused a charge in 60 s: " << refused;
  ASSERT_TRUE(node.Running()) << "quotad died on a full disk:\n" << ReadFile(node.log_path());
  const int first_refused = next - 1;
  // From now on every charge is refused at once, reads still answer, and
  // health says NOT_SERVING.
  for (int i = 0; i < 20; ++i, ++next) {
    EXPECT_EQ(client.Acquire(Client(next)).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(UsedBy(client, Client(0)), 1);
  ASSERT_TRUE(testing::AwaitTrue("health NOT_SERVING", absl::Seconds(10), [&] {
                auto serving = node.Health();
                return serving.ok() && !*serving;
              }).ok());

  std::filesystem::remove(disk + "/filler");
  ASSERT_TRUE(testing::AwaitTrue("health SERVING again", absl::Seconds(20), [&] {
                auto serving = node.Health();
                return serving.ok() && *serving;
              }).ok());
  ASSERT_TRUE(client.Acquire(Client(next))->allowed());
  acked.push_back(next++);

  const std::string log = ReadFile(node.log_path());
  EXPECT_EQ(CountLines(log, "] storage failed"), 1) << log;
  EXPECT_EQ(CountLines(log, "] storage recovered"), 1) << log;
  // No line per refused call (21+ of them): RocksDB's own warnings about
  // the fault and the reopen are all.
  EXPECT_LE(CountLines(log, "W 2"), 4) << log;

  // Every acknowledged charge counted once, every refused one not at all;
  // the same after a restart from the same data dir.
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "after resuming" : "after a restart");
    for (int i : acked) ASSERT_EQ(UsedBy(client, Client(i)), 1) << "client " << i;
    for (int i = first_refused; i < first_refused + 21; ++i) {
      ASSERT_EQ(UsedBy(client, Client(i)), 0) << "client " << i;
    }
    if (round == 0) {
      ASSERT_EQ(node.StopWith(SIGTERM), 0);
      ASSERT_TRUE(node.Start().ok());
      client = client::QuotaClient(client::MakeQuotaConnection({node.target(), absl::Seconds(10)}));
    }
  }
}

}  // namespace
}  // namespace quotad
