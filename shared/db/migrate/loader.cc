#include "shared/db/migrate/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shared/base/sha256.h"

namespace suite::db::migrate {
namespace fs = std::filesystem;

bool OwnerLess(absl::string_view a, absl::string_view b) {
  const bool a_core = a == kCoreOwner;
  const bool b_core = b == kCoreOwner;
  if (a_core != b_core) return a_core;
  return a < b;
}

absl::StatusOr<std::vector<MigrationFile>> LoadMigrations(absl::string_view dir) {
  const fs::path root{std::string(dir)};
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(
        absl::StrCat("migrations directory '", dir, "' does not exist (see --migrations_dir)"));
  }
  std::vector<std::string> errors;
  std::vector<MigrationFile> files;
  // Sorted so that error messages and hashing do not depend on directory order.
  std::vector<fs::path> owners;
  for (const fs::directory_entry& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory(ec)) owners.push_back(entry.path());
  }
  if (ec) {
    return absl::UnavailableError(absl::StrCat("reading '", dir, "': ", ec.message()));
  }
  std::sort(owners.begin(), owners.end());
  for (const fs::path& owner_dir : owners) {
    const std::string owner = owner_dir.filename().string();
    std::vector<fs::path> sql_files;
    for (const fs::directory_entry& entry : fs::directory_iterator(owner_dir, ec)) {
      if (entry.path().extension() == ".sql" && !entry.is_directory(ec)) {
        sql_files.push_back(entry.path());
      }
    }
    std::sort(sql_files.begin(), sql_files.end());
    std::map<int64_t, std::string> versions;  // version -> path, to find duplicates
    for (const fs::path& file : sql_files) {
      const std::string path = file.string();
      std::ifstream in(file, std::ios::binary);
      std::stringstream contents;
      contents << in.rdbuf();
      if (!in) {
        errors.push_back(absl::StrCat(path, ":1: cannot read the file"));
        continue;
      }
      absl::StatusOr<MigrationFile> parsed =
          ParseMigration(path, owner, file.filename().string(), contents.str());
      if (!parsed.ok()) {
        errors.push_back(std::string(parsed.status().message()));
        continue;
      }
      auto [it, inserted] = versions.emplace(parsed->version, path);
      if (!inserted) {
        errors.push_back(absl::StrCat(path, ":1: version ", parsed->version,
                                      " is already used by ", it->second,
                                      " (versions must be unique within an owner)"));
        continue;
      }
      files.push_back(*std::move(parsed));
    }
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  std::stable_sort(files.begin(), files.end(), [](const MigrationFile& a, const MigrationFile& b) {
    if (a.owner != b.owner) return OwnerLess(a.owner, b.owner);
    return a.version < b.version;
  });
  return files;
}

std::string ContentHash(const std::vector<MigrationFile>& files) {
  std::string all;
  for (const MigrationFile& f : files) {
    absl::StrAppend(&all, f.owner, "/", f.file_name, " ", f.checksum, "\n");
  }
  return Sha256Hex(all);
}

}  // namespace suite::db::migrate
