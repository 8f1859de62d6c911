// The one place where database failures become absl::Status.
//
// libpqxx reports failures as exceptions; storage code catches them at its boundary and turns
// them into a status with a canonical code, so that no exception leaves storage/:
//
//   try {
//     ...
//   } catch (const std::exception& e) {
//     return suite::db::StatusFromException(e);
//   }
//
// The message kept in the status is safe to show a client: the SQLSTATE class and the
// constraint name, never the SQL text or parameter values. Details for operators go to the
// log through the payload "suite.db.sqlstate".
#ifndef SUITE_SHARED_DB_ERRORS_H_
#define SUITE_SHARED_DB_ERRORS_H_

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace suite::db {

// The status payload URL under which the SQLSTATE of a database error is kept.
inline constexpr absl::string_view kSqlStatePayload = "suite.db.sqlstate";

// StatusFromSqlState maps a PostgreSQL SQLSTATE to a canonical code:
//   23505 unique_violation            -> ALREADY_EXISTS
//   23503 foreign_key_violation       -> FAILED_PRECONDITION
//   23502 not_null_violation, 23514 check_violation, 22xxx data exceptions -> INVALID_ARGUMENT
//   40001 serialization_failure, 40P01 deadlock_detected -> ABORTED (retryable)
//   57014 query_canceled (statement timeout)              -> DEADLINE_EXCEEDED
//   57P01/57P02/57P03 admin shutdown, crash, cannot connect now, 08xxx connection -> UNAVAILABLE
//   53300 too_many_connections, 53xxx insufficient resources -> RESOURCE_EXHAUSTED
//   42501 insufficient_privilege      -> PERMISSION_DENIED
//   anything else                     -> INTERNAL
// `detail` becomes the message; the SQLSTATE is attached as the kSqlStatePayload payload.
absl::Status StatusFromSqlState(absl::string_view sqlstate, absl::string_view detail);

// StatusFromException maps an exception thrown by libpqxx (or anything else) to a status:
// SQL errors by their SQLSTATE as above, a broken connection to UNAVAILABLE, an in-doubt
// commit to UNKNOWN (the write may or may not have happened), other exceptions to INTERNAL.
absl::Status StatusFromException(const std::exception& e);

// SqlStateOf returns the SQLSTATE attached to a status made by this file, if any.
absl::optional<std::string> SqlStateOf(const absl::Status& status);

// IsRetryable is true for statuses a transaction runner may retry from the start:
// serialization failures and deadlocks (ABORTED).
bool IsRetryable(const absl::Status& status);

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_ERRORS_H_
