// AdmissionController under faults and overload: a full or failing disk,
// expired deadlines, cancelled calls, a full commit queue. Nothing refused
// is charged; nothing acknowledged is lost.
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/await.h"
#include "tests/unit/admission_fixture.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

TEST_F(AdmissionTest, AcquiresWhileTheDiskIsFullAreUnavailableChargeNothingAndRecover) {
  const auto req = Req("192.0.2.7");
  ASSERT_TRUE(Acquire(req).allowed());
  disk_->SetFault(testing::DiskFault::kNoSpace);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(admission_->Acquire(req).status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(Used(req), 1);  // nothing charged, and Check still answers
  disk_->SetFault(testing::DiskFault::kNone);
  ASSERT_TRUE(testing::AwaitTrue("the store heals", absl::Seconds(10), [&] {
                return rocks_->healthy();
              }).ok());
  ASSERT_TRUE(Acquire(req).allowed());
  EXPECT_EQ(Used(req), 2);
}

TEST_F(AdmissionTest, AnAcquireWhoseDeadlineHasPassedIsNotDecidedOrCharged) {
  const auto req = Req("192.0.2.7");
  absl::StatusOr<v1::AcquireResponse> result;
  CallState call;
  call.deadline = clock_.Now() - absl::Milliseconds(1);
  admission_->AcquireAsync(req, [&](absl::StatusOr<v1::AcquireResponse> r) { result = r; }, call);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Used(req), 0);
}

TEST_F(AdmissionTest, ACallCancelledBeforeItsWriteIsNotChargedAndReleasesItsReservation) {
  const auto req = Req("192.0.2.7", "ua", "req-1");
  absl::StatusOr<v1::AcquireResponse> result;
  CallState call;
  call.cancelled = [] { return true; };
  admission_->AcquireAsync(req, [&](absl::StatusOr<v1::AcquireResponse> r) { result = r; }, call);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(Used(req), 0);
  EXPECT_EQ(store_->commits(), 0);
  // The request_id is free again and charges once when retried.
  ASSERT_TRUE(Acquire(req).allowed());
  EXPECT_EQ(Used(req), 1);
}

TEST_F(AdmissionTest, ChargesWaitingPastTheirDeadlineOrPastTheQueueBoundAreNotCharged) {
  AdmissionOptions options;
  options.max_commit_queue = 2;
  MakeController(options);
  absl::Notification writing, release;
  store_->HoldFirstCommit(&writing, &release);
  // The first Acquire becomes the writer and is held inside its write.
  std::thread writer([&] { EXPECT_TRUE(Acquire(Req("10.0.0.1")).allowed()); });
  writing.WaitForNotification();
  std::vector<absl::StatusOr<v1::AcquireResponse>> results(3);
  CallState soon;
  soon.deadline = clock_.Now() + absl::Milliseconds(50);
  admission_->AcquireAsync(Req("10.0.0.2"), [&](auto r) { results[0] = r; }, soon);
  admission_->AcquireAsync(Req("10.0.0.3"), [&](auto r) { results[1] = r; });
  // The queue holds two: the third is refused at once.
  admission_->AcquireAsync(Req("10.0.0.4"), [&](auto r) { results[2] = r; });
  EXPECT_EQ(results[2].status().code(), absl::StatusCode::kResourceExhausted);
  clock_.Advance(absl::Milliseconds(60));  // the first queued call's deadline passes
  release.Notify();
  writer.join();
  admission_->WaitForIdle();
  EXPECT_EQ(results[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(results[1].ok()) << results[1].status();
  EXPECT_EQ(Used(Req("10.0.0.2")), 0);
  EXPECT_EQ(Used(Req("10.0.0.3")), 1);
  EXPECT_EQ(Used(Req("10.0.0.4")), 0);
}

// A merge's write is held open: Acquires keep deciding (no shard lock is
// held across it), and a counter loaded meanwhile counts the merged slot
// exactly once, whether the write then succeeds or fails.

TEST_F(AdmissionTest, StorageFailureIsUnavailableAndChargesNothing) {
  SetPolicy(absl::StrCat(kPolicy, "automated_burst_per_minute: 1"));
  auto req = Req("192.0.2.7", "ua", "murakami");
  req.set_request_id("during-outage");
  store_->FailCommits(true);
  auto r = admission_->Acquire(req);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  store_->FailCommits(false);
  EXPECT_EQ(Used(req), 0);
  // Neither the burst slot nor the request_id were consumed.
  auto retry = Acquire(req);
  EXPECT_TRUE(retry.allowed());
  EXPECT_FALSE(retry.replayed());
  // A read failure on a cache miss is UNAVAILABLE too.
  store_->FailReads(true);
  EXPECT_EQ(admission_->Acquire(Req("192.0.2.99")).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(admission_->Check(Req("192.0.2.98")).status().code(), absl::StatusCode::kUnavailable);
  v1::RefundRequest refund;
  refund.set_request_id("during-outage");
  EXPECT_EQ(admission_->Refund(refund).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace quotad
