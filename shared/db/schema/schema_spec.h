// What a service's tables must look like, declared in C++ (issue 2 item 3; seed 000 §4).
//
// Each owner (core, identity, billing, questions) declares its tables, enum types, required
// extensions and functions once, with the column conventions of seed 000 §4 and DESIGN.md §3
// as reusable helpers (Pk, CreatedAt, UpdatedAt, DeletedAt, RequestId, StatusText). The
// migrator's `verify` and the services' tests hand the declaration to CheckSchema
// (schema_check.h), which compares it with the live database and reports every difference.
//
//   using namespace suite::db::schema;
//   TableSpec users = Table("identity", "users")
//       .Column(Pk())                          // id uuid NOT NULL DEFAULT gen_random_uuid(), PK
//       .Column(Uuid("account_id").NotNull())
//       .Column(Text("email").NotNull())
//       .Column(Timestamptz("email_verified_at"))
//       .Column(StatusText().Default("'active'"))
//       .Column(CreatedAt()).Column(UpdatedAt()).Column(DeletedAt()).Column(RequestId())
//       .UniqueIndex("users_email_key", {"lower(email)"})
//       .Index("users_created_at_idx", {"created_at DESC"})
//       .Index("users_live_idx", {"account_id"}, /*where=*/"deleted_at IS NULL")
//       .ForeignKey({"account_id"}, "identity.accounts", {"id"}, OnDelete::kCascade)
//       .Check("users_status_check")
//       .Trigger("users_set_updated_at");     // calls core.set_updated_at by default
//   EnumSpec difficulty = Enum("questions", "question_difficulty", {"easy", "medium", "hard"});
//   OwnerSchema identity{"identity", {accounts, users}, {}, {"pgcrypto"}, {"core.set_updated_at"}};
//
// How values are written (they are compared with what PostgreSQL reports, after normalising
// case outside quotes, white space and redundant parentheses on both sides):
// - Column types as format_type() prints them: uuid, text, integer, bigint, boolean, jsonb,
//   timestamp with time zone, character varying(64), text[], and user types schema-qualified
//   (questions.question_status). Common aliases are accepted (timestamptz, int, int8, bool,
//   varchar(n)).
// - Defaults as SQL expressions: gen_random_uuid(), now(), false, 0, '{}'. A literal's cast to
//   the column's own type may be left out: Default("'draft'") matches
//   'draft'::questions.question_status on a column of that type.
// - Index keys as pg_get_indexdef() prints them, one per key: "email", "lower(email)",
//   "created_at DESC". ASC and the default NULLS placement may be written or left out.
// - Tables and functions schema-qualified: "identity.accounts", "core.set_updated_at".
//
// The builders return references so declarations chain; copy the result into a variable
// (TableSpec users = Table(...)...;) rather than binding a reference to a temporary.
// All types are plain values: thread-compatible, no database access.
#ifndef SUITE_SHARED_DB_SCHEMA_SCHEMA_SPEC_H_
#define SUITE_SHARED_DB_SCHEMA_SCHEMA_SPEC_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace suite::db::schema {

// The trigger function of migrations/core that keeps updated_at current (DESIGN.md §3).
inline constexpr absl::string_view kSetUpdatedAtFunction = "core.set_updated_at";

// What happens to referencing rows when the referenced row is deleted.
enum class OnDelete { kNoAction, kRestrict, kCascade, kSetNull, kSetDefault };

// OnDeleteName returns the SQL spelling: "NO ACTION", "RESTRICT", "CASCADE", "SET NULL",
// "SET DEFAULT".
absl::string_view OnDeleteName(OnDelete action);

// One column: name, type, nullability, default, and whether it belongs to the primary key.
struct ColumnSpec {
  std::string name;
  std::string type;  // as format_type() prints it (aliases accepted, see above)
  bool not_null = false;
  absl::optional<std::string> default_expr;  // nullopt: the column must have no default
  bool primary_key = false;  // part of the table's primary key (in declaration order)

  // NotNull marks the column NOT NULL.
  ColumnSpec& NotNull();
  // Nullable marks the column nullable (undoes NotNull, e.g. on a convention helper).
  ColumnSpec& Nullable();
  // Default sets the expected default expression; `expr` is SQL, e.g. "now()" or "'draft'".
  ColumnSpec& Default(absl::string_view expr);
  // NoDefault expects the column to have no default (undoes Default).
  ColumnSpec& NoDefault();
  // PrimaryKey makes the column (part of) the primary key and NOT NULL.
  ColumnSpec& PrimaryKey();
};

// Column types. Each returns a nullable column without default; chain NotNull()/Default().
ColumnSpec Column(absl::string_view name, absl::string_view type);  // any type
ColumnSpec Uuid(absl::string_view name);
ColumnSpec Text(absl::string_view name);
ColumnSpec Integer(absl::string_view name);
ColumnSpec Bigint(absl::string_view name);
ColumnSpec Boolean(absl::string_view name);
ColumnSpec Jsonb(absl::string_view name);
ColumnSpec Timestamptz(absl::string_view name);
// EnumColumn: a column of a user enum type, `type` schema-qualified ("questions.tag_kind").
ColumnSpec EnumColumn(absl::string_view name, absl::string_view type);

