#include "shared/db/migrate/command.h"

#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace suite::db::migrate {

const char kMigrateUsage[] =
    "usage: migrate [--database_url=URL] [--migrations_dir=DIR] [--lock_timeout=5m] "
    "up | down [N] | status | verify\n"
    "  up       apply every pending migration (core first, then owners alphabetically)\n"
    "  down N   roll back the N most recent migrations (default 1)\n"
    "  status   list migrations; exits 1 when any is pending or has a problem\n"
    "  verify   compare every owner's declared schema with the database; exits 1 on a "
    "difference\n"
    "DATABASE_URL is read from the environment unless --database_url is given.\n";

int RunMigrateCommand(const std::vector<std::string>& args, MigratorOptions options,
                      const std::vector<schema::OwnerSchema>& schemas, std::ostream& out,
                      std::ostream& err) {
  if (args.empty()) {
    err << kMigrateUsage;
    return 2;
  }
  const std::string& command = args[0];
  int down_count = 1;
  const bool known =
      command == "up" || command == "down" || command == "status" || command == "verify";
  if (!known || (command != "down" && args.size() > 1) || args.size() > 2 ||
      (command == "down" && args.size() == 2 &&
       (!absl::SimpleAtoi(args[1], &down_count) || down_count < 1))) {
    err << "migrate: bad arguments\n" << kMigrateUsage;
    return 2;
  }

  options.log = [&out](absl::string_view line) { out << line << "\n" << std::flush; };
  absl::StatusOr<std::unique_ptr<Migrator>> migrator = Migrator::Create(std::move(options));
  if (!migrator.ok()) {
    err << "migrate: " << migrator.status().message() << "\n";
    return 1;
  }
  Migrator& m = **migrator;

  if (command == "up" || command == "down") {
    absl::StatusOr<int> done = command == "up" ? m.Up() : m.Down(down_count);
    if (!done.ok()) {
      err << "migrate " << command << ": " << absl::StatusCodeToString(done.status().code())
          << ": " << done.status().message() << "\n";
      return 1;
    }
    if (command == "up") {
      out << (*done == 0 ? std::string("up: nothing to apply, the database is up to date")
                         : absl::StrCat("up: applied ", *done, " migration(s)"))
          << "\n";
    } else {
      out << "down: rolled back " << *done << " migration(s)\n";
    }
    return 0;
  }

  if (command == "status") {
    absl::StatusOr<StatusReport> report = m.Status();
    if (!report.ok()) {
      err << "migrate status: " << report.status().message() << "\n";
      return 1;
    }
    out << report->ToString();
    return report->Clean() ? 0 : 1;
  }

  absl::StatusOr<std::vector<OwnerDifferences>> diffs = m.Verify(schemas);
  if (!diffs.ok()) {
    err << "migrate verify: " << diffs.status().message() << "\n";
    return 1;
  }
  out << FormatOwnerDifferences(*diffs);
  if (!diffs->empty()) {
    out << "verify: " << diffs->size() << " of " << schemas.size()
        << " owner(s) differ from their declared schema\n";
    return 1;
  }
  out << "verify: all " << schemas.size() << " owner(s) match their declared schema\n";
  return 0;
}

}  // namespace suite::db::migrate
