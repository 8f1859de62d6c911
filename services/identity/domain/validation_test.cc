// Input rules: e-mail normalisation, NIST password policy, UUIDs, bounded text.
#include "services/identity/domain/validation.h"

#include <gtest/gtest.h>

namespace suite::identity {
namespace {

TEST(ValidationTest, EmailsAreTrimmedLowerCasedAndChecked) {
  auto e = NormalizeEmail("email", "  Ada@Example.COM\t");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, "ada@example.com");
  for (const char* bad : {"", "ada", "@example.com", "ada@", "ada@example", "a@b@c.d",
                          "ada @example.com", "ada@example.com."}) {
    EXPECT_EQ(NormalizeEmail("email", bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_FALSE(NormalizeEmail("email", std::string(250, 'a') + "@b.co").ok());
}

TEST(ValidationTest, PasswordsNeed12To128CharactersAndNothingElse) {
  EXPECT_FALSE(ValidateNewPassword("password", "elevenchars").ok());
  EXPECT_TRUE(ValidateNewPassword("password", "twelve chars").ok());
  EXPECT_TRUE(ValidateNewPassword("password", "ääääääääääää").ok());  // 12 code points
  EXPECT_TRUE(ValidateNewPassword("password", std::string(128, 'x')).ok());
  EXPECT_FALSE(ValidateNewPassword("password", std::string(129, 'x')).ok());
  EXPECT_FALSE(ValidateNewPassword("password", "\xff\xfe invalid utf8").ok());
}

// UUID fields: shared/api/uuid_field_test.cc.
TEST(ValidationTest, TextAndIps) {
  EXPECT_TRUE(ValidateText("name", "", 10).ok());
  EXPECT_FALSE(ValidateText("name", "", 10, /*required=*/true).ok());
  EXPECT_FALSE(ValidateText("name", "line\nbreak", 100).ok());
  EXPECT_FALSE(ValidateText("name", std::string(11, 'x'), 10).ok());
  EXPECT_TRUE(ValidateIp("ip", "2001:db8::1").ok());
  EXPECT_TRUE(ValidateIp("ip", "192.0.2.1").ok());
  EXPECT_FALSE(ValidateIp("ip", "example.com").ok());
  EXPECT_TRUE(ValidateRoleKey("key", "reviewer_2").ok());
  EXPECT_FALSE(ValidateRoleKey("key", "2fast").ok());
  EXPECT_EQ(*ValidatePageSize(0), 50);
  EXPECT_EQ(*ValidatePageSize(1000), 100);
  EXPECT_FALSE(ValidatePageSize(-1).ok());
}

TEST(ValidationTest, TextRefusesNulAndControlsNamingTheByteAndCountsCharacters) {
  using namespace std::string_literals;
  absl::Status s = ValidateText("first_name", "Ad\0a"s, 100);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("U+0000 at byte 2"), absl::string_view::npos) << s.message();
  EXPECT_FALSE(ValidateText("first_name", "x\u0085y", 100).ok());  // C1 control
  EXPECT_FALSE(ValidateText("first_name", "\t", 100).ok());
  EXPECT_FALSE(ValidateText("name", " \u3000", 100, /*required=*/true).ok());  // only blanks
  EXPECT_TRUE(ValidateText("name", "\u202eabc\u200d\ufeff", 100).ok());  // format characters
  std::string emoji;
  for (int i = 0; i < 100; ++i) emoji += "\U0001F600";
  EXPECT_TRUE(ValidateText("first_name", emoji, 100).ok());  // 400 bytes, 100 characters
  EXPECT_FALSE(ValidateText("first_name", emoji + "x", 100).ok());
  // E-mail: 254 characters as the database counts them, not bytes.
  std::string local;
  for (int i = 0; i < 240; ++i) local += "\u00e9";
  EXPECT_TRUE(NormalizeEmail("email", local + "@example.com").ok());  // 252 characters
  EXPECT_FALSE(NormalizeEmail("email", "ad\0a@example.com"s).ok());
  EXPECT_FALSE(NormalizeEmail("email", "ad\x7f" "a@example.com").ok());
  // A password is hashed with its length, never stored as text: any UTF-8 is fine.
  EXPECT_TRUE(ValidateNewPassword("password", "twelve\0chars\x1b"s).ok());
  // An IP: characters first, so a long value of other characters is not "too long".
  absl::Status ip = ValidateIp("ip", std::string(40, 'x'));
  EXPECT_NE(ip.message().find("IP address"), absl::string_view::npos) << ip.message();
}

}  // namespace
}  // namespace suite::identity
