// All SQL of the question bank's store (pg_store.h), by statement name, and its registration
// with a pool: the store's code holds no SQL text, only names and the column order each
// statement returns.
//
//   SUITE_RETURN_IF_ERROR(RegisterQuestionStatements(*pool));
//   tx.ExecOne("lock_question", id);
//
// Timestamps travel as Unix microseconds (int8); keyset cursors of lists newest first carry
// created_at as PostgreSQL prints it. Thread-safe: the map is built once and never changed.
#ifndef SUITE_SERVICES_QUESTIONS_STORAGE_STATEMENTS_H_
#define SUITE_SERVICES_QUESTIONS_STORAGE_STATEMENTS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "shared/db/pool.h"

namespace suite::questions {

// The schema of the question bank's audit trail (shared/db/audit/audit_log.h).
inline constexpr char kAuditSchema[] = "questions";

// QuestionStatements is every named statement of the store (name → SQL), for registration
// and for the EXPLAIN tests.
const std::map<std::string, std::string>& QuestionStatements();

// RegisterQuestionStatements registers the statements above, the batched read of whole
// questions ("question_full_by_id") and the audit trail's statements with `pool`. Returns the
// pool's ALREADY_EXISTS when a name is taken by other SQL.
absl::Status RegisterQuestionStatements(suite::db::ConnectionPool& pool);

}  // namespace suite::questions

#endif  // SUITE_SERVICES_QUESTIONS_STORAGE_STATEMENTS_H_
