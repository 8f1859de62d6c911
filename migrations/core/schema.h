// The schema the core migrations produce, for `migrate verify` and tests.
//
//   suite::db::schema::OwnerSchema core = suite::migrations::CoreSchema();
#ifndef SUITE_MIGRATIONS_CORE_SCHEMA_H_
#define SUITE_MIGRATIONS_CORE_SCHEMA_H_

#include "shared/db/migrate/owner_schema.h"

namespace suite::migrations {

// CoreSchema returns the declaration of owner `core`: the pgcrypto extension and the
// core.set_updated_at() trigger function; core owns no tables. Thread-safe.
suite::db::schema::OwnerSchema CoreSchema();

}  // namespace suite::migrations

#endif  // SUITE_MIGRATIONS_CORE_SCHEMA_H_
