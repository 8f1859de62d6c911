// The `migrate` command line, separated from main() so tests can run it:
//
//   bazel run //migrations:migrate -- up          apply every pending migration
//   bazel run //migrations:migrate -- down [N]    roll back the N (default 1) newest
//   bazel run //migrations:migrate -- status      list applied / pending / problem migrations
//   bazel run //migrations:migrate -- verify      compare every owner's schema with the database
//
// Exit codes: 0 success; 1 failure, and also `status` with pending migrations or problems and
// `verify` with differences; 2 a usage error.
#ifndef SUITE_SHARED_DB_MIGRATE_COMMAND_H_
#define SUITE_SHARED_DB_MIGRATE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "shared/db/migrate/migrator.h"
#include "shared/db/schema/schema_spec.h"

namespace suite::db::migrate {

// The usage text printed for a usage error.
extern const char kMigrateUsage[];

// RunMigrateCommand runs one subcommand: `args` are the positional arguments after the
// program name (e.g. {"down", "2"}); `options` says where the database and the migrations
// are (its `log` is replaced by one that writes to `out`); `schemas` are the owners' declared
// schemas for `verify`. Reports go to `out`, errors to `err`. Returns the exit code.
int RunMigrateCommand(const std::vector<std::string>& args, MigratorOptions options,
                      const std::vector<schema::OwnerSchema>& schemas, std::ostream& out,
                      std::ostream& err);

}  // namespace suite::db::migrate

#endif  // SUITE_SHARED_DB_MIGRATE_COMMAND_H_
