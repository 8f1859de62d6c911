// All SQL of identity's PostgreSQL store (pg_store.h) and its registration with the pool as
// named, parameterized statements: the store only names a statement and passes values, so no
// SQL is ever built from a value. Each statement's columns come in the order pg_store.cc's row
// readers (UserOf, SessionOf, ...) expect.
//
//   SUITE_RETURN_IF_ERROR(RegisterStatements(*pool));
//   tx.ExecOne("identity_user_get", user_id);
//
// Thread-safe: RegisterStatements is called once per pool, before the pool is shared.
#ifndef SUITE_SERVICES_IDENTITY_STORAGE_STATEMENTS_H_
#define SUITE_SERVICES_IDENTITY_STORAGE_STATEMENTS_H_

#include "absl/status/status.h"
#include "shared/db/pool.h"

namespace suite::identity {

// The batched read of ValidateSession's lookups (//shared/db:batched_read_statement): one
// statement per batch size, each row the session, its user's status and deletion, its
// "role:account" grants joined by ',', and last the token hash it answers.
inline constexpr char kSessionLookupStatement[] = "identity_session_lookup";

// RegisterStatements registers every statement of the store with `pool`: identity's own,
// the audit trail's (shared/db/audit) and the batched session lookup.
absl::Status RegisterStatements(suite::db::ConnectionPool& pool);

}  // namespace suite::identity

#endif  // SUITE_SERVICES_IDENTITY_STORAGE_STATEMENTS_H_
