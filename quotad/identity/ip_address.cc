#include "quotad/identity/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace quotad {

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("empty address");
  if (text.size() > INET6_ADDRSTRLEN) return absl::InvalidArgumentError("address too long");
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (text.find(':') == absl::string_view::npos) {
    if (inet_pton(AF_INET, buf, ip.bytes_.data()) != 1) {
      return absl::InvalidArgumentError("not an IPv4 or IPv6 address");
    }
    ip.is_v4_ = true;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes_.data()) != 1) {
    return absl::InvalidArgumentError("not an IPv4 or IPv6 address");
  }
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes_.data(), kMappedPrefix, 12) == 0) {
    std::memmove(ip.bytes_.data(), ip.bytes_.data() + 12, 4);
    std::fill(ip.bytes_.begin() + 4, ip.bytes_.end(), 0);
    ip.is_v4_ = true;
  } else {
    ip.is_v4_ = false;
  }
  return ip;
}

IpAddress IpAddress::Masked(int prefix_len) const {
  prefix_len = std::clamp(prefix_len, 0, bit_length());
  IpAddress out = *this;
  for (int i = 0; i < byte_length(); ++i) {
    const int bits_in_byte = std::clamp(prefix_len - 8 * i, 0, 8);
    const uint8_t mask = bits_in_byte == 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits_in_byte));
    out.bytes_[i] &= mask;
  }
  return out;
}

bool IpAddress::SharesPrefix(const IpAddress& other, int prefix_len) const {
  if (is_v4_ != other.is_v4_) return false;
  return Masked(prefix_len) == other.Masked(prefix_len);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof(buf));
  return buf;
}

absl::StatusOr<Cidr> Cidr::Parse(absl::string_view text) {
  const auto slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip.ok()) return ip.status();
  Cidr cidr{*ip, ip->bit_length()};
  if (slash != absl::string_view::npos) {
    int len = -1;
    if (!absl::SimpleAtoi(text.substr(slash + 1), &len) || len < 0 || len > ip->bit_length()) {
      return absl::InvalidArgumentError(
          absl::StrCat("prefix length must be 0..", ip->bit_length()));
    }
    cidr.prefix_len = len;
  }
  if (!(cidr.network.Masked(cidr.prefix_len) == cidr.network)) {
    return absl::InvalidArgumentError("address has bits set beyond the prefix length");
  }
  return cidr;
}

std::string Cidr::ToString() const { return absl::StrCat(network.ToString(), "/", prefix_len); }

}  // namespace quotad
