// Secret tokens and their digests.
#include "services/identity/domain/tokens.h"

#include <set>

#include <gtest/gtest.h>

namespace suite::identity {
namespace {

TEST(TokensTest, SecretTokensAre256RandomBitsInBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string t = NewSecretToken();
    EXPECT_TRUE(LooksLikeSecretToken(t)) << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_FALSE(LooksLikeSecretToken("short"));
  EXPECT_FALSE(LooksLikeSecretToken(std::string(42, 'a') + "="));
}

TEST(TokensTest, DigestIsSha256Hex) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  EXPECT_EQ(TokenDigest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace suite::identity
