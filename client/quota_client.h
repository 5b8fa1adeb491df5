// Client library for quotad.v1.QuotaService, in the google-cloud-cpp shape:
// QuotaClient is a cheap value type over a shared QuotaConnection; tests mock
// the connection (mocks/mock_quota_connection.h).
//
// Every call carries a deadline (ClientOptions::timeout). Over several nodes,
// MakeResilientConnection (resilient_connection.h) adds failover, safe
// retries, circuit breakers and adaptive throttling;
// MakeDenialCachingConnection (denial_cache.h) answers repeated denials
// from memory until their retry_after. When no node answers,
// Decide applies the caller's FailurePolicy: the locate service should fail
// open with a short timeout (quotad's outage must not become the platform's).
#ifndef QUOTAD_CLIENT_QUOTA_CLIENT_H_
#define QUOTAD_CLIENT_QUOTA_CLIENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "quotad/rpc/tls.h"
#include "quotad/v1/quota.pb.h"

namespace quotad::client {

struct ClientOptions {
  // gRPC target, e.g. "127.0.0.1:50051" or "dns:///quotad.example:50051".
  std::string target;
  // Per-call deadline.
  absl::Duration timeout = absl::Milliseconds(250);
  // TLS: the CA that verifies the node (required for TLS), and a client
  // certificate and key for mTLS (optional). All empty: plaintext. Files are
  // re-read every second; check them first with CheckClientTlsFiles.
  TlsFiles tls = {};
  // Sent as "authorization: Bearer <token>" on every call when set (a
  // principal of the node's --callers_file).
  std::string bearer_token = {};
};

// The transport seam. Implementations are thread-safe.
class QuotaConnection {
 public:
  virtual ~QuotaConnection() = default;
  virtual absl::StatusOr<v1::AcquireResponse> Acquire(const v1::AcquireRequest& request) = 0;
  virtual absl::StatusOr<v1::AcquireResponse> Check(const v1::AcquireRequest& request) = 0;
  virtual absl::StatusOr<v1::RefundResponse> Refund(const v1::RefundRequest& request) = 0;
};

// A gRPC connection to one node over one reused channel (TLS and a bearer
// token when `options` say so, plaintext otherwise).
std::shared_ptr<QuotaConnection> MakeQuotaConnection(const ClientOptions& options);

// Whether `status` means no node answered: UNAVAILABLE, DEADLINE_EXCEEDED
// or RESOURCE_EXHAUSTED (nothing was charged; try another node, then apply
// the failure policy). Any other error is the node's answer.
bool NoNodeAnswered(const absl::Status& status);

// What Decide does when no node answers (NoNodeAnswered): allow the test
// (fail open) or refuse it.
enum class FailurePolicy { kFailOpen, kFailClosed };

// An Acquire's outcome as the caller acts on it.
struct Decision {
  bool allowed = false;
  // No node answered: `allowed` is the FailurePolicy's choice, `error` why.
  bool degraded = false;
  // The node's answer (`allowed` is its verdict); unset when degraded or
  // when the node refused the call (bad input, credentials: `error`).
  std::optional<v1::AcquireResponse> response;
  absl::Status error;
};

class QuotaClient {
 public:
  explicit QuotaClient(std::shared_ptr<QuotaConnection> connection)
      : connection_(std::move(connection)) {}

  absl::StatusOr<v1::AcquireResponse> Acquire(const v1::AcquireRequest& request) {
    return connection_->Acquire(request);
  }
  absl::StatusOr<v1::AcquireResponse> Check(const v1::AcquireRequest& request) {
    return connection_->Check(request);
  }
  absl::StatusOr<v1::RefundResponse> Refund(const v1::RefundRequest& request) {
    return connection_->Refund(request);
  }
  // Acquire, with `policy` applied when no node answers. A refused call
  // (INVALID_ARGUMENT, PERMISSION_DENIED, ...) is never allowed.
  Decision Decide(const v1::AcquireRequest& request, FailurePolicy policy);

 private:
  std::shared_ptr<QuotaConnection> connection_;
};

}  // namespace quotad::client

#endif  // QUOTAD_CLIENT_QUOTA_CLIENT_H_
