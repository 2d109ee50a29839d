// Access key secrets at rest (SPEC §3): AES-256-GCM under the server key, bound to the key's id,
// and the server key file's checks.
#include "lambda/crypto/sealed.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

namespace lambda::crypto {
namespace {

ServerKey KeyOf(unsigned char fill) {
  std::array<unsigned char, ServerKey::kBytes> b{};
  b.fill(fill);
  return ServerKey(b);
}

TEST(Sealed, OpensOnlyUnderItsKeyForItsContextAndUnaltered) {
  auto key = KeyOf(7);
  auto sealed = Seal(key, "the secret", "AK1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->rfind("v1:", 0), 0U);
  EXPECT_EQ(sealed->find("the secret"), std::string::npos);
  auto opened = Open(key, *sealed, "AK1");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, "the secret");
  // A fresh nonce each time: the same secret never seals the same way twice.
  EXPECT_NE(*Seal(key, "the secret", "AK1"), *sealed);
  EXPECT_FALSE(Open(KeyOf(8), *sealed, "AK1").ok());
  EXPECT_FALSE(Open(key, *sealed, "AK2").ok());  // copied onto another id
  std::string altered = *sealed;
  altered[10] = altered[10] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(Open(key, altered, "AK1").ok());
  for (std::string bad : {std::string(""), std::string("v1:"), std::string("v2:00"),
                          std::string("v1:zz"), std::string("v1:0")}) {
    EXPECT_FALSE(Open(key, bad, "AK1").ok()) << bad;
  }
  auto empty = Seal(key, "", "AK1");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*Open(key, *empty, "AK1"), "");
}

TEST(Sealed, HmacSha256KnownAnswer) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

class ServerKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lambda-server-key-XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void Write(const std::string& bytes, mode_t mode) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }
  std::string path_;
};

TEST_F(ServerKeyFile, ThirtyTwoBytesReadableOnlyByItsOwner) {
  Write(std::string(32, 'k'), 0600);
  auto key = ServerKey::Load(path_);
  ASSERT_TRUE(key.ok()) << key.error().message;
  auto sealed = Seal(*key, "s", "id");
  EXPECT_EQ(*Open(KeyOf('k'), *sealed, "id"), "s");
  Write(std::string(32, 'k'), 0400);
  EXPECT_TRUE(ServerKey::Load(path_).ok());
}

TEST_F(ServerKeyFile, AnythingElseIsAnErrorNamingTheFile) {
  Write(std::string(32, 'k'), 0640);
  auto group = ServerKey::Load(path_);
  ASSERT_FALSE(group.ok());
  EXPECT_NE(group.error().message.find(path_), std::string::npos);
  EXPECT_NE(group.error().message.find("chmod 600"), std::string::npos);
  Write(std::string(32, 'k'), 0604);
  EXPECT_FALSE(ServerKey::Load(path_).ok());
  Write(std::string(31, 'k'), 0600);
  EXPECT_FALSE(ServerKey::Load(path_).ok());
  Write(std::string(33, 'k'), 0600);
  EXPECT_FALSE(ServerKey::Load(path_).ok());
  EXPECT_FALSE(ServerKey::Load(path_ + ".missing").ok());
  EXPECT_FALSE(ServerKey::Load("/tmp").ok());
}

}  // namespace
}  // namespace lambda::crypto
