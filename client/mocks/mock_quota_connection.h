// gMock implementation of QuotaConnection for integrators' unit tests.
#ifndef QUOTAD_CLIENT_MOCKS_MOCK_QUOTA_CONNECTION_H_
#define QUOTAD_CLIENT_MOCKS_MOCK_QUOTA_CONNECTION_H_

#include "gmock/gmock.h"
#include "client/quota_client.h"

namespace quotad::client {

class MockQuotaConnection : public QuotaConnection {
 public:
  MOCK_METHOD(absl::StatusOr<v1::AcquireResponse>, Acquire, (const v1::AcquireRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::AcquireResponse>, Check, (const v1::AcquireRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::RefundResponse>, Refund, (const v1::RefundRequest&),
              (override));
};

}  // namespace quotad::client

#endif  // QUOTAD_CLIENT_MOCKS_MOCK_QUOTA_CONNECTION_H_
