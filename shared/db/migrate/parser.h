// Parsing of migration files: names, sections and statements.
//
// A migration is a file `<owner>/YYYYMMDDHHMMSS_verb_description.sql`:
//
//   -- +migrate Up
//   CREATE FUNCTION core.touch() RETURNS trigger LANGUAGE plpgsql AS $$
//   BEGIN NEW.updated_at = now(); RETURN NEW; END;
//   $$;
//
//   -- +migrate Down
//   DROP FUNCTION core.touch();
//
// Markers (each alone on its line): `-- +migrate Up` (required, once, first), `-- +migrate Down`
// (required, once, after Up; its section may be empty), `-- +migrate NoTransaction` (optional:
// the file runs statement by statement outside a transaction, e.g. for CREATE INDEX
// CONCURRENTLY, in both its sections; such a file must be idempotent). Before the Up marker
// only blank lines and `--` comments are allowed. A line that starts with `-- +migrate` is
// always taken as a marker, even inside a $$ body, so do not begin body lines that way.
//
// Statements are split here, not by the server, so that each failure can name the file and
// line of its statement. The splitter knows '...' strings (and E'...' escapes), "..."
// identifiers, $tag$...$tag$ bodies, -- line comments and nested /* */ comments; a ';' inside
// any of them does not end a statement.
//
//   absl::StatusOr<MigrationFile> file =
//       ParseMigration("migrations/core/20240101000000_create_core_schema.sql", "core",
//                      "20240101000000_create_core_schema.sql", contents);
//
// Every error is INVALID_ARGUMENT with a message "<path>:<line>: <what is wrong>".
// All functions are thread-safe (they keep no state).
#ifndef SUITE_SHARED_DB_MIGRATE_PARSER_H_
#define SUITE_SHARED_DB_MIGRATE_PARSER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace suite::db::migrate {

// One SQL statement of a section, without its terminating ';'.
struct Statement {
  std::string sql;
  int line = 0;  // 1-based line in the file of the statement's first character
};

// The parts of a migration file name.
struct MigrationName {
  int64_t version = 0;  // YYYYMMDDHHMMSS as a number
  std::string name;     // verb_description, e.g. "create_core_schema"
};

// A parsed, valid migration file.
struct MigrationFile {
  std::string owner;      // the directory: "core", "identity", ...
  int64_t version = 0;    // from the name
  std::string name;       // verb_description
  std::string file_name;  // "20240101000000_create_core_schema.sql"
  std::string path;       // for messages, e.g. "migrations/core/2024..._create_core_schema.sql"
  std::string checksum;   // sha256 hex of the whole file
  bool transactional = true;  // false with `-- +migrate NoTransaction`
  std::vector<Statement> up;
  std::vector<Statement> down;
};

// ParseFileName checks `file_name` against YYYYMMDDHHMMSS_verb_description.sql: a real UTC
// date and time of 14 digits, then a verb of lowercase letters, then one or more words of
// lowercase letters and digits, all joined by single underscores. `path` is used in messages.
absl::StatusOr<MigrationName> ParseFileName(absl::string_view path, absl::string_view file_name);

// IsValidOwner is true for an owner directory name: a lowercase letter, then lowercase
// letters, digits or underscores.
bool IsValidOwner(absl::string_view owner);

// SplitStatements splits `sql`, whose first line is line `first_line` of the file `path`,
// into statements. Returns INVALID_ARGUMENT for an unterminated string, identifier,
// dollar-quoted body or block comment (naming the line where it starts).
absl::StatusOr<std::vector<Statement>> SplitStatements(absl::string_view path,
                                                       absl::string_view sql, int first_line = 1);

// ParseMigration validates the name and the content of one file; `path` is used in messages.
absl::StatusOr<MigrationFile> ParseMigration(absl::string_view path, absl::string_view owner,
                                             absl::string_view file_name,
                                             absl::string_view contents);

}  // namespace suite::db::migrate

#endif  // SUITE_SHARED_DB_MIGRATE_PARSER_H_
