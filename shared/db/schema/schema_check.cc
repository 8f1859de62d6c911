#include "shared/db/schema/schema_check.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/types/optional.h"
#include "pqxx/pqxx"
#include "shared/db/errors.h"

namespace suite::db::schema {
namespace {

// ---------------------------------------------------------------------------------------------
// Normalising SQL text. Declared and found values both pass through the same functions, so
// that spelling differences PostgreSQL does not care about (case of keywords, white space,
// redundant parentheses, a literal's cast to the column's own type) are not reported.

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// PostgreSQL quotes an identifier that is also a keyword ("position"); "position" and
// position name the same column, so a quoted lower-case identifier loses its quotes.
std::string UnquoteSimpleIdentifiers(const std::string& sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'') {  // copy string literals untouched
      const size_t end = sql.find('\'', i + 1);
      const size_t stop = end == std::string::npos ? sql.size() : end + 1;
      out.append(sql, i, stop - i);
      i = stop - 1;
      continue;
    }
    if (c == '"') {
      const size_t end = sql.find('"', i + 1);
      if (end != std::string::npos) {
        const std::string inner = sql.substr(i + 1, end - i - 1);
        const bool simple =
            !inner.empty() && !std::isdigit(static_cast<unsigned char>(inner[0])) &&
            std::all_of(inner.begin(), inner.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
            });
        out.append(simple ? inner : sql.substr(i, end - i + 1));
        i = end;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

// Lower-cases everything outside quotes, collapses white space to one blank and drops it
// where it only pads punctuation ("lower ( email )" -> "lower(email)").
std::string NormalizeSql(absl::string_view sql) {
  sql = absl::StripAsciiWhitespace(sql);
  std::string out;
  char quote = 0;
  bool pending_space = false;
  for (char c : sql) {
    if (quote != 0) {
      out.push_back(c);
      if (c == quote) quote = 0;  // a doubled quote closes and reopens: same text
      continue;
    }
    if (IsSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      pending_space = false;
      const char prev = out.empty() ? '(' : out.back();
      constexpr absl::string_view kNoSpaceAfter = "(,:[";
      constexpr absl::string_view kNoSpaceBefore = "(),:[]";
      const bool pads_punctuation = kNoSpaceAfter.find(prev) != absl::string_view::npos ||
                                    kNoSpaceBefore.find(c) != absl::string_view::npos;
      if (!pads_punctuation) out.push_back(' ');
    }
    if (c == '\'' || c == '"') quote = c;
    out.push_back(quote != 0 ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return UnquoteSimpleIdentifiers(out);
}

// Index of the quote that closes the literal opening at `open`, or npos.
size_t LiteralEnd(absl::string_view s, size_t open) {
  const char quote = s[open];
  for (size_t i = open + 1; i < s.size(); ++i) {
    if (s[i] != quote) continue;
    if (i + 1 < s.size() && s[i + 1] == quote) {
      ++i;  // doubled quote inside the literal
      continue;
    }
    return i;
  }
  return absl::string_view::npos;
}

// Index of the parenthesis closing the one at `open`, or npos.
size_t MatchingParen(absl::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      i = LiteralEnd(s, i);
      if (i == absl::string_view::npos) return i;
      continue;
    }
    if (c == '(') ++depth;
    if (c == ')' && --depth == 0) return i;
  }
  return absl::string_view::npos;
}

// "((a = 1))" -> "a = 1"; "(a) + (b)" stays.
std::string StripOuterParens(std::string s) {
  while (s.size() >= 2 && s.front() == '(' && MatchingParen(s, 0) == s.size() - 1) {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

// Maps the type names PostgreSQL accepts as aliases to what format_type() prints.
std::string NormalizeType(absl::string_view type) {
  std::string t = NormalizeSql(type);
  std::string array_suffix;
  while (absl::EndsWith(t, "[]")) {
    t.resize(t.size() - 2);
    array_suffix += "[]";
  }
  static const auto* const kAliases = new std::map<std::string, std::string>{
      {"timestamptz", "timestamp with time zone"},
      {"timestamp", "timestamp without time zone"},
      {"timetz", "time with time zone"},
      {"time", "time without time zone"},
      {"int", "integer"},
      {"int4", "integer"},
      {"int8", "bigint"},
      {"int2", "smallint"},
      {"bool", "boolean"},
      {"float8", "double precision"},
      {"float4", "real"},
      {"varchar", "character varying"},
      {"char", "character"},
      {"decimal", "numeric"},
  };
  // Split off a type modifier: "varchar(64)" -> "varchar" + "(64)".
  std::string modifier;
  if (const size_t paren = t.find('('); paren != std::string::npos && t.back() == ')') {
    modifier = t.substr(paren);
    t.resize(paren);
  }
  if (auto it = kAliases->find(t); it != kAliases->end()) t = it->second;
  return absl::StrCat(t, modifier, array_suffix);
}

// The type without its modifier: "character varying(64)" -> "character varying".
std::string WithoutModifier(const std::string& normalized_type) {
  const size_t paren = normalized_type.find('(');
  return paren == std::string::npos ? normalized_type : normalized_type.substr(0, paren);
}

bool IsNumber(absl::string_view s) {
  (void)absl::ConsumePrefix(&s, "-");
  if (s.empty()) return false;
  bool digit_seen = false;
  bool dot_seen = false;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      digit_seen = true;
    } else if (c == '.' && !dot_seen) {
      dot_seen = true;
    } else {
      return false;
    }
  }
  return digit_seen;
}

bool IsNumericType(const std::string& normalized_type) {
  const std::string base = WithoutModifier(normalized_type);
  return base == "smallint" || base == "integer" || base == "bigint" || base == "numeric" ||
         base == "real" || base == "double precision";
}

// A default in the form in which declared and found values compare: a literal's cast to the
// column's type removed ("'draft'::questions.question_status" -> "'draft'"), a quoted number
// unquoted ("'-1'" -> "-1"), CURRENT_TIMESTAMP written as now().
std::string NormalizeDefault(absl::string_view expr, const std::string& normalized_column_type) {
  std::string e = StripOuterParens(NormalizeSql(expr));
  if (e == "current_timestamp") return "now()";
  if (!e.empty() && e.front() == '\'') {
    const size_t end = LiteralEnd(e, 0);
    if (end != std::string::npos) {
      const std::string content = e.substr(1, end - 1);
      absl::string_view rest = absl::string_view(e).substr(end + 1);
      if (absl::ConsumePrefix(&rest, "::")) {
        const std::string cast = NormalizeType(rest);
        // A negative number default on a bigint column prints as '-1'::integer: the cast
        // is to the literal's own type, then PostgreSQL widens it implicitly.
        if (cast == normalized_column_type || cast == WithoutModifier(normalized_column_type) ||
            (IsNumber(content) && IsNumericType(cast))) {
          e.resize(end + 1);
        }
      }
      if (end + 1 == e.size() && IsNumber(content)) e = content;
    }
  }
  return e;
}

// An index key in canonical form: "(a + b) DESC NULLS FIRST" -> "a + b desc"; ASC and the
// default NULLS placement (LAST for ASC, FIRST for DESC) dropped.
std::string NormalizeIndexKey(absl::string_view key) {
  std::string k = NormalizeSql(key);
  absl::optional<bool> nulls_first;
  if (absl::EndsWith(k, " nulls first")) {
    nulls_first = true;
    k.resize(k.size() - std::string(" nulls first").size());
  } else if (absl::EndsWith(k, " nulls last")) {
    nulls_first = false;
    k.resize(k.size() - std::string(" nulls last").size());
  }
  bool desc = false;
  if (absl::EndsWith(k, " desc")) {
    desc = true;
    k.resize(k.size() - 5);
  } else if (absl::EndsWith(k, " asc")) {
    k.resize(k.size() - 4);
  }
  k = StripOuterParens(k);
  if (desc) absl::StrAppend(&k, " desc");
  if (nulls_first.has_value() && *nulls_first != desc) {
    absl::StrAppend(&k, *nulls_first ? " nulls first" : " nulls last");
  }
  return k;
}

std::vector<std::string> NormalizeIndexKeys(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) out.push_back(NormalizeIndexKey(key));
  return out;
}

std::string NormalizePredicate(absl::string_view predicate) {
  return StripOuterParens(NormalizeSql(predicate));
}

std::string ParenList(const std::vector<std::string>& items) {
  return absl::StrCat("(", absl::StrJoin(items, ", "), ")");
}

// Catalog queries return lists joined with this separator (it cannot occur in identifiers
// one would write, and keeps the queries to one row per object).
constexpr char kSeparator = '\x1f';

std::vector<std::string> SplitList(const pqxx::field& field) {
  if (field.is_null()) return {};
  return absl::StrSplit(field.c_str(), kSeparator, absl::SkipEmpty());
}

absl::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return absl::nullopt;
  return std::string(field.c_str());
}

// ---------------------------------------------------------------------------------------------
// What the database holds, read once per schema.

struct LiveColumn {
  std::string name;
  std::string type;
  bool not_null = false;
  absl::optional<std::string> default_expr;
};

struct LiveForeignKey {
  std::vector<std::string> columns;
  std::string referenced_table;
  std::vector<std::string> referenced_columns;
  char on_delete = 'a';
};

struct LiveTable {
  std::vector<LiveColumn> columns;  // in attnum order
  absl::optional<std::vector<std::string>> primary_key;
  std::vector<LiveForeignKey> foreign_keys;
  std::set<std::string> checks;
  std::map<std::string, std::string> triggers;  // name -> schema-qualified function
};

struct LiveIndex {
  std::string table;
  bool unique = false;
  std::string method;
  std::vector<std::string> keys;
  absl::optional<std::string> predicate;
};

struct LiveSchema {
  std::map<std::string, LiveTable> tables;
  std::map<std::string, LiveIndex> indexes;  // by index name, primary key indexes left out
  std::map<std::string, std::vector<std::string>> enums;
};

// Tables and partitioned tables; partitions belong to their parent and are left out.
constexpr char kTablesSql[] = R"sql(
SELECT c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition)sql";

