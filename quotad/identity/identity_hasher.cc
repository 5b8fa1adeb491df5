#include "quotad/identity/identity_hasher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"
#include "quotad/common/secret_file.h"

namespace quotad {

static_assert(crypto_shorthash_siphashx24_KEYBYTES == 16);
static_assert(crypto_shorthash_siphashx24_BYTES == sizeof(IdentityHash));

std::string HashToHex(const IdentityHash& hash) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

absl::StatusOr<std::unique_ptr<IdentityHasher>> IdentityHasher::Create(absl::string_view key) {
  if (key.size() < 16) return absl::InvalidArgumentError("hash key must be at least 16 bytes");
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  // Derive the SipHash key so the file's bytes serve one purpose only.
  static constexpr char kLabel[] = "quotad identity siphashx24 v1";
  unsigned char derived[EVP_MAX_MD_SIZE];
  unsigned int derived_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(kLabel), sizeof(kLabel) - 1, derived,
           &derived_len) == nullptr ||
      derived_len < 16) {
    return absl::InternalError("HMAC-SHA256 key derivation failed");
  }
  std::array<uint8_t, 16> siphash_key;
  std::memcpy(siphash_key.data(), derived, siphash_key.size());
  OPENSSL_cleanse(derived, sizeof(derived));
  return std::unique_ptr<IdentityHasher>(new IdentityHasher(siphash_key));
}

absl::StatusOr<std::unique_ptr<IdentityHasher>> IdentityHasher::FromKeyFile(
    const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
    unsigned char fresh[kKeyBytes];
    if (RAND_bytes(fresh, sizeof(fresh)) != 1) return absl::InternalError("RAND_bytes failed");
    auto created = CreateSecretFileIfAbsent(
        path, absl::string_view(reinterpret_cast<const char*>(fresh), sizeof(fresh)));
    if (!created.ok()) return created.status();
    if (*created) QUOTAD_LOG(INFO) << "generated a new identity hash key in " << path;
  } else if ((st.st_mode & 077) != 0) {
    QUOTAD_LOG(WARNING) << "hash key file " << path
                        << " is readable by group or others; chmod 600 it";
  }
  auto key = ReadSmallFile(path);
  if (!key.ok()) return key.status();
  if (key->size() < 16) {
    return absl::FailedPreconditionError(
        absl::StrCat("hash key file ", path, " holds ", key->size(), " bytes; need >= 16"));
  }
  return Create(*key);
}

IdentityHasher::~IdentityHasher() { OPENSSL_cleanse(key_.data(), key_.size()); }

IdentityHash IdentityHasher::Hash(IdentityDomain domain,
                                  absl::Span<const absl::string_view> parts) const {
  // domain || (be32 length || bytes)*, assembled in a per-thread buffer (no
  // allocation once it has grown to the largest input seen).
  thread_local std::string input;
  input.clear();
  input.push_back(static_cast<char>(domain));
  for (absl::string_view part : parts) {
    const uint32_t len = static_cast<uint32_t>(part.size());
    const char len_bytes[4] = {static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                               static_cast<char>(len >> 8), static_cast<char>(len)};
    input.append(len_bytes, 4);
    input.append(part.data(), part.size());
  }
  IdentityHash out;
  crypto_shorthash_siphashx24(out.data(), reinterpret_cast<const unsigned char*>(input.data()),
                              input.size(), key_.data());
  return out;
}

namespace {
absl::string_view IpBytes(const IpAddress& ip) {
  return absl::string_view(reinterpret_cast<const char*>(ip.bytes().data()),
                          static_cast<size_t>(ip.byte_length()));
}
}  // namespace

IdentityHash IdentityHasher::HashIp(const IpAddress& ip) const {
  return Hash(IdentityDomain::kIp, {IpBytes(ip)});
}

IdentityHash IdentityHasher::HashIpAndUserAgent(const IpAddress& ip,
                                                absl::string_view user_agent) const {
  return Hash(IdentityDomain::kIpAndUserAgent, {IpBytes(ip), user_agent});
}

IdentityHash IdentityHasher::HashAddressGroup(const IpAddress& ip, int prefix_len) const {
  const IpAddress masked = ip.Masked(prefix_len);
  const char len = static_cast<char>(prefix_len);
  return Hash(IdentityDomain::kAddressGroup, {IpBytes(masked), absl::string_view(&len, 1)});
}

}  // namespace quotad
