#include "quotad/identity/identity_hasher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "quotad/common/logging.h"
#include "quotad/common/secret_file.h"

namespace quotad {
namespace {

std::atomic<uint64_t> g_next_hasher_id{1};

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

}  // namespace

std::string HashToHex(const IdentityHash& hash) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

absl::StatusOr<std::unique_ptr<IdentityHasher>> IdentityHasher::Create(absl::string_view key) {
  if (key.size() < 16) return absl::InvalidArgumentError("hash key must be at least 16 bytes");
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacAlgorithm());
  if (ctx == nullptr) return absl::InternalError("EVP_MAC_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return absl::InternalError("EVP_MAC_init failed");
  }
  return std::unique_ptr<IdentityHasher>(new IdentityHasher(ctx, g_next_hasher_id.fetch_add(1)));
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

IdentityHasher::~IdentityHasher() { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(mac_ctx_)); }

namespace {

// Per-thread working contexts, one per live hasher (current and previous key
// during a rotation). Re-initialising a context with its stored key is much
// cheaper than duplicating the keyed context for every hash (no allocation).
struct ThreadContexts {
  struct Slot {
    uint64_t owner = 0;
    EVP_MAC_CTX* ctx = nullptr;
  };
  std::array<Slot, 2> slots;
  size_t next_victim = 0;
  ~ThreadContexts() {
    for (Slot& s : slots) EVP_MAC_CTX_free(s.ctx);
  }
  EVP_MAC_CTX* For(uint64_t owner, const EVP_MAC_CTX* keyed) {
    for (Slot& s : slots) {
      if (s.owner == owner) return s.ctx;
    }
    Slot& s = slots[next_victim++ % slots.size()];
    EVP_MAC_CTX_free(s.ctx);
    s.ctx = EVP_MAC_CTX_dup(keyed);
    s.owner = owner;
    return s.ctx;
  }
};

}  // namespace

IdentityHash IdentityHasher::Hash(IdentityDomain domain,
                                  std::initializer_list<absl::string_view> parts) const {
  thread_local ThreadContexts contexts;
  EVP_MAC_CTX* ctx = contexts.For(id_, static_cast<const EVP_MAC_CTX*>(mac_ctx_));
  EVP_MAC_init(ctx, nullptr, 0, nullptr);  // same key, fresh state
  const unsigned char d = static_cast<unsigned char>(domain);
  EVP_MAC_update(ctx, &d, 1);
  for (absl::string_view part : parts) {
    const uint32_t len = static_cast<uint32_t>(part.size());
    const unsigned char len_bytes[4] = {static_cast<unsigned char>(len >> 24),
                                        static_cast<unsigned char>(len >> 16),
                                        static_cast<unsigned char>(len >> 8),
                                        static_cast<unsigned char>(len)};
    EVP_MAC_update(ctx, len_bytes, 4);
    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(part.data()), part.size());
  }
  unsigned char full[EVP_MAX_MD_SIZE];
  size_t full_len = 0;
  EVP_MAC_final(ctx, full, &full_len, sizeof(full));
  IdentityHash out;
  std::memcpy(out.data(), full, out.size());
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
