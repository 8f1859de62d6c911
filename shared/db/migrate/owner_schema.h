// What an owner of migrations/ includes to declare the schema its migrations produce.
//
// Each owner keeps, next to its SQL, `migrations/<owner>/schema.{h,cc}` with one function
// returning its declaration; `//migrations:schemas` collects them and `migrate verify` checks
// every one against the live database (shared/db/schema/schema_check.h):
//
//   #include "shared/db/migrate/owner_schema.h"
//   suite::db::schema::OwnerSchema CoreSchema() {
//     suite::db::schema::OwnerSchema s;
//     s.owner = "core";
//     s.extensions = {"pgcrypto"};
//     s.functions = {"core.set_updated_at"};
//     return s;
//   }
//
// This header exists so that migrations/ (the database contract, not a service) depends on
// the migrator's package only; the declarations themselves are those of schema_spec.h.
#ifndef SUITE_SHARED_DB_MIGRATE_OWNER_SCHEMA_H_
#define SUITE_SHARED_DB_MIGRATE_OWNER_SCHEMA_H_

#include "shared/db/schema/schema_spec.h"  // IWYU pragma: export

#endif  // SUITE_SHARED_DB_MIGRATE_OWNER_SCHEMA_H_
