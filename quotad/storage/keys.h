// RocksDB key layout. All integers are fixed-width big-endian so byte order
// is numeric (and so time) order.
//
// counters CF:    [key space:1][counter hash:16][bucket:4][origin:8][kind:1]
//                  \___ CounterId (17, the prefix) ___/
//   `bucket` is a time bucket number (quotad/common/time_buckets.h: an
//   hour number, or a tagged minute or day number; the code calls it
//   "hour" where hours are meant or were the only unit).
//   value: uint64 little-endian, combined by the uint64-add merge operator.
//   `origin` is this data directory's slot id (random, fixed at creation):
//   each node only ever increments its own slot, so cross-region replication
//   can merge slots by maximum and sum them. `kind` separates charges ('P')
//   from refunds ('N') so both stay grow-only (a PN-counter). The layout does
//   not depend on the policy's limit rows or the parts they count: every row
//   adds counters in the same spaces.
// idempotency CF: [request-id hash:16]
//   value: [expiry unix micros:8][IdempotencyRecord proto]
// default CF:     small metadata records ("origin", "node_id").
#ifndef QUOTAD_STORAGE_KEYS_H_
#define QUOTAD_STORAGE_KEYS_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "quotad/common/time_buckets.h"
#include "quotad/identity/identity_hasher.h"

namespace quotad {

// How a counter's hash was made (not which limit reads it: limits are policy
// rows, quotad/policy/limit_rows.h, and any number of them share these
// spaces, so adding a row or a part changes no key and no digest range).
enum class KeySpace : uint8_t {
  kClient = 1,       // the client key (identity.client_key): hash of IP+User-Agent or IP
  kLegacyGroup = 2,  // address groups before limits were rows: accepted from older
                     // peers, never written or read now, expire with retention
  kCount = 3,        // every other count: hash of the row's count spec and parts
};

// One counter: a key space and a keyed hash.
struct CounterId {
  KeySpace space = KeySpace::kClient;
  IdentityHash hash{};

  static constexpr size_t kEncodedSize = 17;
  // The hash's first 8 bytes (native order): a compact in-memory key, e.g.
  // for the dashboards' aggregates. Never stored.
  uint64_t Prefix64() const {
    uint64_t v;
    std::memcpy(&v, hash.data(), sizeof(v));
    return v;
  }
  std::string Encode() const;
  // Errors: nullopt if `bytes` is not a valid encoding.
  static std::optional<CounterId> Decode(absl::string_view bytes);

  friend bool operator==(const CounterId&, const CounterId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const CounterId& id) {
    return H::combine(
        std::move(h), static_cast<uint8_t>(id.space),
        absl::string_view(reinterpret_cast<const char*>(id.hash.data()), id.hash.size()));
  }
};

enum class CountKind : uint8_t { kCharged = 'P', kRefunded = 'N' };

inline constexpr size_t kCounterKeySize = CounterId::kEncodedSize + 4 + 8 + 1;

std::string EncodeCounterKey(const CounterId& id, uint32_t hour, uint64_t origin, CountKind kind);

struct DecodedCounterKey {
  CounterId id;
  uint32_t hour = 0;
  uint64_t origin = 0;
  CountKind kind = CountKind::kCharged;
};
// Errors: nullopt for a wrong size, key space, bucket unit or kind.
std::optional<DecodedCounterKey> DecodeCounterKey(absl::string_view key);

// Bucket stored at byte offset 17 of a counter key (no other validation).
uint32_t CounterKeyHour(absl::string_view key);

// Counter values: uint64 little-endian (the add-merge operator's operands
// and results). Anything but 8 bytes decodes as 0 (never fails).
std::string EncodeCounterValue(uint64_t v);
uint64_t DecodeCounterValue(const char* data, size_t size);

void AppendBigEndian32(std::string* out, uint32_t v);
void AppendBigEndian64(std::string* out, uint64_t v);
uint32_t ReadBigEndian32(const char* p);
uint64_t ReadBigEndian64(const char* p);

}  // namespace quotad

#endif  // QUOTAD_STORAGE_KEYS_H_