constexpr char kColumnsSql[] = R"sql(
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attidentity = 'a' THEN 'GENERATED ALWAYS AS IDENTITY'
            WHEN a.attidentity = 'd' THEN 'GENERATED BY DEFAULT AS IDENTITY'
            WHEN a.attgenerated = 's'
              THEN 'GENERATED ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid, true) || ') STORED'
            ELSE pg_get_expr(d.adbin, d.adrelid, true) END
FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum)sql";

constexpr char kConstraintsSql[] = R"sql(
SELECT c.relname, con.conname, con.contype,
       (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord)
          FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
       fn.nspname || '.' || fc.relname,
       (SELECT string_agg(a.attname, chr(31) ORDER BY k.ord)
          FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum),
       con.confdeltype
FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class fc ON fc.oid = con.confrelid
  LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE n.nspname = $1 AND con.contype IN ('p', 'f', 'c')
ORDER BY c.relname, con.conname)sql";

// Each key as pg_get_indexdef prints it, with its ordering from indoption
// (bit 0: DESC, bit 1: NULLS FIRST).
constexpr char kIndexesSql[] = R"sql(
SELECT t.relname, i.relname, x.indisunique, x.indisprimary, am.amname,
       pg_get_expr(x.indpred, x.indrelid, true),
       (SELECT string_agg(
                 pg_get_indexdef(x.indexrelid, k, true) ||
                 CASE WHEN x.indoption[k - 1] & 1 = 1
                      THEN ' DESC' || CASE WHEN x.indoption[k - 1] & 2 = 2 THEN ''
                                           ELSE ' NULLS LAST' END
                      ELSE CASE WHEN x.indoption[k - 1] & 2 = 2 THEN ' NULLS FIRST'
                                ELSE '' END
                 END,
                 chr(31) ORDER BY k)
          FROM generate_series(1, x.indnkeyatts) AS k)
FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = $1 AND t.relkind IN ('r', 'p') AND NOT t.relispartition)sql";

constexpr char kTriggersSql[] = R"sql(
SELECT c.relname, t.tgname, pn.nspname || '.' || p.proname
FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_proc p ON p.oid = t.tgfoid
  JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE n.nspname = $1 AND NOT t.tgisinternal)sql";

constexpr char kEnumsSql[] = R"sql(
SELECT t.typname,
       (SELECT string_agg(e.enumlabel, chr(31) ORDER BY e.enumsortorder)
          FROM pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = $1 AND t.typtype = 'e')sql";

constexpr char kFunctionExistsSql[] = R"sql(
SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = $1 AND p.proname = $2))sql";

// Reads one schema's tables, columns, constraints, indexes, triggers and enum types.
// Throws what libpqxx throws; the caller maps it.
LiveSchema ReadSchema(pqxx::transaction_base& tx, const std::string& schema) {
  LiveSchema live;
  for (const pqxx::row& row : tx.exec_params(kTablesSql, schema)) {
    live.tables[row[0].c_str()];
  }
  for (const pqxx::row& row : tx.exec_params(kColumnsSql, schema)) {
    auto table = live.tables.find(row[0].c_str());
    if (table == live.tables.end()) continue;
    table->second.columns.push_back(LiveColumn{row[1].c_str(), row[2].c_str(),
                                               row[3].as<bool>(), OptionalText(row[4])});
  }
  for (const pqxx::row& row : tx.exec_params(kConstraintsSql, schema)) {
    auto table = live.tables.find(row[0].c_str());
    if (table == live.tables.end()) continue;
    const char type = row[2].c_str()[0];
    if (type == 'p') {
      table->second.primary_key = SplitList(row[3]);
    } else if (type == 'f') {
      table->second.foreign_keys.push_back(LiveForeignKey{
          SplitList(row[3]), row[4].c_str(), SplitList(row[5]), row[6].c_str()[0]});
    } else if (type == 'c') {
      table->second.checks.insert(row[1].c_str());
    }
  }
  for (const pqxx::row& row : tx.exec_params(kIndexesSql, schema)) {
    if (row[3].as<bool>()) continue;  // the primary key's index: compared as the primary key
    LiveIndex index;
    index.table = row[0].c_str();
    index.unique = row[2].as<bool>();
    index.method = row[4].c_str();
    index.predicate = OptionalText(row[5]);
    index.keys = SplitList(row[6]);
    live.indexes[row[1].c_str()] = std::move(index);
  }
  for (const pqxx::row& row : tx.exec_params(kTriggersSql, schema)) {
    auto table = live.tables.find(row[0].c_str());
    if (table == live.tables.end()) continue;
    table->second.triggers[row[1].c_str()] = row[2].c_str();
  }
  for (const pqxx::row& row : tx.exec_params(kEnumsSql, schema)) {
    live.enums[row[0].c_str()] = SplitList(row[1]);
  }
  return live;
}

