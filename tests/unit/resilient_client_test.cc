// MakeResilientConnection and QuotaClient::Decide over mocked nodes: the
// failover order, one request_id across retries, answers that are not
// retried, the circuit breaker, adaptive throttling, the failure policy.
#include "client/resilient_connection.h"

#include "absl/random/random.h"
#include "client/adaptive_throttle.h"

#include "client/mocks/mock_quota_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quotad::client {
namespace {

using ::testing::_;
using ::testing::Invoke;
using ::testing::Return;

v1::AcquireResponse Allowed() {
  v1::AcquireResponse r;
  r.set_allowed(true);
  return r;
}

class ResilientConnectionTest : public ::testing::Test {
 protected:
  ResilientConnectionTest() {
    options_.clock = &clock_;
    options_.initial_backoff = absl::Microseconds(100);
    options_.max_backoff = absl::Microseconds(400);
    options_.throttle_k = 0;  // random refusals: only in the tests about throttling
  }
  std::shared_ptr<QuotaConnection> Make() { return MakeResilientConnection({a_, b_}, options_); }

  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  ResilienceOptions options_;
  std::shared_ptr<MockQuotaConnection> a_ = std::make_shared<MockQuotaConnection>();
  std::shared_ptr<MockQuotaConnection> b_ = std::make_shared<MockQuotaConnection>();
};

TEST_F(ResilientConnectionTest, AFailedNodeIsRetriedOnTheNextWithTheSameRequestId) {
  std::string first_id, second_id;
  EXPECT_CALL(*a_, Acquire(_)).WillOnce(Invoke([&](const v1::AcquireRequest& r) {
    first_id = r.request_id();
    return absl::StatusOr<v1::AcquireResponse>(absl::UnavailableError("down"));
  }));
  EXPECT_CALL(*b_, Acquire(_)).WillOnce(Invoke([&](const v1::AcquireRequest& r) {
    second_id = r.request_id();
    return absl::StatusOr<v1::AcquireResponse>(Allowed());
  }));
  auto r = Make()->Acquire(v1::AcquireRequest());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->allowed());
  EXPECT_THAT(first_id, ::testing::StartsWith("qc-"));
  EXPECT_EQ(first_id.size(), 35u);
  EXPECT_EQ(first_id, second_id);  // a retry is a replay, never a second charge
}

