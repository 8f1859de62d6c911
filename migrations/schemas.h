// Every owner's declared schema, in apply order, for `migrate verify`.
//
//   for (const suite::db::schema::OwnerSchema& owner : suite::migrations::AllSchemas()) ...
//
// A new owner adds its `schema` library to //migrations:schemas and a line in schemas.cc.
#ifndef SUITE_MIGRATIONS_SCHEMAS_H_
#define SUITE_MIGRATIONS_SCHEMAS_H_

#include <vector>

#include "shared/db/migrate/owner_schema.h"

namespace suite::migrations {

// AllSchemas returns the declaration of every owner: core first, then alphabetical.
// Thread-safe.
std::vector<suite::db::schema::OwnerSchema> AllSchemas();

}  // namespace suite::migrations

#endif  // SUITE_MIGRATIONS_SCHEMAS_H_
