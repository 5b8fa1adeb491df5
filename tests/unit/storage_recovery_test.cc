#include "quotad/storage/storage_recovery.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"

namespace quotad {
namespace {

// Records what the listener heard.
class Heard {
 public:
  void Add(bool healthy) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(healthy);
  }
  std::vector<bool> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<bool> calls_;
};

TEST(StorageRecoveryTest, AFailureIsReportedOnceAndHealedByRetryingUntilHealSucceeds) {
  std::atomic<int> attempts{0};
  StorageRecovery recovery(
      [&] {
        return ++attempts < 3 ? absl::UnavailableError("disk still full") : absl::OkStatus();
      },
      absl::Milliseconds(5));
  Heard heard;
  recovery.SetListener([&](bool healthy) { heard.Add(healthy); });
  EXPECT_TRUE(recovery.healthy());
  EXPECT_EQ(attempts.load(), 0);  // nothing to heal yet

  recovery.ReportFailure(absl::UnavailableError("no space"), "commit");
  recovery.ReportFailure(absl::UnavailableError("no space"), "commit");  // already failed
  ASSERT_TRUE(testing::AwaitTrue("healed", absl::Seconds(10), [&] {
                return recovery.healthy();
              }).ok());
  EXPECT_EQ(attempts.load(), 3);
  ASSERT_TRUE(testing::AwaitTrue("listener told of recovery", absl::Seconds(10), [&] {
                return heard.calls().size() == 3;
              }).ok());
  EXPECT_EQ(heard.calls(), (std::vector<bool>{true, false, true}));
}

TEST(StorageRecoveryTest, ASecondFailureAfterHealingIsReportedAgain) {
  std::atomic<int> attempts{0};
  StorageRecovery recovery([&] { return ++attempts, absl::OkStatus(); }, absl::Milliseconds(1));
  for (int round = 1; round <= 2; ++round) {
    recovery.ReportFailure(absl::UnavailableError("EIO"), "put slots");
    ASSERT_TRUE(testing::AwaitTrue("healed", absl::Seconds(10), [&] {
                  return recovery.healthy() && attempts.load() == round;
                }).ok());
  }
}

TEST(StorageRecoveryTest, StopEndsHealingAndFailuresAreStillRecorded) {
  std::atomic<int> attempts{0};
  StorageRecovery recovery([&] { return ++attempts, absl::OkStatus(); }, absl::Milliseconds(1));
  recovery.Stop();
  recovery.ReportFailure(absl::UnavailableError("EIO"), "commit");
  EXPECT_FALSE(recovery.healthy());
  recovery.Stop();  // idempotent
  EXPECT_EQ(attempts.load(), 0);  // Stop returned before the failure: heal never ran
}

}  // namespace
}  // namespace quotad
