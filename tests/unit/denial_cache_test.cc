// MakeDenialCachingConnection over a mocked node: a denial is answered from
// the cache until its retry_after (with what remains of it), then the node
// is asked again; admissions, shadow-mode denials and errors are never
// cached; the key is the whole request but its request_id; bans live
// max_ttl; the cache is bounded.
#include "client/denial_cache.h"

#include "client/mocks/mock_quota_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace quotad::client {
namespace {

using ::testing::_;
using ::testing::Return;

v1::AcquireResponse Denied(absl::Duration retry_after) {
  v1::AcquireResponse r;
  r.set_allowed(false);
  r.set_reason(v1::REASON_DAILY_LIMIT);
  r.mutable_retry_after()->set_seconds(absl::ToInt64Seconds(retry_after));
  return r;
}

v1::AcquireRequest Req(const std::string& ip, const std::string& request_id = "") {
  v1::AcquireRequest r;
  r.set_ip(ip);
  r.set_user_agent("ua/1");
  r.set_request_id(request_id);
  return r;
}

class DenialCacheTest : public ::testing::Test {
 protected:
  std::shared_ptr<QuotaConnection> Make(size_t max_entries = 100) {
    DenialCacheOptions options;
    options.max_entries = max_entries;
    options.now = [this] { return now_; };
    return MakeDenialCachingConnection(node_, options);
  }
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::shared_ptr<MockQuotaConnection> node_ = std::make_shared<MockQuotaConnection>();
};

TEST_F(DenialCacheTest, ADenialIsAnsweredFromTheCacheUntilItsRetryAfterAtMostMaxTtl) {
  auto cache = Make();
  EXPECT_CALL(*node_, Acquire(_)).Times(2).WillRepeatedly(Return(Denied(absl::Seconds(600))));
  auto first = cache->Acquire(Req("192.0.2.1", "r1"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->allowed());
  now_ += absl::Seconds(100);
  // Another request_id, Acquire or Check: the same decision, no call.
  auto cached = cache->Acquire(Req("192.0.2.1", "r2"));
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE(cached->allowed());
  EXPECT_EQ(cached->reason(), v1::REASON_DAILY_LIMIT);
  EXPECT_EQ(cached->retry_after().seconds(), 500);
  EXPECT_FALSE(cache->Check(Req("192.0.2.1"))->allowed());
  now_ += absl::Seconds(200);  // max_ttl (5 min) passed: the node decides again
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.1", "r3"))->allowed());
}

TEST_F(DenialCacheTest, AShortRetryAfterEndsTheEntry) {
  auto cache = Make();
  EXPECT_CALL(*node_, Acquire(_)).Times(2).WillRepeatedly(Return(Denied(absl::Seconds(60))));
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.5"))->allowed());
  now_ += absl::Seconds(59);
  EXPECT_EQ(cache->Acquire(Req("192.0.2.5"))->retry_after().seconds(), 1);  // cached
  now_ += absl::Seconds(1);
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.5"))->allowed());  // asked again
}

TEST_F(DenialCacheTest, AdmissionsShadowDenialsErrorsAndOtherRequestsReachTheNode) {
  auto cache = Make();
  v1::AcquireResponse shadow;
  shadow.set_allowed(true);
  shadow.set_shadow_denied(true);
  EXPECT_CALL(*node_, Acquire(_))
      .WillOnce(Return(shadow))
      .WillOnce(Return(shadow))
      .WillOnce(Return(absl::UnavailableError("down")))
      .WillOnce(Return(absl::UnavailableError("down")))
      .WillOnce(Return(Denied(absl::Seconds(60))))
      .WillOnce(Return(Denied(absl::Seconds(60))))
      .WillOnce(Return(Denied(absl::Seconds(60))));
  EXPECT_TRUE(cache->Acquire(Req("192.0.2.2"))->allowed());
  EXPECT_TRUE(cache->Acquire(Req("192.0.2.2"))->allowed());
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.3")).ok());
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.3")).ok());
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.4"))->allowed());
  auto cheaper = Req("192.0.2.4");
  cheaper.set_user_agent("ua/2");  // another client on the same address
  EXPECT_FALSE(cache->Acquire(cheaper)->allowed());
  auto dearer = Req("192.0.2.4");
  dearer.set_cost(3);  // another cost
  EXPECT_FALSE(cache->Acquire(dearer)->allowed());
  EXPECT_FALSE(cache->Acquire(Req("192.0.2.4"))->allowed());  // cached
}

TEST_F(DenialCacheTest, ABanWithoutRetryAfterLivesMaxTtlAndRefundsPassThrough) {
  auto cache = Make();
  v1::AcquireResponse banned;
  banned.set_allowed(false);
  banned.set_reason(v1::REASON_BANNED);
  EXPECT_CALL(*node_, Acquire(_)).Times(2).WillRepeatedly(Return(banned));
  EXPECT_CALL(*node_, Refund(_)).Times(2).WillRepeatedly(Return(v1::RefundResponse()));
  EXPECT_EQ(cache->Acquire(Req("203.0.113.9"))->reason(), v1::REASON_BANNED);
  now_ += absl::Minutes(4);
  EXPECT_EQ(cache->Acquire(Req("203.0.113.9"))->reason(), v1::REASON_BANNED);
  EXPECT_FALSE(cache->Acquire(Req("203.0.113.9"))->has_retry_after());
  now_ += absl::Minutes(2);  // past max_ttl (5 min): asked again
  EXPECT_EQ(cache->Acquire(Req("203.0.113.9"))->reason(), v1::REASON_BANNED);
  v1::RefundRequest refund;
  refund.set_request_id("x");
  EXPECT_TRUE(cache->Refund(refund).ok());
  EXPECT_TRUE(cache->Refund(refund).ok());
}

TEST_F(DenialCacheTest, AFullCacheCachesNothingNewUntilEntriesExpire) {
  auto cache = Make(/*max_entries=*/2);
  EXPECT_CALL(*node_, Acquire(_)).Times(5).WillRepeatedly(Return(Denied(absl::Seconds(60))));
  cache->Acquire(Req("192.0.2.10")).IgnoreError();
  cache->Acquire(Req("192.0.2.11")).IgnoreError();
  cache->Acquire(Req("192.0.2.12")).IgnoreError();  // full: not cached
  cache->Acquire(Req("192.0.2.12")).IgnoreError();  // asked again
  cache->Acquire(Req("192.0.2.10")).IgnoreError();  // still cached: no call
  now_ += absl::Seconds(61);                        // both expire
  cache->Acquire(Req("192.0.2.12")).IgnoreError();  // swept, asked, cached
  cache->Acquire(Req("192.0.2.12")).IgnoreError();  // cached
}

}  // namespace
}  // namespace quotad::client
