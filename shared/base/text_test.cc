#include "shared/base/text.h"

#include <gtest/gtest.h>

#include <string>

namespace suite {
namespace {

using namespace std::string_literals;

TEST(TextProblem, RefusesNulAnywhereNamingItsByte) {
  EXPECT_EQ(TextProblem("\0abc"s, TextKind::kProse, 10), "must not contain U+0000 at byte 0");
  EXPECT_EQ(TextProblem("ab\0c"s, TextKind::kLine, 10), "must not contain U+0000 at byte 2");
  EXPECT_EQ(TextProblem("abc\0"s, TextKind::kProse, 10), "must not contain U+0000 at byte 3");
}

TEST(TextProblem, LineRefusesEveryControlCharacterProseKeepsTabAndLineBreaks) {
  for (int c = 1; c < 0x20; ++c) {
    const std::string v = "a" + std::string(1, static_cast<char>(c)) + "b";
    EXPECT_TRUE(TextProblem(v, TextKind::kLine, 10).has_value()) << c;
    const bool kept = c == '\t' || c == '\n' || c == '\r';
    EXPECT_EQ(TextProblem(v, TextKind::kProse, 10).has_value(), !kept) << c;
  }
  EXPECT_EQ(TextProblem("a\x7f", TextKind::kProse, 10),
            "must not contain the control character U+007F at byte 1");
  for (int c = 0x80; c <= 0x9f; ++c) {  // C1, encoded as two bytes
    const std::string v = "\xc2" + std::string(1, static_cast<char>(c));
    EXPECT_TRUE(TextProblem(v, TextKind::kLine, 10).has_value()) << c;
    EXPECT_TRUE(TextProblem(v, TextKind::kProse, 10).has_value()) << c;
  }
}

TEST(TextProblem, AcceptsFormatCharactersAndEveryPlane) {
  for (const char* v :
       {"\u200d", "\u200e\u202e\u2066x\u2069", "\ufeffa", "e\u0301", "\U0001F600", "\U00020000",
        "\U00030000", "\U000E0001", "\U000F0000", "\U0010FFFD", "\u00a0a\u3000"}) {
    EXPECT_EQ(TextProblem(v, TextKind::kLine, 10), absl::nullopt) << v;
  }
}

TEST(TextProblem, CountsCharactersNotBytes) {
  std::string four;
  for (int i = 0; i < 5; ++i) four += "\U0001F600";
  EXPECT_EQ(TextProblem(four, TextKind::kLine, 5), absl::nullopt);  // 20 bytes
  // 6 characters in 18 bytes: over the bound although under 4 bytes a character.
  EXPECT_EQ(TextProblem("\U0001F600\U0001F600\U0001F600\U0001F600ab", TextKind::kLine, 5),
            "must be at most 5 characters (has 6)");
  EXPECT_TRUE(TextProblem(std::string(21, 'a'), TextKind::kLine, 5).has_value());
}

TEST(TextProblem, RequiredRefusesEmptyAndUnicodeBlank) {
  EXPECT_EQ(TextProblem("", TextKind::kProse, 5, true), "must not be empty");
  EXPECT_EQ(TextProblem(" \u3000\u00a0", TextKind::kLine, 5, true), "must not be only white space");
  EXPECT_EQ(TextProblem("", TextKind::kProse, 5), absl::nullopt);
  EXPECT_EQ(TextProblem(" x ", TextKind::kLine, 5, true), absl::nullopt);
}

TEST(TextProblem, RefusesInvalidUtf8) {
  EXPECT_EQ(TextProblem("ab\xff", TextKind::kProse, 10), "is not valid UTF-8 at byte 2");
  EXPECT_TRUE(TextProblem("\xed\xa0\x80", TextKind::kProse, 10).has_value());  // surrogate
  EXPECT_TRUE(TextProblem("\xc0\x80", TextKind::kProse, 10).has_value());      // overlong NUL
  EXPECT_EQ(Utf8Problem("ok\u00e9"), absl::nullopt);
}

TEST(DescribeByteAt, NamesTheCodePoint) {
  EXPECT_EQ(DescribeByteAt("a\u00e9", 1), "U+00E9 at byte 1");
  EXPECT_EQ(DescribeByteAt("\xff", 0), "byte 0xFF at byte 0");
}

}  // namespace
}  // namespace suite
