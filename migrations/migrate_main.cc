// main() of `bazel run //migrations:migrate -- up|down [N]|status|verify` (see command.h).
//
// Run from the repository root (or through `bazel run`, which sets BUILD_WORKSPACE_DIRECTORY)
// it finds migrations/ by itself; the role in DATABASE_URL should be the owner role
// (suite_owner, migrations/README.md).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "migrations/schemas.h"
#include "shared/db/migrate/command.h"

ABSL_FLAG(std::string, database_url, "",
          "libpq URL of the database to migrate; defaults to $DATABASE_URL");
ABSL_FLAG(std::string, migrations_dir, "",
          "directory with one folder per owner; defaults to migrations/ of the workspace "
          "(bazel run) or of the current directory");
ABSL_FLAG(absl::Duration, lock_timeout, absl::Minutes(5),
          "how long up/down wait for another runner's lock");

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Relative paths given on the command line mean the caller's directory, also under
// `bazel run`, whose working directory is the runfiles tree.
std::string FromCaller(const std::string& path) {
  const std::string caller = Env("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || caller.empty()) return path;
  return caller + "/" + path;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(suite::db::migrate::kMigrateUsage);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args(positional.begin() + 1, positional.end());

  suite::db::migrate::MigratorOptions options;
  options.database_url = absl::GetFlag(FLAGS_database_url);
  if (options.database_url.empty()) options.database_url = Env("DATABASE_URL");
  options.migrations_dir = FromCaller(absl::GetFlag(FLAGS_migrations_dir));
  if (options.migrations_dir.empty()) {
    const std::string workspace = Env("BUILD_WORKSPACE_DIRECTORY");
    options.migrations_dir = workspace.empty() ? "migrations" : workspace + "/migrations";
  }
  options.lock_timeout = absl::GetFlag(FLAGS_lock_timeout);
  return suite::db::migrate::RunMigrateCommand(args, options, suite::migrations::AllSchemas(),
                                               std::cout, std::cerr);
}
