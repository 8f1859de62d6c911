// Early-return helpers for absl::Status and absl::StatusOr<T>.
//
// Abseil 20220623 (Debian's) ships no status macros, so the suite defines this one pair and
// uses it everywhere:
//
//   absl::StatusOr<User> LoadUser(Transaction& tx, absl::string_view id) {
//     SUITE_RETURN_IF_ERROR(ValidateId(id));
//     SUITE_ASSIGN_OR_RETURN(pqxx::result rows, tx.Exec("user_by_id", id));
//     ...
//   }
#ifndef SUITE_SHARED_BASE_STATUS_MACROS_H_
#define SUITE_SHARED_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if not OK.
#define SUITE_RETURN_IF_ERROR(expr)                          \
  do {                                                       \
    ::absl::Status suite_status_macro_status_ = (expr);      \
    if (!suite_status_macro_status_.ok()) {                  \
      return suite_status_macro_status_;                     \
    }                                                        \
  } while (false)

#define SUITE_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define SUITE_STATUS_MACROS_CONCAT_(a, b) SUITE_STATUS_MACROS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the
// value into `lhs`, which may be a declaration (`auto rows`) or an existing variable.
#define SUITE_ASSIGN_OR_RETURN(lhs, rexpr) \
  SUITE_ASSIGN_OR_RETURN_IMPL_(            \
      SUITE_STATUS_MACROS_CONCAT_(suite_statusor_, __LINE__), lhs, rexpr)

#define SUITE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) {                                    \
    return std::move(statusor).status();                   \
  }                                                        \
  lhs = std::move(statusor).value()

#endif  // SUITE_SHARED_BASE_STATUS_MACROS_H_
