#include "services/questions/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace suite::questions {
namespace {

absl::Status Bad(absl::string_view variable, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(variable, ": ", why));
}

}  // namespace

absl::StatusOr<QuestionsConfig> LoadQuestionsConfig(const suite::rpc::EnvLookup& env) {
  QuestionsConfig config;
  config.identity_addr = env("IDENTITY_ADDR").value_or("");
  if (config.identity_addr.empty()) return Bad("IDENTITY_ADDR", "is required (host:port)");
  config.billing_addr = env("BILLING_ADDR").value_or("");
  if (config.billing_addr.empty()) return Bad("BILLING_ADDR", "is required (host:port)");
  config.bank.page_token_secret = env("QUESTIONS_PAGE_TOKEN_SECRET").value_or("");
  // Several replicas must share it (a token from one works on the next), so no random default.
  if (config.bank.page_token_secret.size() < 16) {
    return Bad("QUESTIONS_PAGE_TOKEN_SECRET", "is required, at least 16 bytes");
  }
  if (absl::optional<std::string> quota = env("QUESTIONS_FREE_QUOTA")) {
    if (!absl::SimpleAtoi(*quota, &config.bank.free_sessions_per_day) ||
        config.bank.free_sessions_per_day < 0) {
      return Bad("QUESTIONS_FREE_QUOTA", "must be a non-negative integer");
    }
  }
  return config;
}

}  // namespace suite::questions
