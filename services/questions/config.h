// The question bank's own settings, read from the environment (server and database settings
// come from shared/rpc/server/config.h with prefix QUESTIONS and shared/db/config.h).
//
//   variable                      meaning (default)
//   IDENTITY_ADDR                 identity's gRPC host:port, for ValidateSession (required)
//   BILLING_ADDR                  billing's gRPC host:port, for GetEntitlement (required)
//   QUESTIONS_PAGE_TOKEN_SECRET   HMAC key of page tokens, at least 16 bytes (required)
//   QUESTIONS_FREE_QUOTA          practice sessions per UTC day without a subscription (3)
//
//   absl::StatusOr<QuestionsConfig> config = LoadQuestionsConfig(suite::rpc::SystemEnv);
//
// Thread-safe if the lookup is.
#ifndef SUITE_SERVICES_QUESTIONS_CONFIG_H_
#define SUITE_SERVICES_QUESTIONS_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "services/questions/domain/questions.h"
#include "shared/rpc/server/config.h"

namespace suite::questions {

struct QuestionsConfig {
  QuestionBankOptions bank;  // free_sessions_per_day and page_token_secret set from above
  std::string identity_addr;
  std::string billing_addr;
};

// LoadQuestionsConfig reads the variables above. INVALID_ARGUMENT naming the variable when a
// required one is missing (an empty value counts as missing) or a value does not parse (a
// short page-token secret, a quota that is not a non-negative integer).
absl::StatusOr<QuestionsConfig> LoadQuestionsConfig(const suite::rpc::EnvLookup& env);

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_CONFIG_H_
