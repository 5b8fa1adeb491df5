#include "quotad/identity/identity_hasher.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace quotad {
namespace {

using testing::TempDir;

TEST(IdentityHasherTest, SameKeySameHashDifferentKeyDifferentHash) {
  auto a = IdentityHasher::Create(std::string(32, 'a')).value();
  auto a2 = IdentityHasher::Create(std::string(32, 'a')).value();
  auto b = IdentityHasher::Create(std::string(32, 'b')).value();
  const IpAddress ip = *IpAddress::Parse("192.0.2.7");
  EXPECT_EQ(a->HashIp(ip), a2->HashIp(ip));
  EXPECT_NE(a->HashIp(ip), b->HashIp(ip));
}

TEST(IdentityHasherTest, DomainsAndFieldBoundariesAreSeparated) {
  auto h = IdentityHasher::Create(std::string(32, 'k')).value();
  EXPECT_NE(h->Hash(IdentityDomain::kClientName, {"x"}), h->Hash(IdentityDomain::kIntegrationId, {"x"}));
  EXPECT_NE(h->Hash(IdentityDomain::kClientName, {"ab", "c"}),
            h->Hash(IdentityDomain::kClientName, {"a", "bc"}));
  const IpAddress ip = *IpAddress::Parse("192.0.2.7");
  EXPECT_NE(h->HashIpAndUserAgent(ip, "ua1"), h->HashIpAndUserAgent(ip, "ua2"));
  EXPECT_EQ(h->HashAddressGroup(ip, 24), h->HashAddressGroup(*IpAddress::Parse("192.0.2.200"), 24));
  EXPECT_NE(h->HashAddressGroup(ip, 24), h->HashAddressGroup(*IpAddress::Parse("192.0.3.7"), 24));
}

TEST(IdentityHasherTest, RejectsShortKeys) {
  EXPECT_FALSE(IdentityHasher::Create("short").ok());
}

TEST(IdentityHasherTest, KeyFileIsCreatedWithMode0600AndReused) {
  TempDir dir;
  const std::string path = dir.Sub("identity.key");
  auto first = IdentityHasher::FromKeyFile(path);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, static_cast<off_t>(IdentityHasher::kKeyBytes));
  auto second = IdentityHasher::FromKeyFile(path);
  ASSERT_TRUE(second.ok());
  const IpAddress ip = *IpAddress::Parse("2001:db8::1");
  EXPECT_EQ((*first)->HashIp(ip), (*second)->HashIp(ip));
}

TEST(IdentityHasherTest, ShortKeyFileIsRejected) {
  TempDir dir;
  testing::WriteFile(dir.Sub("k"), "tooshort");
  auto h = IdentityHasher::FromKeyFile(dir.Sub("k"));
  EXPECT_FALSE(h.ok());
}

}  // namespace
}  // namespace quotad
