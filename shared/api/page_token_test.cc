#include "shared/api/page_token.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::api {
namespace {

const PageCursor kCursor{"1732252800123456", "0b7c6a36-36a4-4a4e-9d56-7e3fbd1c1f0e"};

void ExpectRejected(const absl::StatusOr<PageCursor>& decoded) {
  ASSERT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << decoded.status();
  const std::vector<FieldViolation> violations = FieldViolationsOf(decoded.status());
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "page_token");
  ASSERT_TRUE(ErrorInfoOf(decoded.status()).has_value());
  EXPECT_EQ(ErrorInfoOf(decoded.status())->reason, "INVALID_PAGE_TOKEN");
}

TEST(PageTokenCodecTest, RoundTripsTheCursorWithinItsScope) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("users|status=active", kCursor);
  absl::StatusOr<PageCursor> decoded = codec.Decode("users|status=active", token);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, kCursor);
}

TEST(PageTokenCodecTest, RoundTripsArbitraryBytesInKeyAndId) {
  PageTokenCodec codec("secret");
  const PageCursor odd{std::string("a.b|c\0d", 7), "é.,;"};
  absl::StatusOr<PageCursor> decoded = codec.Decode("s", codec.Encode("s", odd));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, odd);
}

TEST(PageTokenCodecTest, RefusesATokenFromAnotherScope) {
  PageTokenCodec codec("secret");
  ExpectRejected(codec.Decode("users|status=suspended",
                              codec.Encode("users|status=active", kCursor)));
}

TEST(PageTokenCodecTest, ScopeAndPayloadCannotTradeCharacters) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("ab", kCursor);
  ExpectRejected(codec.Decode("a", token));
  ExpectRejected(codec.Decode("abc", token));
}

TEST(PageTokenCodecTest, RefusesATokenSignedWithAnotherSecret) {
  PageTokenCodec mine("secret");
  PageTokenCodec theirs("other secret");
  ExpectRejected(mine.Decode("s", theirs.Encode("s", kCursor)));
}

TEST(PageTokenCodecTest, RefusesAnEditedCursor) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode("s", kCursor);
  const std::string other = codec.Encode("s", {"1", kCursor.id});
  // Splice the other token's key into this token's signature.
  const std::string spliced =
      other.substr(0, other.find('.', 3)) + token.substr(token.find('.', 3));
  ExpectRejected(codec.Decode("s", spliced));
  for (size_t i = 0; i < token.size(); ++i) {
    std::string flipped = token;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    if (flipped == token) continue;
    absl::StatusOr<PageCursor> decoded = codec.Decode("s", flipped);
    EXPECT_FALSE(decoded.ok()) << "byte " << i << " edited yet accepted";
  }
}

TEST(PageTokenCodecTest, RefusesEmptyMalformedAndOversizedTokens) {
  PageTokenCodec codec("secret");
  ExpectRejected(codec.Decode("s", ""));
  ExpectRejected(codec.Decode("s", "not a token"));
  ExpectRejected(codec.Decode("s", "p1.a.b"));
  ExpectRejected(codec.Decode("s", "p0.YQ.Yg.c2ln"));
  ExpectRejected(codec.Decode("s", "p1.YQ.Yg.!!!"));
  ExpectRejected(codec.Decode("s", std::string(kMaxPageTokenLength + 1, 'a')));
}

TEST(PageTokenCodecTest, EmptySecretStillSignsWithinTheProcess) {
  PageTokenCodec first("");
  PageTokenCodec second("");
  const std::string token = first.Encode("s", kCursor);
  EXPECT_TRUE(first.Decode("s", token).ok());
  ExpectRejected(second.Decode("s", token));
}

TEST(PageTokenCodecTest, InvalidPageTokenLooksLikeARefusedToken) {
  // Services return it for a verified cursor that does not parse as their keyset.
  ExpectRejected(absl::StatusOr<PageCursor>(InvalidPageToken("key is not a number")));
}

}  // namespace
}  // namespace suite::api
