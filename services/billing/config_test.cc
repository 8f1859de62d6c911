#include "services/billing/config.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace suite::billing {
namespace {

suite::rpc::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

std::map<std::string, std::string> Minimal() {
  return {{"BILLING_STRIPE_WEBHOOK_SECRETS", "whsec_a"},
          {"BILLING_PAGE_TOKEN_SECRET", "0123456789abcdef"},
          {"IDENTITY_ADDR", "identity:50051"}};
}

TEST(BillingConfigTest, DefaultsAndRequiredValues) {
  auto config = BillingConfig::FromLookup(Env(Minimal()));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhook_port, 8082);
  EXPECT_EQ(config->signature_tolerance, absl::Seconds(300));
  EXPECT_EQ(config->past_due_grace, absl::Hours(72));
  EXPECT_EQ(config->webhook_secrets, std::vector<std::string>{"whsec_a"});
}

TEST(BillingConfigTest, ReadsRotatedSecretsAndDurations) {
  auto vars = Minimal();
  vars["BILLING_STRIPE_WEBHOOK_SECRETS"] = " whsec_old , whsec_new ,";
  vars["BILLING_STRIPE_TOLERANCE"] = "60s";
  vars["BILLING_PAST_DUE_GRACE"] = "24h";
  vars["BILLING_WEBHOOK_PORT"] = "0";
  auto config = BillingConfig::FromLookup(Env(vars));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhook_secrets, (std::vector<std::string>{"whsec_old", "whsec_new"}));
  EXPECT_EQ(config->signature_tolerance, absl::Seconds(60));
  EXPECT_EQ(config->past_due_grace, absl::Hours(24));
  EXPECT_EQ(config->webhook_port, 0);
}

TEST(BillingConfigTest, RefusesMissingOrBadValuesNamingTheVariable) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"BILLING_STRIPE_WEBHOOK_SECRETS", " , "},
      {"BILLING_PAGE_TOKEN_SECRET", "short"},
      {"IDENTITY_ADDR", ""},
      {"BILLING_WEBHOOK_PORT", "70000"},
      {"BILLING_STRIPE_TOLERANCE", "-5s"},
      {"BILLING_PAST_DUE_GRACE", "soon"}};
  for (const auto& [name, value] : bad) {
    auto vars = Minimal();
    if (value.empty()) {
      vars.erase(name);
    } else {
      vars[name] = value;
    }
    auto config = BillingConfig::FromLookup(Env(vars));
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(config.status().message().find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace suite::billing
