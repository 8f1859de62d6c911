// Compares an owner's declared schema (schema_spec.h) with a live PostgreSQL database and
// reports every difference, so that migrations and the code that expects their schema
// cannot drift apart unnoticed.
//
// The migrator's `verify` runs it for every owner, and a service's storage test can run it
// against its freshly migrated database:
//
//   absl::StatusOr<std::vector<SchemaDifference>> diffs =
//       suite::db::schema::CheckSchema(database_url, suite::migrations::CoreSchema());
//   if (!diffs.ok()) return diffs.status();            // the database could not be read
//   if (!diffs->empty()) {
//     std::cerr << FormatDifferences(*diffs);          // one "object: message" per line
//   }
//
// What is compared, reading pg_catalog, for each declared table (and the owner's schema):
//   object                                   message
//   identity.users                           "table missing" | "unexpected table"
//   identity.users.email                     "column missing" | "unexpected column"
//                                            "expected type text, found character varying(64)"
//                                            "expected NOT NULL, found nullable"
//                                            "expected nullable, found NOT NULL"
//                                            "expected default now(), found no default"
//                                            "expected no default, found now()"
//                                            "expected default 'a', found 'b'::text"
//   identity.users primary key               "expected (id), found (id, email)"
//                                            "expected (id), found none"
//                                            "expected none, found (id)"
//   identity.users foreign key (account_id)  "foreign key missing" | "unexpected foreign key"
//                                            "expected ON DELETE CASCADE, found ON DELETE RESTRICT"
//                                            "expected to reference identity.accounts (id), found
//                                             identity.orgs (id)"
//   identity.users_email_key (index name,    "index missing" | "unexpected index"
//   schema-qualified)                        "expected unique, found non-unique" (and reverse)
//                                            "expected keys (lower(email)), found (email)"
//                                            "expected predicate deleted_at IS NULL, found none"
//                                            "expected no predicate, found deleted_at IS NULL"
//                                            "expected predicate a, found b"
//                                            "expected method btree, found hash"
//                                            "expected on table identity.users, found on
//                                             identity.accounts"
//   identity.users.users_status_check        "check constraint missing" | "unexpected check
//                                             constraint"
//   identity.users.users_set_updated_at      "trigger missing" | "unexpected trigger"
//                                            "expected to call core.set_updated_at, found
//                                             core.other"
//   questions.question_difficulty            "enum type missing" | "unexpected enum type"
//                                            "expected labels (easy, medium, hard), found
//                                             (easy, medium, hard, expert)"
//   pgcrypto                                 "extension not installed"
//   core.set_updated_at                      "function missing"
// Found values are quoted as PostgreSQL prints them; expected ones as declared. Details of a
// missing table (its columns, indexes, ...) are not reported separately. Order: extensions,
// functions, enum types, then each table in declaration order (columns, primary key, foreign
// keys, indexes, checks, triggers; each kind's unexpected objects after its declared ones,
// sorted by name), then the unexpected enum types and tables of the owner's schema.
// Not compared: INCLUDE columns of indexes, CHECK expressions, views, sequences, grants.
#ifndef SUITE_SHARED_DB_SCHEMA_SCHEMA_CHECK_H_
#define SUITE_SHARED_DB_SCHEMA_SCHEMA_CHECK_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/db/schema/schema_spec.h"

namespace suite::db::schema {

// One way in which the database differs from the declaration.
struct SchemaDifference {
  std::string object;   // what differs, e.g. "identity.users.email" (see the table above)
  std::string message;  // how, e.g. "expected NOT NULL, found nullable"

  // ToString returns "object: message".
  std::string ToString() const;

  friend bool operator==(const SchemaDifference& a, const SchemaDifference& b) {
    return a.object == b.object && a.message == b.message;
  }
  friend bool operator!=(const SchemaDifference& a, const SchemaDifference& b) {
    return !(a == b);
  }
};

// Prints "object: message" (so gtest and logs show differences readably).
std::ostream& operator<<(std::ostream& os, const SchemaDifference& difference);

// FormatDifferences returns one "object: message" line per difference (empty for none).
std::string FormatDifferences(const std::vector<SchemaDifference>& differences);

// CheckSchema connects to `database_url` (a libpq URL or key=value string), reads the catalog
// in one read-only snapshot and returns every difference between `expected` and the database;
// an empty vector means the database matches.
// Errors (only when the catalog cannot be read): UNAVAILABLE when the database cannot be
// reached or the connection breaks, PERMISSION_DENIED when the role may not read the catalog,
// other codes as suite::db::StatusFromException maps them (e.g. INTERNAL for a database that
// does not exist). Connecting waits as long as libpq does: put connect_timeout=N in the URL
// to bound it. Never throws.
// Thread-safe: it opens and closes its own connection.
absl::StatusOr<std::vector<SchemaDifference>> CheckSchema(absl::string_view database_url,
                                                          const OwnerSchema& expected);

}  // namespace suite::db::schema

#endif  // SUITE_SHARED_DB_SCHEMA_SCHEMA_CHECK_H_
