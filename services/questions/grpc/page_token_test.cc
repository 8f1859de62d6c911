#include "services/questions/grpc/page_token.h"

#include "gtest/gtest.h"
#include "shared/rpc/status.h"

namespace suite::questions {
namespace {

TEST(PageTokenTest, RoundTripsTheCursorForTheSameListAndFilters) {
  PageTokenCodec codec("secret-secret-secret");
  std::string token = codec.Encode("questions", "f1", Cursor{"2026-01-01 00:00:00+00", "id-1"});
  auto cursor = codec.Decode(token, "questions", "f1");
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ((*cursor)->first, "2026-01-01 00:00:00+00");
  EXPECT_EQ((*cursor)->second, "id-1");
}

TEST(PageTokenTest, EmptyTokenMeansTheFirstPage) {
  auto cursor = PageTokenCodec("k").Decode("", "questions", "f1");
  ASSERT_TRUE(cursor.ok());
  EXPECT_FALSE(cursor->has_value());
}

TEST(PageTokenTest, RejectsTamperedForeignAndMisdirectedTokens) {
  PageTokenCodec codec("secret-secret-secret");
  std::string token = codec.Encode("questions", "f1", Cursor{"a", "b"});
  std::string tampered = token;
  tampered[2] = tampered[2] == 'A' ? 'B' : 'A';
  for (const std::string& bad :
       {tampered, std::string("not a token"), PageTokenCodec("other-secret").Encode(
                                                   "questions", "f1", Cursor{"a", "b"})}) {
    auto cursor = codec.Decode(bad, "questions", "f1");
    EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    auto violations = suite::rpc::FieldViolationsOf(cursor.status());
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].field, "page_token");
  }
  EXPECT_EQ(codec.Decode(token, "tags", "f1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec.Decode(token, "questions", "f2").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace suite::questions
