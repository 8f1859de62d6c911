#include "shared/api/uuid_field.h"

#include <string>

#include "gtest/gtest.h"
#include "shared/api/status.h"

namespace suite::api {
namespace {

TEST(RequireUuidTest, AcceptsAUuidInEitherCase) {
  EXPECT_TRUE(RequireUuid("user_id", "0b7e3a4c-1d2e-4f50-8a9b-0c1d2e3f4a5b").ok());
  EXPECT_TRUE(RequireUuid("user_id", "0B7E3A4C-1D2E-4F50-8A9B-0C1D2E3F4A5B").ok());
}

TEST(RequireUuidTest, EmptyIsRequiredAndNamesTheField) {
  const absl::Status status = RequireUuid("transaction.account_id", "");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "transaction.account_id: is required");
  EXPECT_EQ(FirstViolatedField(status), "transaction.account_id");
}

TEST(RequireUuidTest, AnythingElseMustBeAUuid) {
  for (const std::string& bad :
       {std::string(" "), std::string("0b7e3a4c1d2e4f508a9b0c1d2e3f4a5b"),
        std::string("{0b7e3a4c-1d2e-4f50-8a9b-0c1d2e3f4a5b}"),
        std::string(" 0b7e3a4c-1d2e-4f50-8a9b-0c1d2e3f4a5b"),
        std::string("0b7e3a4c-1d2e-4f50-8a9b-0c1d2e3f4a5b\n"),
        std::string("0b7e3a4c-1d2e-4f50-8a9b-0c1d2e3f4a5\0", 36), std::string(1 << 20, 'a')}) {
    const absl::Status status = RequireUuid("user_id", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.size();
    EXPECT_EQ(status.message(), "user_id: must be a UUID") << bad.size();
  }
}

}  // namespace
}  // namespace suite::api
