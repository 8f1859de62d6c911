#include "shared/api/page_size.h"

#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::api {
namespace {

TEST(PageLimitTest, ZeroIsTheDefaultAndLargeSizesAreCapped) {
  EXPECT_EQ(*PageLimit(0, 20, 100), 20);
  EXPECT_EQ(*PageLimit(1, 20, 100), 1);
  EXPECT_EQ(*PageLimit(100, 20, 100), 100);
  EXPECT_EQ(*PageLimit(101, 20, 100), 100);
}

TEST(PageLimitTest, NegativeIsInvalidArgumentNamingPageSize) {
  absl::StatusOr<int> limit = PageLimit(-1, 20, 100);
  ASSERT_EQ(limit.status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<FieldViolation> violations = FieldViolationsOf(limit.status());
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "page_size");
}

}  // namespace
}  // namespace suite::api
