// The callers file, parsed and checked (schema: proto/quotad/v1/callers.proto):
// principals with roles, found by bearer-token hash or certificate name.
// Immutable once built; thread-safe.
#ifndef QUOTAD_SECURITY_CALLERS_H_
#define QUOTAD_SECURITY_CALLERS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace quotad {

enum class Role : uint8_t { kCharge = 1, kRead = 2, kAdmin = 4, kAdminRead = 8 };

struct Principal {
  std::string name;
  uint8_t roles = 0;  // a set of Role bits
  bool Has(Role role) const { return (roles & static_cast<uint8_t>(role)) != 0; }
};

class CallerTable {
 public:
  // Parses textproto. Errors: InvalidArgument naming the source, line and
  // field ("callers.textproto:3: principals[1].roles: unknown role 'root'"):
  // an empty or repeated name, no roles or an unknown one, no credential,
  // a token_sha256 that is not 64 hex digits or is the hash of the empty
  // token, a credential given twice.
  static absl::StatusOr<std::shared_ptr<const CallerTable>> FromText(
      absl::string_view text, absl::string_view source_name);
  // Errors: the same, or FailedPrecondition when the file cannot be read.
  static absl::StatusOr<std::shared_ptr<const CallerTable>> FromFile(const std::string& path);

  // The principal whose token_sha256 is the SHA-256 of `token`, or null
  // (always null for an empty token).
  const Principal* FindByToken(absl::string_view token) const;
  // The first principal named by one of a verified certificate's names, or null.
  const Principal* FindByCertificate(const std::vector<std::string>& names) const;
  size_t size() const { return principals_.size(); }

 private:
  std::vector<Principal> principals_;
  absl::flat_hash_map<std::string, size_t> by_token_sha256_;  // lowercase hex -> index
  absl::flat_hash_map<std::string, size_t> by_cert_name_;
};

// Lowercase hex SHA-256 of `bytes` (what token_sha256 holds).
std::string Sha256Hex(absl::string_view bytes);

}  // namespace quotad

#endif  // QUOTAD_SECURITY_CALLERS_H_
