#include "shared/api/enum_field.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::api {
namespace {

using ::testing::ElementsAre;

TEST(CheckEnumFieldTest, UnknownNumberSaysUnknownValueNamingTheFieldNotRequired) {
  for (int number : {7, 1, -1, 2147483647, -2147483647 - 1}) {
    for (bool required : {true, false}) {
      absl::Status s = CheckEnumField("filter.difficulty", number, /*known=*/false, required);
      ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << number;
      const std::string want = absl::StrCat("unknown value ", number);
      EXPECT_EQ(s.message(), absl::StrCat("filter.difficulty: ", want));
      EXPECT_THAT(FieldViolationsOf(s), ElementsAre(FieldViolation{"filter.difficulty", want}));
    }
  }
}

TEST(CheckEnumFieldTest, ZeroIsRequiredOnlyWhenRequired) {
  absl::Status required = CheckEnumField("mode", 0, /*known=*/false, /*required=*/true);
  ASSERT_EQ(required.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(required.message(), "mode: is required");
  EXPECT_THAT(FieldViolationsOf(required), ElementsAre(FieldViolation{"mode", "is required"}));
  EXPECT_TRUE(CheckEnumField("mode", 0, false, /*required=*/false).ok());
}

TEST(CheckEnumFieldTest, KnownNumberIsOk) {
  EXPECT_TRUE(CheckEnumField("mode", 2, /*known=*/true, true).ok());
  EXPECT_TRUE(CheckEnumField("mode", 2, /*known=*/true, false).ok());
}

}  // namespace
}  // namespace suite::api
