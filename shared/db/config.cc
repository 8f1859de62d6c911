#include "shared/db/config.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "shared/base/status_macros.h"

namespace suite::db {
namespace {

absl::Status Invalid(absl::string_view var, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(var, " ", why));
}

// Reads an integer in [min, max]; leaves `out` alone when the variable is unset or empty.
absl::Status ReadInt(const PoolConfig::Lookup& lookup, absl::string_view var, int min, int max,
                     int& out) {
  absl::optional<std::string> raw = lookup(var);
  if (!raw.has_value() || raw->empty()) return absl::OkStatus();
  int value = 0;
  if (!absl::SimpleAtoi(*raw, &value) || value < min || value > max) {
    return Invalid(var, absl::StrCat("must be an integer from ", min, " to ", max));
  }
  out = value;
  return absl::OkStatus();
}

absl::Status ReadBool(const PoolConfig::Lookup& lookup, absl::string_view var, bool& out) {
  absl::optional<std::string> raw = lookup(var);
  if (!raw.has_value() || raw->empty()) return absl::OkStatus();
  if (!absl::SimpleAtob(*raw, &out)) return Invalid(var, "must be true or false");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PoolConfig> PoolConfig::FromEnv() {
  return FromLookup([](absl::string_view name) -> absl::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return absl::nullopt;
    return std::string(value);
  });
}

absl::StatusOr<PoolConfig> PoolConfig::FromLookup(const Lookup& lookup) {
  PoolConfig config;
  absl::optional<std::string> url = lookup("DATABASE_URL");
  if (!url.has_value() || absl::StripAsciiWhitespace(*url).empty()) {
    return Invalid("DATABASE_URL", "is required");
  }
  config.database_url = std::string(absl::StripAsciiWhitespace(*url));

  constexpr int kDay = 24 * 60 * 60;
  int checkout_ms = 2000, statement_ms = 5000, connect_s = 5;
  SUITE_RETURN_IF_ERROR(ReadInt(lookup, "DB_POOL_SIZE", 1, 1000, config.pool_size));
  SUITE_RETURN_IF_ERROR(ReadInt(lookup, "DB_CHECKOUT_TIMEOUT_MS", 1, kDay * 1000, checkout_ms));
  SUITE_RETURN_IF_ERROR(ReadInt(lookup, "DB_STATEMENT_TIMEOUT_MS", 0, kDay * 1000, statement_ms));
  SUITE_RETURN_IF_ERROR(ReadBool(lookup, "DB_PREPARED_STATEMENTS", config.prepared_statements));
  SUITE_RETURN_IF_ERROR(ReadInt(lookup, "DB_CONNECT_TIMEOUT_S", 1, 3600, connect_s));
  config.checkout_timeout = absl::Milliseconds(checkout_ms);
  config.statement_timeout = absl::Milliseconds(statement_ms);
  config.connect_timeout = absl::Seconds(connect_s);
  return config;
}

}  // namespace suite::db