TEST_F(ResilientConnectionTest, AnAnswerIsNotRetriedAndTheCallersRequestIdIsKept) {
  EXPECT_CALL(*a_, Acquire(_)).WillOnce(Invoke([](const v1::AcquireRequest& r) {
    EXPECT_EQ(r.request_id(), "mine");
    return absl::StatusOr<v1::AcquireResponse>(absl::InvalidArgumentError("ip: bad"));
  }));
  EXPECT_CALL(*b_, Acquire(_)).Times(0);
  v1::AcquireRequest req;
  req.set_request_id("mine");
  EXPECT_EQ(Make()->Acquire(req).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ResilientConnectionTest, AttemptsAreBoundedAndTheLastErrorIsReturned) {
  EXPECT_CALL(*a_, Check(_)).Times(2).WillRepeatedly(Return(absl::DeadlineExceededError("slow")));
  EXPECT_CALL(*b_, Check(_)).WillOnce(Return(absl::ResourceExhaustedError("busy")));
  auto r = Make()->Check(v1::AcquireRequest());  // a, b, a: max_attempts 3
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ResilientConnectionTest, AnOpenBreakerSkipsTheNodeUntilItsCooldownThenProbesIt) {
  options_.breaker_failures = 2;
  options_.max_attempts = 1;
  auto conn = Make();
  EXPECT_CALL(*a_, Check(_)).Times(2).WillRepeatedly(Return(absl::UnavailableError("down")));
  EXPECT_FALSE(conn->Check(v1::AcquireRequest()).ok());
  EXPECT_FALSE(conn->Check(v1::AcquireRequest()).ok());  // a's breaker opens
  ::testing::Mock::VerifyAndClearExpectations(a_.get());
  EXPECT_CALL(*a_, Check(_)).Times(0);
  EXPECT_CALL(*b_, Check(_)).Times(3).WillRepeatedly(Return(Allowed()));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(conn->Check(v1::AcquireRequest()).ok());
  ::testing::Mock::VerifyAndClearExpectations(a_.get());
  clock_.Advance(options_.breaker_cooldown);
  EXPECT_CALL(*a_, Check(_)).WillOnce(Return(Allowed()));  // the probe closes it
  EXPECT_TRUE(conn->Check(v1::AcquireRequest()).ok());
}

TEST_F(ResilientConnectionTest, AnOverloadedNodeGetsAboutKTimesTheCallsItAnswers) {
  options_.breaker_failures = 1'000'000;  // this test is about the throttle only
  options_.max_attempts = 1;
  options_.throttle_k = 2;  // the book's K, for round numbers
  auto conn = MakeResilientConnection({a_}, options_);
  // The node answers 10 calls a second and refuses the rest; callers want
  // 100 a second for 2 minutes (a 30 s throttle window).
  int64_t second = 0, answered_this_second = 0, sent_late = 0;
  EXPECT_CALL(*a_, Check(_)).WillRepeatedly(Invoke([&](const v1::AcquireRequest&) {
    if (second >= 60) ++sent_late;
    if (answered_this_second < 10) {
      ++answered_this_second;
      return absl::StatusOr<v1::AcquireResponse>(Allowed());
    }
    return absl::StatusOr<v1::AcquireResponse>(absl::ResourceExhaustedError("busy"));
  }));
  for (second = 0; second < 120; ++second) {
    answered_this_second = 0;
    for (int i = 0; i < 100; ++i) (void)conn->Check(v1::AcquireRequest());
    clock_.Advance(absl::Seconds(1));
  }
  // Steady state: about K x 10 calls a second reach the node, not 100.
  EXPECT_NEAR(sent_late / 60.0, options_.throttle_k * 10, 6);
}

TEST_F(ResilientConnectionTest, AHealthyNodeIsNeverThrottled) {
  options_.throttle_k = 2;
  auto conn = MakeResilientConnection({a_}, options_);
  EXPECT_CALL(*a_, Check(_)).Times(2000).WillRepeatedly(Return(Allowed()));
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(conn->Check(v1::AcquireRequest()).ok());
}

TEST(AdaptiveThrottleTest, RefusesWhileANodeFailsAndForgetsItOnceTheWindowHasPassed) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  AdaptiveThrottle throttle(2.0, absl::Seconds(10), &clock);
  absl::BitGen gen;
  for (int i = 0; i < 100; ++i) {
    if (throttle.Admit(gen)) throttle.Record(/*answered=*/false);
  }
  EXPECT_GT(throttle.RefusalProbability(), 0.9);
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(throttle.RefusalProbability(), 0);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(throttle.Admit(gen));
    throttle.Record(/*answered=*/true);
  }
  EXPECT_EQ(throttle.RefusalProbability(), 0);
}

TEST(DecideTest, TheFailurePolicyAppliesOnlyWhenNoNodeAnswers) {
  auto mock = std::make_shared<MockQuotaConnection>();
  QuotaClient client(mock);
  EXPECT_CALL(*mock, Acquire(_))
      .WillOnce(Return(absl::UnavailableError("down")))
      .WillOnce(Return(absl::UnavailableError("down")))
      .WillOnce(Return(absl::PermissionDeniedError("no charge role")))
      .WillOnce(Return(Allowed()));
  Decision open = client.Decide(v1::AcquireRequest(), FailurePolicy::kFailOpen);
  EXPECT_TRUE(open.allowed && open.degraded && !open.response);
  Decision closed = client.Decide(v1::AcquireRequest(), FailurePolicy::kFailClosed);
  EXPECT_TRUE(!closed.allowed && closed.degraded);
  Decision refused = client.Decide(v1::AcquireRequest(), FailurePolicy::kFailOpen);
  EXPECT_TRUE(!refused.allowed && !refused.degraded);
  EXPECT_EQ(refused.error.code(), absl::StatusCode::kPermissionDenied);
  Decision answered = client.Decide(v1::AcquireRequest(), FailurePolicy::kFailClosed);
  EXPECT_TRUE(answered.allowed && !answered.degraded && answered.response);
}

}  // namespace
}  // namespace quotad::client
