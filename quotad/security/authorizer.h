// Who may call which RPC, on the quota and admin listeners.
//
// With a callers file (Load): a call is identified by its bearer token
// ("authorization: Bearer <token>", looked up by SHA-256) or, failing that,
// by a name of its verified client certificate (cert_name). No credential
// or an unknown one -> UNAUTHENTICATED; a principal holding none of the
// roles the RPC needs -> PERMISSION_DENIED. Authorize returns the principal
// (its name is the audit actor; its roles decide e.g. whether tier claims
// count).
// Without one (development): quota RPCs are open to anyone ("anonymous" with
// charge and read; main() logs a warning at start), admin RPCs need the
// node's admin token ("admin-token" with admin and admin_read), as before
// callers files existed.
// Every refusal is counted by surface and code. Load may be called again
// (SIGHUP); a bad file leaves the table in use. Thread-safe.
#ifndef QUOTAD_SECURITY_AUTHORIZER_H_
#define QUOTAD_SECURITY_AUTHORIZER_H_

#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "quotad/security/callers.h"

namespace quotad {

enum class Surface { kQuota, kAdmin };

class Authorizer {
 public:
  // `admin_token`: what admin RPCs need without a callers file.
  explicit Authorizer(std::string admin_token) : admin_token_(std::move(admin_token)) {}

  // Reads and installs a callers file. Errors: CallerTable::FromFile's;
  // the table in use (or none) stays.
  absl::Status Load(const std::string& path);
  bool has_callers() const;

  // The caller when it holds one of `any_of` (see above).
  absl::StatusOr<Principal> Authorize(const grpc::ServerContextBase& context, Surface surface,
                                        std::initializer_list<Role> any_of) const;
  // The same from the parts (tests, and callers without a gRPC context);
  // `cert_names` is called only when no bearer token identifies the caller.
  using CertNames = std::function<std::vector<std::string>()>;
  absl::StatusOr<Principal> AuthorizeParts(absl::string_view authorization_header,
                                             const CertNames& cert_names,
                                             Surface surface,
                                             std::initializer_list<Role> any_of) const;

  // Refusals so far: [surface][0 = UNAUTHENTICATED, 1 = PERMISSION_DENIED].
  uint64_t refused(Surface surface, absl::StatusCode code) const;

 private:
  absl::Status Refuse(Surface surface, absl::Status status) const;

  const std::string admin_token_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const CallerTable> table_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_table_{false};  // the open quota surface's fast path
  mutable std::atomic<uint64_t> refused_[2][2] = {};
};

}  // namespace quotad

#endif  // QUOTAD_SECURITY_AUTHORIZER_H_
