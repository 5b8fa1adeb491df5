#include "quotad/identity/ip_address.h"

#include "gtest/gtest.h"

namespace quotad {
namespace {

TEST(IpAddressTest, ParsesIpv4AndIpv6) {
  auto v4 = IpAddress::Parse("192.0.2.7");
  ASSERT_TRUE(v4.ok());
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->ToString(), "192.0.2.7");
  auto v6 = IpAddress::Parse("2001:DB8:0:0::7");
  ASSERT_TRUE(v6.ok());
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->ToString(), "2001:db8::7");
}

TEST(IpAddressTest, MappedIpv6IsTheSameClientAsIpv4) {
  auto mapped = IpAddress::Parse("::ffff:192.0.2.7");
  ASSERT_TRUE(mapped.ok());
  EXPECT_TRUE(mapped->is_v4());
  EXPECT_EQ(*mapped, *IpAddress::Parse("192.0.2.7"));
}

TEST(IpAddressTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "1.2.3", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "[::1]", "fe80::1%eth0",
                          "2001:db8::g", "localhost", "1.2.3.4/24",
                          "0000000000000000000000000000000000000000000000000000001.2.3.4"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).ok()) << bad;
  }
}

TEST(IpAddressTest, MaskingKeepsThePrefix) {
  auto ip = *IpAddress::Parse("192.0.2.77");
  EXPECT_EQ(ip.Masked(24).ToString(), "192.0.2.0");
  EXPECT_EQ(ip.Masked(20).ToString(), "192.0.0.0");
  auto v6 = *IpAddress::Parse("2001:db8:aaaa:bbbb::1");
  EXPECT_EQ(v6.Masked(48).ToString(), "2001:db8:aaaa::");
  EXPECT_TRUE(ip.SharesPrefix(*IpAddress::Parse("192.0.2.1"), 24));
  EXPECT_FALSE(ip.SharesPrefix(*IpAddress::Parse("192.0.3.1"), 24));
  EXPECT_FALSE(ip.SharesPrefix(v6, 0));  // different families never share
}

TEST(CidrTest, ParsesAndMatches) {
  auto cidr = Cidr::Parse("198.51.100.0/24");
  ASSERT_TRUE(cidr.ok());
  EXPECT_TRUE(cidr->Contains(*IpAddress::Parse("198.51.100.200")));
  EXPECT_FALSE(cidr->Contains(*IpAddress::Parse("198.51.101.1")));
  auto v6 = Cidr::Parse("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains(*IpAddress::Parse("2001:db8:ffff::1")));
  EXPECT_EQ(Cidr::Parse("192.0.2.9")->prefix_len, 32);
}

TEST(CidrTest, RejectsBadPrefixes) {
  EXPECT_FALSE(Cidr::Parse("198.51.100.0/33").ok());
  EXPECT_FALSE(Cidr::Parse("198.51.100.0/-1").ok());
  EXPECT_FALSE(Cidr::Parse("198.51.100.0/x").ok());
  EXPECT_FALSE(Cidr::Parse("198.51.100.1/24").ok());  // host bits set
  EXPECT_FALSE(Cidr::Parse("2001:db8::/129").ok());
}

}  // namespace
}  // namespace quotad
