// Secret tokens, their digests and signed page tokens.
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

TEST(TokensTest, PageTokensRoundTripAndRejectTamperingAndOtherListings) {
  PageTokenCodec codec("a secret of at least thirty-two bytes!!");
  Cursor c{absl::FromUnixMicros(1800000000123456), "0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21"};
  std::string token = codec.Encode("users", "active|", c);
  auto back = codec.Decode("users", "active|", token);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->created_at, c.created_at);
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(codec.Decode("accounts", "active|", token).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec.Decode("users", "|", token).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string tampered = token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'a' ? 'b' : 'a';
  EXPECT_EQ(codec.Decode("users", "active|", tampered).status().code(),
            absl::StatusCode::kInvalidArgument);
  PageTokenCodec other("another secret entirely, also long enough");
  EXPECT_EQ(other.Decode("users", "active|", token).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec.Decode("users", "active|", "!!!").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace suite::identity