absl::string_view OnDeleteFromCatalog(char code) {
  switch (code) {
    case 'r':
      return OnDeleteName(OnDelete::kRestrict);
    case 'c':
      return OnDeleteName(OnDelete::kCascade);
    case 'n':
      return OnDeleteName(OnDelete::kSetNull);
    case 'd':
      return OnDeleteName(OnDelete::kSetDefault);
    default:
      return OnDeleteName(OnDelete::kNoAction);
  }
}

// Splits "core.set_updated_at()" into {"core", "set_updated_at"}; unqualified names are
// looked for in public.
std::pair<std::string, std::string> SplitFunctionName(absl::string_view name) {
  name = absl::StripAsciiWhitespace(name);
  if (const size_t paren = name.find('('); paren != absl::string_view::npos) {
    name = name.substr(0, paren);
  }
  const size_t dot = name.rfind('.');
  if (dot == absl::string_view::npos) return {"public", std::string(name)};
  return {std::string(name.substr(0, dot)), std::string(name.substr(dot + 1))};
}

// ---------------------------------------------------------------------------------------------
// Comparison.

class Differences {
 public:
  void Add(std::string object, std::string message) {
    list_.push_back(SchemaDifference{std::move(object), std::move(message)});
  }
  std::vector<SchemaDifference> Take() { return std::move(list_); }

