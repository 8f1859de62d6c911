// LoadQuestionsConfig: defaults, every variable read, and each missing or bad value refused
// naming its variable.
#include "services/questions/config.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace suite::questions {
namespace {

suite::rpc::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

std::map<std::string, std::string> Minimal() {
  return {{"IDENTITY_ADDR", "identity:50051"},
          {"BILLING_ADDR", "billing:50052"},
          {"QUESTIONS_PAGE_TOKEN_SECRET", "0123456789abcdef"}};
}

TEST(QuestionsConfigTest, DefaultsAndRequiredValues) {
  auto config = LoadQuestionsConfig(Env(Minimal()));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->identity_addr, "identity:50051");
  EXPECT_EQ(config->billing_addr, "billing:50052");
  EXPECT_EQ(config->bank.page_token_secret, "0123456789abcdef");
  EXPECT_EQ(config->bank.free_sessions_per_day, 3);
}

TEST(QuestionsConfigTest, ReadsTheFreeQuota) {
  for (const auto& [text, value] : std::vector<std::pair<std::string, int>>{{"0", 0}, {"12", 12}}) {
    auto vars = Minimal();
    vars["QUESTIONS_FREE_QUOTA"] = text;
    auto config = LoadQuestionsConfig(Env(vars));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->bank.free_sessions_per_day, value);
  }
}

TEST(QuestionsConfigTest, RefusesMissingOrBadValuesNamingTheVariable) {
  for (const std::string drop : {"IDENTITY_ADDR", "BILLING_ADDR", "QUESTIONS_PAGE_TOKEN_SECRET"}) {
    auto vars = Minimal();
    vars.erase(drop);
    auto config = LoadQuestionsConfig(Env(vars));
    ASSERT_FALSE(config.ok()) << drop;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(config.status().message().rfind(drop + ":", 0), 0u) << config.status();
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"QUESTIONS_PAGE_TOKEN_SECRET", "0123456789abcde"},  // 15 bytes
      {"QUESTIONS_FREE_QUOTA", "lots"},
      {"QUESTIONS_FREE_QUOTA", "-1"},
      {"QUESTIONS_FREE_QUOTA", "3.5"},
      {"QUESTIONS_FREE_QUOTA", "99999999999999999999"},
  };
  for (const auto& [variable, value] : bad) {
    auto vars = Minimal();
    vars[variable] = value;
    auto config = LoadQuestionsConfig(Env(vars));
    ASSERT_FALSE(config.ok()) << variable << "=" << value;
    EXPECT_EQ(config.status().message().rfind(variable + ":", 0), 0u) << config.status();
  }
}

}  // namespace
}  // namespace suite::questions
