#include "shared/db/migrate/parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/base/sha256.h"

namespace suite::db::migrate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPath[] = "m/core/20240101120000_create_things.sql";
constexpr char kName[] = "20240101120000_create_things.sql";

std::vector<std::string> Sqls(const std::vector<Statement>& statements) {
  std::vector<std::string> out;
  for (const Statement& s : statements) out.push_back(s.sql);
  return out;
}

std::vector<int> Lines(const std::vector<Statement>& statements) {
  std::vector<int> out;
  for (const Statement& s : statements) out.push_back(s.line);
  return out;
}

TEST(SplitStatementsTest, SemicolonsInsideStringsAndIdentifiersDoNotSplit) {
  auto got = SplitStatements(kPath, "SELECT 'a;b', 'it''s;'; SELECT \"odd;name\" FROM t;");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Sqls(*got), ElementsAre("SELECT 'a;b', 'it''s;'", "SELECT \"odd;name\" FROM t"));
}

TEST(SplitStatementsTest, BackslashEscapesOnlyInEStrings) {
  // In E'...' a backslash escapes the quote; in a standard string it is a plain character.
  auto got = SplitStatements(kPath, "SELECT E'a\\';b'; SELECT 'c\\'; SELECT 3;");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Sqls(*got), ElementsAre("SELECT E'a\\';b'", "SELECT 'c\\'", "SELECT 3"));
}

TEST(SplitStatementsTest, DollarQuotedBodiesKeepTheirSemicolons) {
  const std::string sql =
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\n"
      "BEGIN\n"
      "  PERFORM 1; -- ;\n"
      "  EXECUTE $$SELECT 'x;'$$;\n"
      "  RETURN 1;\n"
      "END;\n"
      "$body$;\n"
      "DO $$ BEGIN PERFORM 2; END $$;\n";
  auto got = SplitStatements(kPath, sql);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_THAT((*got)[0].sql, HasSubstr("RETURN 1;\nEND;\n$body$"));
  EXPECT_EQ((*got)[1].sql, "DO $$ BEGIN PERFORM 2; END $$");
  EXPECT_THAT(Lines(*got), ElementsAre(1, 8));
}

TEST(SplitStatementsTest, ParametersAndIdentifiersWithDollarsAreNotQuotes) {
  auto got = SplitStatements(kPath, "PREPARE p AS SELECT $1; SELECT a$b$ FROM t; SELECT 3");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Sqls(*got),
              ElementsAre("PREPARE p AS SELECT $1", "SELECT a$b$ FROM t", "SELECT 3"));
}

TEST(SplitStatementsTest, CommentsDoNotSplitAndCommentOnlyTextIsNoStatement) {
  const std::string sql =
      "-- leading; comment\n"
      "SELECT 1 /* a; /* nested; */ still; */ + 1;\n"
      "/* only a comment; */\n"
      "-- and another;\n";
  auto got = SplitStatements(kPath, sql);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Sqls(*got), ElementsAre("SELECT 1 /* a; /* nested; */ still; */ + 1"));
  EXPECT_THAT(Lines(*got), ElementsAre(2));
}

TEST(SplitStatementsTest, LineNumbersCountFromTheGivenFirstLine) {
  const std::string sql =
      "\n"
      "SELECT 'multi\n"
      "line';\n"
      "\n"
      "  SELECT\n"
      "    2;";
  auto got = SplitStatements(kPath, sql, 10);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Lines(*got), ElementsAre(11, 14));
}

TEST(SplitStatementsTest, UnterminatedQuotesAndCommentsNameTheirLine) {
  struct Case {
    const char* sql;
    const char* message;
  };
  for (const Case& c : {
           Case{"SELECT 1;\nSELECT 'open;\n", "m/core/20240101120000_create_things.sql:2: "
                                                "unterminated string literal"},
           Case{"SELECT 1;\n\nSELECT \"open", ":3: unterminated quoted identifier"},
           Case{"SELECT 1;\nDO $x$ BEGIN END $y$;", ":2: unterminated dollar-quoted body $x$"},
           Case{"/* a /* b */\nSELECT 1;", ":1: unterminated /* comment"},
       }) {
    auto got = SplitStatements(kPath, c.sql);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.sql;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.message)) << c.sql;
  }
}

TEST(ParseFileNameTest, AcceptsVersionVerbAndDescription) {
  auto got = ParseFileName(kPath, "20240102090000_add_user_preferences2.sql");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->version, 20240102090000);
  EXPECT_EQ(got->name, "add_user_preferences2");
}