 private:
  std::vector<SchemaDifference> list_;
};

void CompareColumn(const std::string& object, const ColumnSpec& want, const LiveColumn& have,
                   Differences& out) {
  const std::string have_type = NormalizeType(have.type);
  if (NormalizeType(want.type) != have_type) {
    out.Add(object, absl::StrCat("expected type ", want.type, ", found ", have.type));
  }
  if (want.not_null != have.not_null) {
    out.Add(object, want.not_null ? "expected NOT NULL, found nullable"
                                  : "expected nullable, found NOT NULL");
  }
  if (want.default_expr.has_value() && !have.default_expr.has_value()) {
    out.Add(object, absl::StrCat("expected default ", *want.default_expr, ", found no default"));
  } else if (!want.default_expr.has_value() && have.default_expr.has_value()) {
    out.Add(object, absl::StrCat("expected no default, found ", *have.default_expr));
  } else if (want.default_expr.has_value() &&
             NormalizeDefault(*want.default_expr, have_type) !=
                 NormalizeDefault(*have.default_expr, have_type)) {
    out.Add(object, absl::StrCat("expected default ", *want.default_expr, ", found ",
                                 *have.default_expr));
  }
}

void CompareIndex(const std::string& object, const TableSpec& table, const IndexSpec& want,
                  const LiveIndex& have, Differences& out) {
  if (have.table != table.name) {
    out.Add(object, absl::StrCat("expected on table ", table.QualifiedName(), ", found on ",
                                 table.schema, ".", have.table));
  }
  if (want.unique != have.unique) {
    out.Add(object, want.unique ? "expected unique, found non-unique"
                                : "expected non-unique, found unique");
  }
  if (NormalizeSql(want.method) != have.method) {
    out.Add(object, absl::StrCat("expected method ", want.method, ", found ", have.method));
  }
  if (NormalizeIndexKeys(want.keys) != NormalizeIndexKeys(have.keys)) {
    out.Add(object, absl::StrCat("expected keys ", ParenList(want.keys), ", found ",
                                 ParenList(have.keys)));
  }
  const bool want_partial = !absl::StripAsciiWhitespace(want.where).empty();
  if (want_partial && !have.predicate.has_value()) {
    out.Add(object, absl::StrCat("expected predicate ", want.where, ", found none"));
  } else if (!want_partial && have.predicate.has_value()) {
    out.Add(object, absl::StrCat("expected no predicate, found ", *have.predicate));
  } else if (want_partial &&
             NormalizePredicate(want.where) != NormalizePredicate(*have.predicate)) {
    out.Add(object,
            absl::StrCat("expected predicate ", want.where, ", found ", *have.predicate));
  }
}

