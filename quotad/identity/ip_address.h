// IP addresses and prefixes as plain values, with the canonicalisation that
// makes every textual spelling of one address hash to the same identity.
#ifndef QUOTAD_IDENTITY_IP_ADDRESS_H_
#define QUOTAD_IDENTITY_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace quotad {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
// canonicalised to IPv4 so both spellings are one client.
class IpAddress {
 public:
  // Parses dotted-quad IPv4 or RFC 4291 IPv6 text. Zone ids ("%eth0") and
  // surrounding brackets or whitespace are rejected. Errors: InvalidArgument.
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);

  bool is_v4() const { return is_v4_; }
  // 4 significant bytes for IPv4, 16 for IPv6.
  int byte_length() const { return is_v4_ ? 4 : 16; }
  int bit_length() const { return is_v4_ ? 32 : 128; }
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }

  // The address with all bits after `prefix_len` cleared. prefix_len is
  // clamped to [0, bit_length()].
  IpAddress Masked(int prefix_len) const;
  // True when the first `prefix_len` bits of both addresses agree and both
  // are the same family.
  bool SharesPrefix(const IpAddress& other, int prefix_len) const;

  // Canonical text (inet_ntop form). Debug use only: this is raw identity.
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  bool is_v4_ = true;
  std::array<uint8_t, 16> bytes_{};  // IPv4 uses the first 4 bytes.
};

// An address prefix such as 192.0.2.0/24 or 2001:db8::/32.
struct Cidr {
  IpAddress network;
  int prefix_len = 0;

  // Parses "addr/len" (or a bare address as a full-length prefix). The
  // address must not have bits set past the prefix. Errors: InvalidArgument.
  static absl::StatusOr<Cidr> Parse(absl::string_view text);
  bool Contains(const IpAddress& ip) const { return network.SharesPrefix(ip, prefix_len); }
  std::string ToString() const;
};

}  // namespace quotad

#endif  // QUOTAD_IDENTITY_IP_ADDRESS_H_
