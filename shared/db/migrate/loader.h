// Loading every migration of a `migrations/` directory, validated, in the order they apply.
//
// The directory holds one folder per owner (`core`, `identity`, ...) with the files described
// in parser.h. Files not ending in `.sql` (BUILD, schema.h, README.md) are ignored. Owners
// apply `core` first, then the others in alphabetical order; within an owner, by version.
//
//   absl::StatusOr<std::vector<MigrationFile>> files = LoadMigrations("migrations");
//
// Thread-safe; reads the file system only.
#ifndef SUITE_SHARED_DB_MIGRATE_LOADER_H_
#define SUITE_SHARED_DB_MIGRATE_LOADER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/db/migrate/parser.h"

namespace suite::db::migrate {

// The owner whose migrations always apply first.
inline constexpr absl::string_view kCoreOwner = "core";

// LoadMigrations reads and parses every migration under `dir`. Every problem is collected
// before returning, so one run names all bad files: returns NOT_FOUND if `dir` is not a
// directory; INVALID_ARGUMENT (one "<path>:<line>: ..." per line) for bad names, malformed
// files and versions used twice within an owner.
absl::StatusOr<std::vector<MigrationFile>> LoadMigrations(absl::string_view dir);

// OwnerLess orders owners as they apply: core first, then alphabetical.
bool OwnerLess(absl::string_view a, absl::string_view b);

// ContentHash is a sha256 hex over every migration's owner, file name and checksum, in
// apply order: it changes whenever any migration is added, removed, renamed or edited.
std::string ContentHash(const std::vector<MigrationFile>& files);

}  // namespace suite::db::migrate

#endif  // SUITE_SHARED_DB_MIGRATE_LOADER_H_
