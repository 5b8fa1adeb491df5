#include "quotad/security/authorizer.h"

#include <openssl/crypto.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "quotad/rpc/tls.h"

namespace quotad {
namespace {

constexpr absl::string_view kBearer = "Bearer ";
constexpr uint8_t kAllQuotaRoles =
    static_cast<uint8_t>(Role::kCharge) | static_cast<uint8_t>(Role::kRead);
constexpr uint8_t kAllAdminRoles =
    static_cast<uint8_t>(Role::kAdmin) | static_cast<uint8_t>(Role::kAdminRead);

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kCharge:
      return "charge";
    case Role::kRead:
      return "read";
    case Role::kAdmin:
      return "admin";
    case Role::kAdminRead:
      return "admin_read";
  }
  return "?";
}

bool SameSecret(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

absl::Status Authorizer::Load(const std::string& path) {
  auto table = CallerTable::FromFile(path);
  if (!table.ok()) return table.status();
  absl::MutexLock lock(&mu_);
  table_ = *std::move(table);
  has_table_.store(true, std::memory_order_release);
  return absl::OkStatus();
}

bool Authorizer::has_callers() const { return has_table_.load(std::memory_order_acquire); }

absl::Status Authorizer::Refuse(Surface surface, absl::Status status) const {
  const int code = absl::IsUnauthenticated(status) ? 0 : 1;
  refused_[static_cast<int>(surface)][code].fetch_add(1, std::memory_order_relaxed);
  return status;
}

uint64_t Authorizer::refused(Surface surface, absl::StatusCode code) const {
  return refused_[static_cast<int>(surface)][code == absl::StatusCode::kUnauthenticated ? 0 : 1]
      .load(std::memory_order_relaxed);
}

absl::StatusOr<Principal> Authorizer::Authorize(const grpc::ServerContextBase& context,
                                                  Surface surface,
                                                  std::initializer_list<Role> any_of) const {
  if (surface == Surface::kQuota && !has_callers()) return Principal{"anonymous", kAllQuotaRoles};
  absl::string_view header;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    header = absl::string_view(it->second.data(), it->second.size());
  }
  // A certificate's names are read only when no token identifies the
  // caller (reading them allocates).
  return AuthorizeParts(header, [&context] { return ClientCertificateNames(context); }, surface,
                        any_of);
}

absl::StatusOr<Principal> Authorizer::AuthorizeParts(absl::string_view header,
                                                       const CertNames& cert_names,
                                                       Surface surface,
                                                       std::initializer_list<Role> any_of) const {
  std::shared_ptr<const CallerTable> table;
  {
    absl::MutexLock lock(&mu_);
    table = table_;
  }
  const bool has_bearer = absl::StartsWith(header, kBearer);
  const absl::string_view token = has_bearer ? header.substr(kBearer.size()) : "";
  if (table == nullptr) {
    if (surface == Surface::kQuota) return Principal{"anonymous", kAllQuotaRoles};
    if (!has_bearer) {
      return Refuse(surface, absl::UnauthenticatedError("authorization: missing bearer token"));
    }
    if (!SameSecret(token, admin_token_)) {
      return Refuse(surface, absl::UnauthenticatedError("authorization: invalid bearer token"));
    }
    return Principal{"admin-token", kAllAdminRoles};
  }
  const Principal* principal = has_bearer ? table->FindByToken(token) : nullptr;
  if (principal == nullptr) principal = table->FindByCertificate(cert_names());
  if (principal == nullptr) {
    return Refuse(surface,
                  absl::UnauthenticatedError(
                      has_bearer ? "authorization: unknown bearer token"
                                 : "authorization: no bearer token and no client certificate "
                                   "listed in the callers file"));
  }
  std::string needed;
  for (Role role : any_of) {
    if (principal->Has(role)) return *principal;
    absl::StrAppend(&needed, needed.empty() ? "" : " or ", RoleName(role));
  }
  return Refuse(surface, absl::PermissionDeniedError(absl::StrCat(
                             "caller '", principal->name, "' lacks the role ", needed)));
}

}  // namespace quotad
