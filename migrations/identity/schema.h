// The schema the identity migrations produce, for `migrate verify` and tests.
//
//   suite::db::schema::OwnerSchema identity = suite::migrations::IdentitySchema();
#ifndef SUITE_MIGRATIONS_IDENTITY_SCHEMA_H_
#define SUITE_MIGRATIONS_IDENTITY_SCHEMA_H_

#include "shared/db/migrate/owner_schema.h"

namespace suite::migrations {

// IdentitySchema returns the declaration of owner `identity`: users, accounts, roles,
// role_assignments, sessions, login_attempts and email_verifications. Thread-safe.
suite::db::schema::OwnerSchema IdentitySchema();

}  // namespace suite::migrations

#endif  // SUITE_MIGRATIONS_IDENTITY_SCHEMA_H_