// `indexes_declared_in_schema`: every index name any table of want.schema declares, so that
// an index found on the wrong table is reported once (as misplaced), not also as unexpected.
void CompareTable(const TableSpec& want, const LiveTable& have, const LiveSchema& schema,
                  const std::set<std::string>& indexes_declared_in_schema, Differences& out) {
  const std::string table = want.QualifiedName();

  std::set<std::string> declared_columns;
  for (const ColumnSpec& column : want.columns) {
    declared_columns.insert(column.name);
    const std::string object = absl::StrCat(table, ".", column.name);
    auto found = std::find_if(have.columns.begin(), have.columns.end(),
                              [&](const LiveColumn& c) { return c.name == column.name; });
    if (found == have.columns.end()) {
      out.Add(object, "column missing");
      continue;
    }
    CompareColumn(object, column, *found, out);
  }
  std::set<std::string> extra_columns;
  for (const LiveColumn& column : have.columns) {
    if (declared_columns.count(column.name) == 0) extra_columns.insert(column.name);
  }
  for (const std::string& name : extra_columns) {
    out.Add(absl::StrCat(table, ".", name), "unexpected column");
  }

  const std::vector<std::string> want_pk = want.PrimaryKeyColumns();
  const std::string pk_object = absl::StrCat(table, " primary key");
  if (!have.primary_key.has_value()) {
    if (!want_pk.empty()) {
      out.Add(pk_object, absl::StrCat("expected ", ParenList(want_pk), ", found none"));
    }
  } else if (want_pk.empty()) {
    out.Add(pk_object, absl::StrCat("expected none, found ", ParenList(*have.primary_key)));
  } else if (want_pk != *have.primary_key) {
    out.Add(pk_object, absl::StrCat("expected ", ParenList(want_pk), ", found ",
                                    ParenList(*have.primary_key)));
  }

  std::vector<bool> fk_matched(have.foreign_keys.size(), false);
  for (const ForeignKeySpec& fk : want.foreign_keys) {
    const std::string object = absl::StrCat(table, " foreign key ", ParenList(fk.columns));
    size_t i = 0;
    while (i < have.foreign_keys.size() &&
           (fk_matched[i] || have.foreign_keys[i].columns != fk.columns)) {
      ++i;
    }
    if (i == have.foreign_keys.size()) {
      out.Add(object, "foreign key missing");
      continue;
    }
    fk_matched[i] = true;
    const LiveForeignKey& found = have.foreign_keys[i];
    if (found.referenced_table != fk.referenced_table ||
        found.referenced_columns != fk.referenced_columns) {
      out.Add(object, absl::StrCat("expected to reference ", fk.referenced_table, " ",
                                   ParenList(fk.referenced_columns), ", found ",
                                   found.referenced_table, " ",
                                   ParenList(found.referenced_columns)));
    }
    const absl::string_view found_action = OnDeleteFromCatalog(found.on_delete);
    if (OnDeleteName(fk.on_delete) != found_action) {
      out.Add(object, absl::StrCat("expected ON DELETE ", OnDeleteName(fk.on_delete),
                                   ", found ON DELETE ", found_action));
    }
  }
  std::set<std::string> extra_fks;
  for (size_t i = 0; i < have.foreign_keys.size(); ++i) {
    if (!fk_matched[i]) {
      extra_fks.insert(
          absl::StrCat(table, " foreign key ", ParenList(have.foreign_keys[i].columns)));
    }
  }
  for (const std::string& object : extra_fks) out.Add(object, "unexpected foreign key");

  for (const IndexSpec& index : want.indexes) {
    const std::string object = absl::StrCat(want.schema, ".", index.name);
    auto found = schema.indexes.find(index.name);
    if (found == schema.indexes.end()) {
      out.Add(object, "index missing");
      continue;
    }
    CompareIndex(object, want, index, found->second, out);
  }
  for (const auto& [name, index] : schema.indexes) {  // std::map: sorted by name
    if (index.table == want.name && indexes_declared_in_schema.count(name) == 0) {
      out.Add(absl::StrCat(want.schema, ".", name), "unexpected index");
    }
  }

  std::set<std::string> declared_checks(want.checks.begin(), want.checks.end());
  for (const std::string& check : want.checks) {
    if (have.checks.count(check) == 0) {
      out.Add(absl::StrCat(table, ".", check), "check constraint missing");
    }
  }
  for (const std::string& check : have.checks) {
    if (declared_checks.count(check) == 0) {
      out.Add(absl::StrCat(table, ".", check), "unexpected check constraint");
    }
  }

  std::set<std::string> declared_triggers;
  for (const TriggerSpec& trigger : want.triggers) {
    declared_triggers.insert(trigger.name);
    const std::string object = absl::StrCat(table, ".", trigger.name);
    auto found = have.triggers.find(trigger.name);
    if (found == have.triggers.end()) {
      out.Add(object, "trigger missing");
      continue;
    }
    const auto [schema_name, function] = SplitFunctionName(trigger.function);
    const std::string want_function = absl::StrCat(schema_name, ".", function);
    if (found->second != want_function) {
      out.Add(object,
              absl::StrCat("expected to call ", want_function, ", found ", found->second));
    }
  }
  for (const auto& [name, function] : have.triggers) {
    if (declared_triggers.count(name) == 0) {
      out.Add(absl::StrCat(table, ".", name), "unexpected trigger");
    }
  }
}

