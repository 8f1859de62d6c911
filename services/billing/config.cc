#include "services/billing/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace suite::billing {
namespace {

absl::Status Bad(absl::string_view variable, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(variable, ": ", why));
}

absl::Status ReadDuration(const suite::rpc::EnvLookup& env, absl::string_view variable,
                          absl::Duration* out) {
  absl::optional<std::string> value = env(variable);
  if (!value.has_value()) return absl::OkStatus();
  absl::Duration d;
  if (!absl::ParseDuration(*value, &d) || d <= absl::ZeroDuration()) {
    return Bad(variable, "must be a positive duration such as 300s or 72h");
  }
  *out = d;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BillingConfig> BillingConfig::FromLookup(const suite::rpc::EnvLookup& env) {
  BillingConfig config;
  if (absl::optional<std::string> port = env("BILLING_WEBHOOK_PORT")) {
    if (!absl::SimpleAtoi(*port, &config.webhook_port) || config.webhook_port < 0 ||
        config.webhook_port > 65535) {
      return Bad("BILLING_WEBHOOK_PORT", "must be a port number 0..65535");
    }
  }
  absl::optional<std::string> secrets = env("BILLING_STRIPE_WEBHOOK_SECRETS");
  if (secrets.has_value()) {
    for (absl::string_view s : absl::StrSplit(*secrets, ',')) {
      s = absl::StripAsciiWhitespace(s);
      if (!s.empty()) config.webhook_secrets.emplace_back(s);
    }
  }
  if (config.webhook_secrets.empty()) {
    return Bad("BILLING_STRIPE_WEBHOOK_SECRETS", "at least one webhook secret is required");
  }
  if (auto s = ReadDuration(env, "BILLING_STRIPE_TOLERANCE", &config.signature_tolerance);
      !s.ok()) {
    return s;
  }
  if (auto s = ReadDuration(env, "BILLING_PAST_DUE_GRACE", &config.past_due_grace); !s.ok()) {
    return s;
  }
  config.page_token_secret = env("BILLING_PAGE_TOKEN_SECRET").value_or("");
  if (config.page_token_secret.size() < 16) {
    return Bad("BILLING_PAGE_TOKEN_SECRET", "is required and must be at least 16 bytes");
  }
  config.identity_addr = env("IDENTITY_ADDR").value_or("");
  if (config.identity_addr.empty()) return Bad("IDENTITY_ADDR", "is required (host:port)");
  return config;
}

}  // namespace suite::billing
