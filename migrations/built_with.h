// The migrations a build was made with: every file of migrations/<owner>/ at build time,
// listed by a genrule from the files themselves, for the schema guard
// (shared/db/migrate/schema_guard.h).
//
//   SchemaGuard guard(pool, "identity", suite::migrations::BuiltWith({"core", "identity"}));
#ifndef SUITE_MIGRATIONS_BUILT_WITH_H_
#define SUITE_MIGRATIONS_BUILT_WITH_H_

#include <string>
#include <vector>

#include "shared/db/migrate/schema_guard.h"

namespace suite::migrations {

// BuiltWith returns the migrations of `owners`, core first then by owner name and version
// (the migrator's apply order, for the owners the suite has). Thread-safe.
std::vector<suite::db::migrate::KnownMigration> BuiltWith(const std::vector<std::string>& owners);

}  // namespace suite::migrations

#endif  // SUITE_MIGRATIONS_BUILT_WITH_H_
