// Client library for quotad.v1.QuotaService, in the google-cloud-cpp shape:
// QuotaClient is a cheap value type over a shared QuotaConnection; tests mock
// the connection (mocks/mock_quota_connection.h).
//
// Every call carries a deadline (ClientOptions::timeout). On UNAVAILABLE or
// DEADLINE_EXCEEDED the caller decides: fail open (hand out the token) or
// fail closed. The locate service should fail open with a short timeout.
#ifndef QUOTAD_CLIENT_QUOTA_CLIENT_H_
#define QUOTAD_CLIENT_QUOTA_CLIENT_H_

#include <memory>
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

// A gRPC connection over one reused channel (insecure credentials: quotad
// nodes are reached over the cluster network or loopback).
std::shared_ptr<QuotaConnection> MakeQuotaConnection(const ClientOptions& options);

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

 private:
  std::shared_ptr<QuotaConnection> connection_;
};

}  // namespace quotad::client

#endif  // QUOTAD_CLIENT_QUOTA_CLIENT_H_
