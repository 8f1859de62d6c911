// Billing's own settings, from the environment (the generic server settings — BILLING_GRPC_PORT
// and friends — come from shared/rpc/server/config.h, the database from shared/db/config.h):
//
//   variable                          meaning (default)
//   BILLING_WEBHOOK_PORT              port of POST /webhooks/stripe (8082; 0 = pick one), on
//                                     BILLING_LISTEN_HOST (shared/rpc/server/config.h; 127.0.0.1)
//   BILLING_STRIPE_WEBHOOK_SECRETS    comma-separated whsec_... secrets, all accepted (rotation);
//                                     required
//   BILLING_STRIPE_TOLERANCE          signature timestamp tolerance (300s)
//   BILLING_PAST_DUE_GRACE            how long past_due stays entitled (72h)
//   BILLING_PAGE_TOKEN_SECRET         HMAC key of page tokens, at least 16 bytes; required
//   IDENTITY_ADDR                     host:port of identity (ValidateSession); required
//
//   absl::StatusOr<BillingConfig> config = BillingConfig::FromLookup(suite::rpc::SystemEnv);
//
// Durations are absl durations ("300s", "72h"). Thread-safe if the lookup is.
#ifndef SUITE_SERVICES_BILLING_CONFIG_H_
#define SUITE_SERVICES_BILLING_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shared/rpc/server/config.h"

namespace suite::billing {

struct BillingConfig {
  int webhook_port = 8082;
  std::vector<std::string> webhook_secrets;
  absl::Duration signature_tolerance = absl::Seconds(300);
  absl::Duration past_due_grace = absl::Hours(72);
  std::string page_token_secret;
  std::string identity_addr;

  // FromLookup reads the variables above. INVALID_ARGUMENT naming the variable when a
  // required one is missing or a value does not parse (port outside 0..65535, a duration
  // that is not positive, a short page-token secret).
  static absl::StatusOr<BillingConfig> FromLookup(const suite::rpc::EnvLookup& env);
};

}  // namespace suite::billing

#endif  // SUITE_SERVICES_BILLING_CONFIG_H_