TEST(ParseFileNameTest, RejectsBadNames) {
  for (const char* name : {
           "20240101120000_create.sql",               // no description
           "20240101120000_Create_things.sql",        // verb not lowercase
           "20240101120000_2create_things.sql",       // verb not letters
           "20240101120000_create__things.sql",       // empty word
           "20240101120000_create_Things.sql",        // description not lowercase
           "20240101120000_create_things-v2.sql",     // bad character
           "2024010112000_create_things.sql",         // 13 digits
           "20241301120000_create_things.sql",        // month 13
           "20240101250000_create_things.sql",        // hour 25
           "20240101120000create_things.sql",         // no separator
           "20240101120000_create_things.SQL",        // extension
           "create_things.sql",                       // no version
       }) {
    auto got = ParseFileName(std::string("m/core/") + name, name);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(std::string("m/core/") + name + ":1: "))
        << name;
  }
}

TEST(ParseMigrationTest, ParsesSectionsWithFileLineNumbersAndChecksum) {
  const std::string contents =
      "-- Creates the things.\n"             // 1
      "\n"                                    // 2
      "-- +migrate Up\n"                      // 3
      "CREATE TABLE things (id int);\n"       // 4
      "CREATE FUNCTION f() RETURNS int\n"     // 5
      "  LANGUAGE sql AS $$ SELECT 1; $$;\n"  // 6
      "\n"                                    // 7
      "-- +migrate Down\n"                    // 8
      "DROP FUNCTION f();\n"                  // 9
      "DROP TABLE things;\n";                 // 10
  auto got = ParseMigration(kPath, "core", kName, contents);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->owner, "core");
  EXPECT_EQ(got->version, 20240101120000);
  EXPECT_EQ(got->name, "create_things");
  EXPECT_EQ(got->path, kPath);
  EXPECT_TRUE(got->transactional);
  EXPECT_EQ(got->checksum, Sha256Hex(contents));
  EXPECT_EQ(got->checksum.size(), 64u);
  EXPECT_THAT(Lines(got->up), ElementsAre(4, 5));
  EXPECT_THAT(Sqls(got->down), ElementsAre("DROP FUNCTION f()", "DROP TABLE things"));
  EXPECT_THAT(Lines(got->down), ElementsAre(9, 10));
}

TEST(ParseMigrationTest, NoTransactionMarkerKeepsLineNumbers) {
  const std::string contents =
      "-- +migrate Up\n"                                                   // 1
      "-- +migrate NoTransaction\n"                                        // 2
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);\n"        // 3
      "-- +migrate Down\n"                                                 // 4
      "DROP INDEX CONCURRENTLY IF EXISTS t_a_idx;\n";                      // 5
  auto got = ParseMigration(kPath, "core", kName, contents);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->transactional);
  EXPECT_THAT(Lines(got->up), ElementsAre(3));
  EXPECT_THAT(Lines(got->down), ElementsAre(5));
}

TEST(ParseMigrationTest, EmptyDownSectionIsAllowed) {
  auto got = ParseMigration(kPath, "core", kName, "-- +migrate Up\nSELECT 1;\n-- +migrate Down\n");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->down.empty());
}

TEST(ParseMigrationTest, RejectsMalformedFilesNamingFileAndLine) {
  struct Case {
    const char* contents;
    const char* message;
  };
  for (const Case& c : {
           Case{"SELECT 1;\n-- +migrate Down\n", ":1: text before the first"},
           Case{"-- a comment\nCREATE TABLE t ();\n-- +migrate Up\nSELECT 1;\n-- +migrate Down\n",
                ":2: text before the first"},
           Case{"-- only comments\n", ":1: no '-- +migrate Up' section"},
           Case{"-- +migrate Up\n-- nothing\n/* here; */\n-- +migrate Down\nSELECT 1;\n",
                ":1: the Up section has no statements"},
           Case{"-- +migrate Up\nSELECT 1;\n-- +migrate up\n", ":3: unknown marker '-- +migrate up'"},
           Case{"-- +migrate Up\nSELECT 1;\n-- +migrate StatementBegin\n",
                ":3: unknown marker '-- +migrate StatementBegin'"},
           Case{"-- +migrate Down\nSELECT 1;\n", ":1: '-- +migrate Down' before any"},
           Case{"-- +migrate Up\nSELECT 1;\n-- +migrate Up\n", ":3: a second '-- +migrate Up'"},
           Case{"-- +migrate Up\nSELECT 1;\n-- +migrate Down\n-- +migrate Down\n",
                ":4: a second '-- +migrate Down'"},
           Case{"-- +migrate Up\nSELECT 1;\n", ":2: no '-- +migrate Down' section"},
           Case{"-- +migrate Up\nSELECT 1;\n-- +migrate Down\nSELECT 'oops;\n",
                ":4: unterminated string literal"},
       }) {
    auto got = ParseMigration(kPath, "core", kName, c.contents);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.contents;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(std::string(kPath) + c.message))
        << c.contents;
  }
}

TEST(ParseMigrationTest, RejectsBadOwnerAndBadName) {
  const char* ok = "-- +migrate Up\nSELECT 1;\n-- +migrate Down\n";
  EXPECT_EQ(ParseMigration(kPath, "Core", kName, ok).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMigration(kPath, "core", "20240101120000_create.sql", ok).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace suite::db::migrate