std::vector<SchemaDifference> Compare(pqxx::transaction_base& tx, const OwnerSchema& expected) {
  Differences out;

  std::set<std::string> installed;
  for (const pqxx::row& row : tx.exec("SELECT extname FROM pg_extension")) {
    installed.insert(row[0].c_str());
  }
  for (const std::string& extension : expected.extensions) {
    if (installed.count(extension) == 0) out.Add(extension, "extension not installed");
  }

  for (const std::string& function : expected.functions) {
    const auto [schema_name, name] = SplitFunctionName(function);
    if (!tx.exec_params1(kFunctionExistsSql, schema_name, name)[0].as<bool>()) {
      out.Add(absl::StrCat(schema_name, ".", name), "function missing");
    }
  }

  // Every schema a declaration names, read once.
  std::map<std::string, LiveSchema> schemas;
  auto schema = [&](const std::string& name) -> const LiveSchema& {
    auto it = schemas.find(name);
    if (it == schemas.end()) it = schemas.emplace(name, ReadSchema(tx, name)).first;
    return it->second;
  };

  std::set<std::string> declared_enums;
  for (const EnumSpec& want : expected.enums) {
    if (want.schema == expected.owner) declared_enums.insert(want.name);
    const LiveSchema& live = schema(want.schema);
    auto found = live.enums.find(want.name);
    if (found == live.enums.end()) {
      out.Add(want.QualifiedName(), "enum type missing");
    } else if (found->second != want.labels) {
      out.Add(want.QualifiedName(), absl::StrCat("expected labels ", ParenList(want.labels),
                                                 ", found ", ParenList(found->second)));
    }
  }

  std::map<std::string, std::set<std::string>> declared_indexes;  // schema -> index names
  for (const TableSpec& want : expected.tables) {
    for (const IndexSpec& index : want.indexes) declared_indexes[want.schema].insert(index.name);
  }
  std::set<std::string> declared_tables;
  for (const TableSpec& want : expected.tables) {
    if (want.schema == expected.owner) declared_tables.insert(want.name);
    const LiveSchema& live = schema(want.schema);
    auto found = live.tables.find(want.name);
    if (found == live.tables.end()) {
      out.Add(want.QualifiedName(), "table missing");
      continue;
    }
    CompareTable(want, found->second, live, declared_indexes[want.schema], out);
  }

  const LiveSchema& owner = schema(expected.owner);
  for (const auto& [name, labels] : owner.enums) {
    if (declared_enums.count(name) == 0) {
      out.Add(absl::StrCat(expected.owner, ".", name), "unexpected enum type");
    }
  }
  for (const auto& [name, table] : owner.tables) {
    if (declared_tables.count(name) == 0) {
      out.Add(absl::StrCat(expected.owner, ".", name), "unexpected table");
    }
  }
  return out.Take();
}

}  // namespace

std::string SchemaDifference::ToString() const { return absl::StrCat(object, ": ", message); }

std::ostream& operator<<(std::ostream& os, const SchemaDifference& difference) {
  return os << difference.ToString();
}

std::string FormatDifferences(const std::vector<SchemaDifference>& differences) {
  std::string out;
  for (const SchemaDifference& difference : differences) {
    absl::StrAppend(&out, difference.ToString(), "\n");
  }
  return out;
}

absl::StatusOr<std::vector<SchemaDifference>> CheckSchema(absl::string_view database_url,
                                                          const OwnerSchema& expected) {
  try {
    pqxx::connection conn{std::string(database_url)};
    // One snapshot for all catalog reads, so a concurrent migration cannot be half-seen.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn, "schema_check");
    // With only pg_catalog on the search path, format_type and pg_get_expr qualify every
    // name outside it ("questions.question_status"), whatever the role's search_path is.
    tx.exec0("SET LOCAL search_path = pg_catalog");
    std::vector<SchemaDifference> differences = Compare(tx, expected);
    tx.commit();
    return differences;
  } catch (const std::exception& e) {
    return suite::db::StatusFromException(e);
  }
}

}  // namespace suite::db::schema
