// Keyed hashing of client identities. Raw IPs and User-Agents never reach
// storage or INFO logs: only these 16-byte keyed digests do (SipHash-2-4 with
// 128-bit output, libsodium's crypto_shorthash_siphashx24: a PRF under a
// 128-bit secret key, ~10x cheaper than HMAC-SHA256 through OpenSSL's EVP
// layer on the request path). Every node of a cluster must use the same key
// file so one client has one key everywhere.
#ifndef QUOTAD_IDENTITY_IDENTITY_HASHER_H_
#define QUOTAD_IDENTITY_IDENTITY_HASHER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "quotad/identity/ip_address.h"

namespace quotad {

// A 128-bit keyed digest of one identity.
using IdentityHash = std::array<uint8_t, 16>;

// Hex form for logs (safe at INFO: it is keyed).
std::string HashToHex(const IdentityHash& hash);

// What an identity hash is computed over. Domains separate the spaces so
// that, e.g., a client_name can never collide with an IP.
enum class IdentityDomain : uint8_t {
  kIp = 1,
  kIpAndUserAgent = 2,
  kAddressGroup = 3,
  kClientName = 4,
  kIntegrationId = 5,
  kRequestId = 6,
  kKeyFingerprint = 7,
  kCount = 8,  // a limit row's counter: its count spec and the parts' values
  kMeter = 9,  // a usage meter (quotad/admission/meters.h; a public key)
};

// Computes keyed digests. Immutable after construction; thread-safe.
class IdentityHasher {
 public:
  static constexpr size_t kKeyBytes = 32;

  // Errors: InvalidArgument if `key` is shorter than 16 bytes.
  static absl::StatusOr<std::unique_ptr<IdentityHasher>> Create(absl::string_view key);

  // Reads the key from `path`; if the file does not exist, creates it with
  // kKeyBytes random bytes and mode 0600 (atomically: a concurrent creator
  // wins and its key is used). Errors: FailedPrecondition/Internal when the
  // file cannot be read, written, or is too short.
  static absl::StatusOr<std::unique_ptr<IdentityHasher>> FromKeyFile(const std::string& path);

  ~IdentityHasher();
  IdentityHasher(const IdentityHasher&) = delete;
  IdentityHasher& operator=(const IdentityHasher&) = delete;

  // SipHash-2-4-128(k, domain || len-prefixed parts), where the 16-byte
  // SipHash key k = HMAC-SHA256(file key, "quotad identity siphashx24 v1")
  // truncated, so the key file's bytes are never used directly.
  IdentityHash Hash(IdentityDomain domain, std::initializer_list<absl::string_view> parts) const {
    return Hash(domain, absl::MakeConstSpan(parts.begin(), parts.size()));
  }
  IdentityHash Hash(IdentityDomain domain, absl::Span<const absl::string_view> parts) const;

  IdentityHash HashIp(const IpAddress& ip) const;
  IdentityHash HashIpAndUserAgent(const IpAddress& ip, absl::string_view user_agent) const;
  // The group is the address masked to `prefix_len` bits.
  IdentityHash HashAddressGroup(const IpAddress& ip, int prefix_len) const;
  // What peers compare to check they share the key: 16 hex digits of the
  // keyed hash of a constant (a PRF output: it reveals nothing of the key).
  // Computed once, at construction.
  const std::string& KeyFingerprint() const { return fingerprint_; }

 private:
  explicit IdentityHasher(const std::array<uint8_t, 16>& key)
      : key_(key),
        fingerprint_(
            HashToHex(Hash(IdentityDomain::kKeyFingerprint, {"quotad key fingerprint v1"}))
                .substr(0, 16)) {}
  std::array<uint8_t, 16> key_;  // the derived SipHash key
  std::string fingerprint_;  // after key_: computed from it
};

}  // namespace quotad

#endif  // QUOTAD_IDENTITY_IDENTITY_HASHER_H_
