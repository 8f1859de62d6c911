#include "shared/db/config.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace suite::db {
namespace {

using ::testing::HasSubstr;

PoolConfig::Lookup From(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

TEST(PoolConfigTest, OnlyUrlSetGivesDefaults) {
  auto config = PoolConfig::FromLookup(From({{"DATABASE_URL", "postgresql://u@h/db"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->database_url, "postgresql://u@h/db");
  EXPECT_EQ(config->pool_size, 16);
  EXPECT_EQ(config->checkout_timeout, absl::Milliseconds(2000));
  EXPECT_EQ(config->statement_timeout, absl::Milliseconds(5000));
  EXPECT_TRUE(config->prepared_statements);
  EXPECT_EQ(config->connect_timeout, absl::Seconds(5));
}

TEST(PoolConfigTest, ReadsEveryVariable) {
  auto config = PoolConfig::FromLookup(From({{"DATABASE_URL", "host=h dbname=d"},
                                             {"DB_POOL_SIZE", "3"},
                                             {"DB_CHECKOUT_TIMEOUT_MS", "150"},
                                             {"DB_STATEMENT_TIMEOUT_MS", "0"},
                                             {"DB_PREPARED_STATEMENTS", "false"},
                                             {"DB_CONNECT_TIMEOUT_S", "9"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->database_url, "host=h dbname=d");
  EXPECT_EQ(config->pool_size, 3);
  EXPECT_EQ(config->checkout_timeout, absl::Milliseconds(150));
  EXPECT_EQ(config->statement_timeout, absl::ZeroDuration());
  EXPECT_FALSE(config->prepared_statements);
  EXPECT_EQ(config->connect_timeout, absl::Seconds(9));
}

TEST(PoolConfigTest, MissingOrBlankUrlIsInvalidArgumentNamingIt) {
  for (auto vars : {std::map<std::string, std::string>{},
                    std::map<std::string, std::string>{{"DATABASE_URL", "  "}}}) {
    auto config = PoolConfig::FromLookup(From(vars));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("DATABASE_URL"));
  }
}

TEST(PoolConfigTest, BadValueIsInvalidArgumentNamingTheVariable) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"DB_POOL_SIZE", "0"},           {"DB_POOL_SIZE", "eight"},
      {"DB_CHECKOUT_TIMEOUT_MS", "-1"}, {"DB_STATEMENT_TIMEOUT_MS", "5s"},
      {"DB_PREPARED_STATEMENTS", "maybe"}, {"DB_CONNECT_TIMEOUT_S", "0"}};
  for (const auto& [var, value] : bad) {
    auto config =
        PoolConfig::FromLookup(From({{"DATABASE_URL", "postgresql://h/d"}, {var, value}}));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << var << "=" << value;
    EXPECT_THAT(config.status().message(), HasSubstr(var));
  }
}

TEST(PoolConfigTest, FromEnvReadsTheProcessEnvironment) {
  ::setenv("DATABASE_URL", "postgresql://env@h/db", 1);
  ::setenv("DB_POOL_SIZE", "2", 1);
  auto config = PoolConfig::FromEnv();
  ::unsetenv("DATABASE_URL");
  ::unsetenv("DB_POOL_SIZE");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->database_url, "postgresql://env@h/db");
  EXPECT_EQ(config->pool_size, 2);
}

}  // namespace
}  // namespace suite::db
