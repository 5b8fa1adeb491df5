// Idempotency and refunds: a request_id names one test of one client; its
// replays answer the first answer and charge nothing; Refund gives it back
// once.
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/admission_fixture.h"

namespace quotad {
namespace {

using ::testing::HasSubstr;

TEST_F(AdmissionTest, ReplayedRequestIdReturnsTheFirstAnswerAndChargesOnce) {
  auto req = Req("192.0.2.7");
  req.set_request_id("token-1");
  auto first = Acquire(req);
  ASSERT_TRUE(first.allowed());
  EXPECT_FALSE(first.replayed());
  clock_.Advance(absl::Minutes(10));  // replays are kept at least 10 minutes
  auto again = Acquire(req);
  EXPECT_TRUE(again.replayed());
  EXPECT_TRUE(again.allowed());
  EXPECT_EQ(again.next_request().seconds(), first.next_request().seconds());
  // The stored answer is the first answer, field for field.
  auto stored = again;
  stored.clear_replayed();
  EXPECT_EQ(stored.SerializeAsString(), first.SerializeAsString());
  ASSERT_EQ(again.limits_size(), first.limits_size());
  EXPECT_EQ(Used(req), 1);
  // Past the TTL (1 h default) the id is forgotten and charges anew.
  clock_.Advance(absl::Minutes(51));
  EXPECT_FALSE(Acquire(req).replayed());
  EXPECT_EQ(Used(req), 2);
}

TEST_F(AdmissionTest, ADenialIsNotRecordedSoItsReplayIsDecidedAgain) {
  const auto plain = Req("192.0.2.7");
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Acquire(plain).allowed());
  const int commits = store_->commits();
  auto req = plain;
  req.set_request_id("late");
  EXPECT_FALSE(Acquire(req).allowed());
  EXPECT_EQ(store_->commits(), commits);  // a denial writes nothing
  auto replay = Acquire(req);
  EXPECT_FALSE(replay.replayed());
  EXPECT_FALSE(replay.allowed());
  // Once capacity frees, the same request_id is admitted and charged once.
  clock_.Advance(absl::Hours(24));
  auto later = Acquire(req);
  EXPECT_TRUE(later.allowed());
  EXPECT_FALSE(later.replayed());
  auto again = Acquire(req);
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(Used(req), 1);
}

TEST_F(AdmissionTest, ARequestIdReplayedForAnotherClientIsRefusedAndChargesNothing) {
  auto mine = Req("192.0.2.7");
  mine.set_request_id("token-7");
  ASSERT_TRUE(Acquire(mine).allowed());
  for (const v1::AcquireRequest& other :
       {Req("192.0.2.8"), Req("192.0.2.7", "another-agent/1.0")}) {
    auto replay = other;
    replay.set_request_id("token-7");
    auto r = admission_->Acquire(replay);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("request_id: already used"));
    EXPECT_EQ(Used(other), 0);
  }
  EXPECT_TRUE(Acquire(mine).replayed());  // the client itself still replays
  EXPECT_EQ(Used(mine), 1);
}

TEST_F(AdmissionTest, AReplayAfterARefundSaysItWasRefundedAndChargesNothing) {
  auto req = Req("192.0.2.7");
  req.set_request_id("tok-r");
  ASSERT_TRUE(Acquire(req).allowed());
  v1::RefundRequest refund;
  refund.set_request_id("tok-r");
  ASSERT_TRUE(admission_->Refund(refund).ok());
  auto replay = Acquire(req);
  EXPECT_TRUE(replay.replayed());
  EXPECT_TRUE(replay.refunded());
  EXPECT_EQ(Used(req), 0);
}

TEST_F(AdmissionTest, RefundGivesBackOnceAndNeverBelowZero) {
  auto req = Req("192.0.2.7");
  req.set_request_id("tok");
  req.set_cost(3);
  ASSERT_TRUE(Acquire(req).allowed());
  EXPECT_EQ(Used(req), 3);
  v1::RefundRequest refund;
  refund.set_request_id("tok");
  auto r = admission_->Refund(refund);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->refunded());
  EXPECT_EQ(r->refunded_cost(), 3);
  EXPECT_EQ(Used(req), 0);
  EXPECT_EQ(Used(req, "group_daily"), 0);
  auto again = admission_->Refund(refund);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->refunded());
  EXPECT_EQ(Used(req), 0);
  // The refund survives a cold cache (it is in RocksDB, not just memory).
  MakeController({});
  EXPECT_EQ(Used(req), 0);
}

TEST_F(AdmissionTest, RefundOfUnknownOrDeniedRequest) {
  v1::RefundRequest refund;
  refund.set_request_id("never-seen");
  EXPECT_EQ(admission_->Refund(refund).status().code(), absl::StatusCode::kNotFound);
  auto banned = Req("203.0.113.1");
  banned.set_request_id("denied-one");
  ASSERT_FALSE(Acquire(banned).allowed());
  refund.set_request_id("denied-one");
  EXPECT_EQ(admission_->Refund(refund).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AdmissionTest, ConcurrentReplaysOfOneRequestIdChargeOnce) {
  auto req = Req("192.0.2.7");
  req.set_request_id("same");
  std::vector<std::thread> threads;
  std::atomic<int> fresh{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      auto r = admission_->Acquire(req);
      if (r.ok() && !r->replayed()) ++fresh;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_EQ(Used(req), 1);
}

TEST_F(AdmissionTest, RefundWithoutRequestIdIsInvalid) {
  v1::RefundRequest refund;
  auto r = admission_->Refund(refund);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("request_id: required"));
  refund.set_request_id(std::string(2000, 'x'));
  r = admission_->Refund(refund);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("request_id: longer than"));
}

}  // namespace
}  // namespace quotad
