#include "shared/base/uuid.h"

#include <string>

#include "gtest/gtest.h"

namespace suite {
namespace {

TEST(IsUuidTest, AcceptsTheCanonicalFormInEitherCase) {
  EXPECT_TRUE(IsUuid("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a21"));
  EXPECT_TRUE(IsUuid("0B6C7A9E-1D2F-4C3B-9A8E-7F6D5C4B3A21"));
  EXPECT_TRUE(IsUuid("00000000-0000-0000-0000-000000000000"));
}

TEST(IsUuidTest, RefusesEverythingElse) {
  for (const std::string& bad : {std::string(""), std::string("0b6c7a9e1d2f4c3b9a8e7f6d5c4b3a21"),
                                 std::string("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a2"),
                                 std::string("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a211"),
                                 std::string("0b6c7a9e-1d2f-4c3b-9a8e_7f6d5c4b3a21"),
                                 std::string("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a2g"),
                                 std::string("{b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a2}"),
                                 std::string("0b6c7a9e-1d2f-4c3b-9a8e-7f6d5c4b3a2\0", 36),
                                 std::string("<script>alert(1)</script>..........."),
                                 std::string("'; DROP TABLE x; --")}) {
    EXPECT_FALSE(IsUuid(bad)) << bad;
  }
}

}  // namespace
}  // namespace suite