// The conventions of seed 000 §4 / DESIGN.md §3.
// Pk: `id uuid NOT NULL DEFAULT gen_random_uuid()`, the primary key.
ColumnSpec Pk(absl::string_view name = "id");
// CreatedAt / UpdatedAt: `timestamp with time zone NOT NULL DEFAULT now()`; updated_at is kept
// by a trigger calling core.set_updated_at (declare it with TableSpec::Trigger).
ColumnSpec CreatedAt();
ColumnSpec UpdatedAt();
// DeletedAt: `deleted_at timestamp with time zone`, nullable (soft delete).
ColumnSpec DeletedAt();
// RequestId: `request_id uuid`, nullable (the x-request-id of the write, on audit tables).
ColumnSpec RequestId();
// StatusText: `text NOT NULL`; its allowed values are constrained by a CHECK declared with
// TableSpec::Check (or use an EnumColumn instead).
ColumnSpec StatusText(absl::string_view name = "status");

// One index (or the index behind a UNIQUE constraint), identified by its name.
struct IndexSpec {
  std::string name;
  bool unique = false;
  std::vector<std::string> keys;  // "email", "lower(email)", "created_at DESC"
  std::string where;              // partial-index predicate; empty: not partial
  std::string method = "btree";   // access method: btree, gin, gist, hash, brin
};

// One foreign key, identified by its (ordered) referencing columns.
struct ForeignKeySpec {
  std::vector<std::string> columns;
  std::string referenced_table;  // schema-qualified: "identity.accounts"
  std::vector<std::string> referenced_columns;
  OnDelete on_delete = OnDelete::kNoAction;
};

// One (non-internal) trigger, by name, and the function it calls.
struct TriggerSpec {
  std::string name;
  std::string function;  // schema-qualified, e.g. "core.set_updated_at"
};

// One table. Anything not declared here (a column, index, foreign key, CHECK or trigger) that
// exists in the database is reported as unexpected by CheckSchema.
struct TableSpec {
  std::string schema;
  std::string name;
  std::vector<ColumnSpec> columns;
  // Set by PrimaryKey(); when unset, the primary key is the columns marked primary_key, in
  // declaration order (none marked: the table must have no primary key).
  absl::optional<std::vector<std::string>> primary_key;
  std::vector<IndexSpec> indexes;
  std::vector<ForeignKeySpec> foreign_keys;
  std::vector<std::string> checks;  // names of CHECK constraints
  std::vector<TriggerSpec> triggers;

  // QualifiedName returns "schema.name".
  std::string QualifiedName() const;
  // PrimaryKeyColumns returns the expected primary key columns (see primary_key).
  std::vector<std::string> PrimaryKeyColumns() const;

  // Column adds a column.
  TableSpec& Column(ColumnSpec column);
  // PrimaryKey declares a (composite) primary key explicitly, e.g. {"question_id", "tag_id"};
  // it overrides columns marked primary_key.
  TableSpec& PrimaryKey(std::vector<std::string> columns);
  // Index / UniqueIndex add a btree index named `name` over `keys`, partial if `where` is set.
  TableSpec& Index(absl::string_view name, std::vector<std::string> keys,
                   absl::string_view where = "");
  TableSpec& UniqueIndex(absl::string_view name, std::vector<std::string> keys,
                         absl::string_view where = "");
  // Index adds any index (e.g. another access method: IndexSpec{"t_tags_idx", false,
  // {"tags"}, "", "gin"}).
  TableSpec& Index(IndexSpec index);
  // ForeignKey adds a foreign key from `columns` to `referenced_columns` of
  // `referenced_table` (schema-qualified) with the given ON DELETE action.
  TableSpec& ForeignKey(std::vector<std::string> columns, absl::string_view referenced_table,
                        std::vector<std::string> referenced_columns, OnDelete on_delete);
  // Check expects a CHECK constraint named `name` on the table.
  TableSpec& Check(absl::string_view name);
  // Trigger expects a trigger named `name` calling `function` (by default the updated_at
  // trigger function of migrations/core).
  TableSpec& Trigger(absl::string_view name, absl::string_view function = kSetUpdatedAtFunction);
};

// Table starts the declaration of `schema`.`name`.
TableSpec Table(absl::string_view schema, absl::string_view name);

// One enum type and its labels, in order.
struct EnumSpec {
  std::string schema;
  std::string name;
  std::vector<std::string> labels;

  // QualifiedName returns "schema.name".
  std::string QualifiedName() const;
};

// Enum declares the enum type `schema`.`name` with `labels` in this order.
EnumSpec Enum(absl::string_view schema, absl::string_view name,
              std::vector<std::string> labels);

// Everything one owner's migrations must have produced: its tables and enum types (all in
// the schema named `owner`; any other table or enum type found there is unexpected), the
// extensions it needs installed and the functions it needs to exist (schema-qualified,
// e.g. "core.set_updated_at"; "()" may be appended).
struct OwnerSchema {
  std::string owner;
  std::vector<TableSpec> tables;
  std::vector<EnumSpec> enums;
  std::vector<std::string> extensions;
  std::vector<std::string> functions;
};

}  // namespace suite::db::schema

#endif  // SUITE_SHARED_DB_SCHEMA_SCHEMA_SPEC_H_
