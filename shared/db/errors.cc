#include "shared/db/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pqxx/except"

namespace suite::db {
namespace {

absl::StatusCode CodeForSqlState(absl::string_view s) {
  if (s == "23505") return absl::StatusCode::kAlreadyExists;
  if (s == "23503") return absl::StatusCode::kFailedPrecondition;
  if (s == "23502" || s == "23514" || s == "23P01") return absl::StatusCode::kInvalidArgument;
  if (absl::StartsWith(s, "22")) return absl::StatusCode::kInvalidArgument;
  if (s == "40001" || s == "40P01") return absl::StatusCode::kAborted;
  if (s == "57014") return absl::StatusCode::kDeadlineExceeded;
  if (s == "57P01" || s == "57P02" || s == "57P03" || absl::StartsWith(s, "08")) {
    return absl::StatusCode::kUnavailable;
  }
  if (absl::StartsWith(s, "53")) return absl::StatusCode::kResourceExhausted;
  if (s == "42501") return absl::StatusCode::kPermissionDenied;
  return absl::StatusCode::kInternal;
}

// A short, client-safe description for each code; the server's own text may quote values.
absl::string_view DescribeSqlState(absl::string_view s) {
  if (s == "23505") return "a row with the same unique key already exists";
  if (s == "23503") return "a referenced row does not exist or is still referenced";
  if (s == "23502") return "a required value is missing";
  if (s == "23514") return "a value violates a check constraint";
  if (s == "23P01") return "a value conflicts with an existing row";
  if (absl::StartsWith(s, "22")) return "a value is out of range or malformed";
  if (s == "40001") return "the transaction conflicted with a concurrent one";
  if (s == "40P01") return "the transaction deadlocked with a concurrent one";
  if (s == "57014") return "the statement ran past its timeout";
  if (s == "42501") return "the database role lacks the privilege";
  if (absl::StartsWith(s, "53")) return "the database is out of resources";
  if (absl::StartsWith(s, "57") || absl::StartsWith(s, "08")) return "the database is unavailable";
  return "database error";
}

}  // namespace

absl::Status StatusFromSqlState(absl::string_view sqlstate, absl::string_view detail) {
  absl::Status status(CodeForSqlState(sqlstate), detail);
  status.SetPayload(kSqlStatePayload, absl::Cord(sqlstate));
  return status;
}

absl::Status StatusFromException(const std::exception& e) {
  if (const auto* in_doubt = dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    (void)in_doubt;
    return absl::UnknownError("the commit's outcome is unknown: the connection broke during it");
  }
  // libpqxx 6 drops the SQLSTATE of a few errors: 40001 and 40P01 become transaction_rollback
  // subclasses (not sql_error), 53300 a broken_connection, and insufficient_privilege is
  // built without it. Restore it, so that the runner can retry 40001/40P01.
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr) {
    return StatusFromSqlState("40001", DescribeSqlState("40001"));
  }
  if (dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr) {
    return StatusFromSqlState("40P01", DescribeSqlState("40P01"));
  }
  if (dynamic_cast<const pqxx::too_many_connections*>(&e) != nullptr) {
    return StatusFromSqlState("53300", DescribeSqlState("53300"));
  }
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return absl::UnknownError("the statement's outcome is unknown");
  }
  if (const auto* denied = dynamic_cast<const pqxx::insufficient_privilege*>(&e)) {
    if (denied->sqlstate().empty()) return StatusFromSqlState("42501", DescribeSqlState("42501"));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (!state.empty()) {
      return StatusFromSqlState(state, DescribeSqlState(state));
    }
    return absl::InternalError("database error");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError("the database connection is broken");
  }
  return absl::InternalError(absl::StrCat("unexpected database client error: ", e.what()));
}

absl::optional<std::string> SqlStateOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kSqlStatePayload);
  if (!payload.has_value()) return absl::nullopt;
  return std::string(*payload);
}

bool IsRetryable(const absl::Status& status) {
  const absl::optional<std::string> state = SqlStateOf(status);
  return state.has_value() && (*state == "40001" || *state == "40P01");
}

}  // namespace suite::db
