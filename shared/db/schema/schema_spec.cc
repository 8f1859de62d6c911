#include "shared/db/schema/schema_spec.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace suite::db::schema {

absl::string_view OnDeleteName(OnDelete action) {
  switch (action) {
    case OnDelete::kNoAction:
      return "NO ACTION";
    case OnDelete::kRestrict:
      return "RESTRICT";
    case OnDelete::kCascade:
      return "CASCADE";
    case OnDelete::kSetNull:
      return "SET NULL";
    case OnDelete::kSetDefault:
      return "SET DEFAULT";
  }
  return "NO ACTION";
}

ColumnSpec& ColumnSpec::NotNull() {
  not_null = true;
  return *this;
}

ColumnSpec& ColumnSpec::Nullable() {
  not_null = false;
  return *this;
}

ColumnSpec& ColumnSpec::Default(absl::string_view expr) {
  default_expr = std::string(expr);
  return *this;
}

ColumnSpec& ColumnSpec::NoDefault() {
  default_expr.reset();
  return *this;
}

ColumnSpec& ColumnSpec::PrimaryKey() {
  primary_key = true;
  not_null = true;  // PostgreSQL makes primary key columns NOT NULL
  return *this;
}

ColumnSpec Column(absl::string_view name, absl::string_view type) {
  ColumnSpec column;
  column.name = std::string(name);
  column.type = std::string(type);
  return column;
}

ColumnSpec Uuid(absl::string_view name) { return Column(name, "uuid"); }
ColumnSpec Text(absl::string_view name) { return Column(name, "text"); }
ColumnSpec Integer(absl::string_view name) { return Column(name, "integer"); }
ColumnSpec Bigint(absl::string_view name) { return Column(name, "bigint"); }
ColumnSpec Boolean(absl::string_view name) { return Column(name, "boolean"); }
ColumnSpec Jsonb(absl::string_view name) { return Column(name, "jsonb"); }
ColumnSpec Timestamptz(absl::string_view name) {
  return Column(name, "timestamp with time zone");
}
ColumnSpec EnumColumn(absl::string_view name, absl::string_view type) {
  return Column(name, type);
}

ColumnSpec Pk(absl::string_view name) {
  return Uuid(name).Default("gen_random_uuid()").PrimaryKey();
}
ColumnSpec CreatedAt() { return Timestamptz("created_at").NotNull().Default("now()"); }
ColumnSpec UpdatedAt() { return Timestamptz("updated_at").NotNull().Default("now()"); }
ColumnSpec DeletedAt() { return Timestamptz("deleted_at"); }
ColumnSpec RequestId() { return Uuid("request_id"); }
ColumnSpec StatusText(absl::string_view name) { return Text(name).NotNull(); }

std::string TableSpec::QualifiedName() const { return absl::StrCat(schema, ".", name); }

std::vector<std::string> TableSpec::PrimaryKeyColumns() const {
  if (primary_key.has_value()) return *primary_key;
  std::vector<std::string> columns_in_key;
  for (const ColumnSpec& column : columns) {
    if (column.primary_key) columns_in_key.push_back(column.name);
  }
  return columns_in_key;
}

TableSpec& TableSpec::Column(ColumnSpec column) {
  columns.push_back(std::move(column));
  return *this;
}

TableSpec& TableSpec::PrimaryKey(std::vector<std::string> key_columns) {
  primary_key = std::move(key_columns);
  return *this;
}

TableSpec& TableSpec::Index(absl::string_view index_name, std::vector<std::string> keys,
                            absl::string_view where) {
  IndexSpec index;
  index.name = std::string(index_name);
  index.keys = std::move(keys);
  index.where = std::string(where);
  return Index(std::move(index));
}

TableSpec& TableSpec::UniqueIndex(absl::string_view index_name, std::vector<std::string> keys,
                                  absl::string_view where) {
  IndexSpec index;
  index.name = std::string(index_name);
  index.unique = true;
  index.keys = std::move(keys);
  index.where = std::string(where);
  return Index(std::move(index));
}

TableSpec& TableSpec::Index(IndexSpec index) {
  indexes.push_back(std::move(index));
  return *this;
}

TableSpec& TableSpec::ForeignKey(std::vector<std::string> fk_columns,
                                 absl::string_view referenced_table,
                                 std::vector<std::string> referenced_columns,
                                 OnDelete on_delete) {
  ForeignKeySpec fk;
  fk.columns = std::move(fk_columns);
  fk.referenced_table = std::string(referenced_table);
  fk.referenced_columns = std::move(referenced_columns);
  fk.on_delete = on_delete;
  foreign_keys.push_back(std::move(fk));
  return *this;
}

TableSpec& TableSpec::Check(absl::string_view check_name) {
  checks.emplace_back(check_name);
  return *this;
}

TableSpec& TableSpec::Trigger(absl::string_view trigger_name, absl::string_view function) {
  triggers.push_back(TriggerSpec{std::string(trigger_name), std::string(function)});
  return *this;
}

TableSpec Table(absl::string_view schema, absl::string_view name) {
  TableSpec table;
  table.schema = std::string(schema);
  table.name = std::string(name);
  return table;
}

std::string EnumSpec::QualifiedName() const { return absl::StrCat(schema, ".", name); }

EnumSpec Enum(absl::string_view schema, absl::string_view name,
              std::vector<std::string> labels) {
  return EnumSpec{std::string(schema), std::string(name), std::move(labels)};
}

}  // namespace suite::db::schema
