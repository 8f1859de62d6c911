// CheckSchema against a real PostgreSQL: a schema created with plain SQL matches its
// declaration, and each kind of drift is reported with its exact object and message.
#include "shared/db/schema/schema_check.h"

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "shared/db/schema/schema_spec.h"
#include "shared/db/testing/test_database.h"

namespace suite::db::schema {
namespace {

using ::suite::db::testing::TestDatabase;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// What a migration would have created; each test then changes one thing with plain SQL.
constexpr char kSchemaSql[] = R"sql(
CREATE EXTENSION pgcrypto;
CREATE SCHEMA core;
CREATE FUNCTION core.set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;
CREATE SCHEMA identity;
CREATE TYPE identity.account_tier AS ENUM ('free', 'pro', 'team');
CREATE TABLE identity.accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tier identity.account_tier NOT NULL DEFAULT 'free',
  seats integer NOT NULL DEFAULT 1,
  settings jsonb NOT NULL DEFAULT '{}',
  archived boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER accounts_set_updated_at BEFORE UPDATE ON identity.accounts
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE TABLE identity.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id uuid NOT NULL REFERENCES identity.accounts (id) ON DELETE CASCADE,
  email text NOT NULL,
  display_name text,
  email_verified_at timestamptz,
  status text NOT NULL DEFAULT 'active'
    CONSTRAINT users_status_check CHECK (status IN ('active', 'blocked')),
  balance bigint NOT NULL DEFAULT -1,
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,
  request_id uuid
);
CREATE UNIQUE INDEX users_email_key ON identity.users (lower(email));
CREATE INDEX users_created_at_idx ON identity.users (account_id, created_at DESC);
CREATE INDEX users_live_idx ON identity.users (account_id) WHERE deleted_at IS NULL;
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON identity.users
  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();
CREATE TABLE identity.memberships (
  user_id uuid NOT NULL REFERENCES identity.users (id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES identity.accounts (id) ON DELETE RESTRICT,
  role text NOT NULL DEFAULT 'member',
  PRIMARY KEY (user_id, account_id)
);
CREATE INDEX memberships_account_id_idx ON identity.memberships (account_id);
)sql";

// The declaration of kSchemaSql, written the way a service would write its own.
OwnerSchema Declared() {
  TableSpec accounts =
      Table("identity", "accounts")
          .Column(Pk())
          .Column(EnumColumn("tier", "identity.account_tier").NotNull().Default("'free'"))
          .Column(Column("seats", "int").NotNull().Default("1"))
          .Column(Jsonb("settings").NotNull().Default("'{}'::jsonb"))
          .Column(Boolean("archived").NotNull().Default("false"))
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .Trigger("accounts_set_updated_at");
  TableSpec users =
      Table("identity", "users")
          .Column(Pk())
          .Column(Uuid("account_id").NotNull())
          .Column(Text("email").NotNull())
          .Column(Text("display_name"))
          .Column(Timestamptz("email_verified_at"))
          .Column(StatusText().Default("'active'"))
          .Column(Bigint("balance").NotNull().Default("-1"))
          .Column(CreatedAt())
          .Column(UpdatedAt())
          .Column(DeletedAt())
          .Column(RequestId())
          .UniqueIndex("users_email_key", {"lower(email)"})
          .Index("users_created_at_idx", {"account_id", "created_at DESC"})
          .Index("users_live_idx", {"account_id"}, "deleted_at IS NULL")
          .ForeignKey({"account_id"}, "identity.accounts", {"id"}, OnDelete::kCascade)
          .Check("users_status_check")
          .Trigger("users_set_updated_at");
  TableSpec memberships =
      Table("identity", "memberships")
          .Column(Uuid("user_id").NotNull())
          .Column(Uuid("account_id").NotNull())
          .Column(Text("role").NotNull().Default("'member'"))
          .PrimaryKey({"user_id", "account_id"})
          .Index("memberships_account_id_idx", {"account_id"})
          .ForeignKey({"user_id"}, "identity.users", {"id"}, OnDelete::kCascade)
          .ForeignKey({"account_id"}, "identity.accounts", {"id"}, OnDelete::kRestrict);
  return OwnerSchema{"identity",
                     {accounts, users, memberships},
                     {Enum("identity", "account_tier", {"free", "pro", "team"})},
                     {"pgcrypto"},
                     {"core.set_updated_at"}};
}

SchemaDifference Diff(std::string object, std::string message) {
  return SchemaDifference{std::move(object), std::move(message)};
}

class SchemaCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = TestDatabase::CreateEmpty();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    Exec(kSchemaSql);
  }

  // Runs `sql` outside a transaction block, as separate statements where it has several.
  void Exec(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::nontransaction tx(conn);
    tx.exec(sql);
  }

  std::vector<SchemaDifference> Check(const OwnerSchema& declared = Declared()) {
    absl::StatusOr<std::vector<SchemaDifference>> differences =
        CheckSchema(db_->url(), declared);
    EXPECT_TRUE(differences.ok()) << differences.status();
    if (!differences.ok()) return {Diff("CheckSchema", differences.status().ToString())};
    return *differences;
  }

  std::unique_ptr<TestDatabase> db_;
};

TEST_F(SchemaCheckTest, MatchingSchemaHasNoDifferences) {
  EXPECT_THAT(Check(), IsEmpty());
}

TEST_F(SchemaCheckTest, ReportsDroppedColumn) {
  Exec("ALTER TABLE identity.users DROP COLUMN email_verified_at");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users.email_verified_at", "column missing")));
}

TEST_F(SchemaCheckTest, ReportsChangedType) {
  Exec("ALTER TABLE identity.users ALTER COLUMN display_name TYPE varchar(100)");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users.display_name",
                                        "expected type text, found character varying(100)")));
}

TEST_F(SchemaCheckTest, ReportsChangedNullabilityBothWays) {
  Exec("ALTER TABLE identity.users ALTER COLUMN email DROP NOT NULL;"
       "ALTER TABLE identity.users ALTER COLUMN display_name SET NOT NULL");
  EXPECT_THAT(Check(),
              ElementsAre(Diff("identity.users.email", "expected NOT NULL, found nullable"),
                          Diff("identity.users.display_name",
                               "expected nullable, found NOT NULL")));
}

TEST_F(SchemaCheckTest, ReportsChangedAddedAndDroppedDefaults) {
  Exec("ALTER TABLE identity.accounts ALTER COLUMN seats DROP DEFAULT;"
       "ALTER TABLE identity.users ALTER COLUMN display_name SET DEFAULT '';"
       "ALTER TABLE identity.users ALTER COLUMN status SET DEFAULT 'blocked'");
  EXPECT_THAT(
      Check(),
      ElementsAre(Diff("identity.accounts.seats", "expected default 1, found no default"),
                  Diff("identity.users.display_name", "expected no default, found ''::text"),
                  Diff("identity.users.status",
                       "expected default 'active', found 'blocked'::text")));
}

TEST_F(SchemaCheckTest, ReportsChangedEnumDefault) {
  Exec("ALTER TABLE identity.accounts ALTER COLUMN tier SET DEFAULT 'pro'");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.accounts.tier",
                                        "expected default 'free', found "
                                        "'pro'::identity.account_tier")));
}

TEST_F(SchemaCheckTest, ReportsDroppedIndex) {
  Exec("DROP INDEX identity.users_created_at_idx");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users_created_at_idx", "index missing")));
}

TEST_F(SchemaCheckTest, ReportsIndexTurnedNonUnique) {
  Exec("DROP INDEX identity.users_email_key;"
       "CREATE INDEX users_email_key ON identity.users (lower(email))");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users_email_key",
                                        "expected unique, found non-unique")));
}

TEST_F(SchemaCheckTest, ReportsChangedIndexKeysOrderAndPredicate) {
  Exec("DROP INDEX identity.users_email_key;"
       "CREATE UNIQUE INDEX users_email_key ON identity.users (email);"
       "DROP INDEX identity.users_created_at_idx;"
       "CREATE INDEX users_created_at_idx ON identity.users (account_id, created_at);"
       "DROP INDEX identity.users_live_idx;"
       "CREATE INDEX users_live_idx ON identity.users (account_id)");
  EXPECT_THAT(Check(),
              ElementsAre(Diff("identity.users_email_key",
                               "expected keys (lower(email)), found (email)"),
                          Diff("identity.users_created_at_idx",
                               "expected keys (account_id, created_at DESC), found "
                               "(account_id, created_at)"),
                          Diff("identity.users_live_idx",
                               "expected predicate deleted_at IS NULL, found none")));
}

TEST_F(SchemaCheckTest, ReportsIndexOnAnotherTableOnceAndChangedMethod) {
  Exec("DROP INDEX identity.users_live_idx;"
       "CREATE INDEX users_live_idx ON identity.accounts (id);"
       "DROP INDEX identity.memberships_account_id_idx;"
       "CREATE INDEX memberships_account_id_idx ON identity.memberships USING hash (account_id)");
  EXPECT_THAT(Check(),
              ElementsAre(Diff("identity.users_live_idx",
                               "expected on table identity.users, found on identity.accounts"),
                          Diff("identity.users_live_idx",
                               "expected keys (account_id), found (id)"),
                          Diff("identity.users_live_idx",
                               "expected predicate deleted_at IS NULL, found none"),
                          Diff("identity.memberships_account_id_idx",
                               "expected method btree, found hash")));
}

TEST_F(SchemaCheckTest, ReportsChangedOnDelete) {
  Exec("ALTER TABLE identity.users DROP CONSTRAINT users_account_id_fkey;"
       "ALTER TABLE identity.users ADD CONSTRAINT users_account_id_fkey"
       "  FOREIGN KEY (account_id) REFERENCES identity.accounts (id) ON DELETE RESTRICT");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users foreign key (account_id)",
                                        "expected ON DELETE CASCADE, found ON DELETE RESTRICT")));
}

TEST_F(SchemaCheckTest, ReportsMissingForeignKey) {
  Exec("ALTER TABLE identity.users DROP CONSTRAINT users_account_id_fkey");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users foreign key (account_id)",
                                        "foreign key missing")));
}

TEST_F(SchemaCheckTest, ReportsForeignKeyToAnotherTable) {
  Exec("ALTER TABLE identity.memberships DROP CONSTRAINT memberships_account_id_fkey;"
       "ALTER TABLE identity.memberships ADD FOREIGN KEY (account_id)"
       "  REFERENCES identity.users (id) ON DELETE RESTRICT");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.memberships foreign key (account_id)",
                                        "expected to reference identity.accounts (id), found "
                                        "identity.users (id)")));
}

TEST_F(SchemaCheckTest, ReportsAddedEnumLabel) {
  Exec("ALTER TYPE identity.account_tier ADD VALUE 'enterprise'");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.account_tier",
                                        "expected labels (free, pro, team), found "
                                        "(free, pro, team, enterprise)")));
}

TEST_F(SchemaCheckTest, ReportsReorderedEnumLabels) {
  // Swapping two names leaves the sort order, so the labels read in a different order; the
  // column default follows the renamed label, which is a real difference too.
  Exec("ALTER TYPE identity.account_tier RENAME VALUE 'free' TO 'swap';"
       "ALTER TYPE identity.account_tier RENAME VALUE 'team' TO 'free';"
       "ALTER TYPE identity.account_tier RENAME VALUE 'swap' TO 'team'");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.account_tier",
                                        "expected labels (free, pro, team), found "
                                        "(team, pro, free)"),
                                   Diff("identity.accounts.tier",
                                        "expected default 'free', found "
                                        "'team'::identity.account_tier")));
}

TEST_F(SchemaCheckTest, ReportsMissingExtension) {
  Exec("DROP EXTENSION pgcrypto");
  EXPECT_THAT(Check(), ElementsAre(Diff("pgcrypto", "extension not installed")));
}

TEST_F(SchemaCheckTest, ReportsMissingFunctionAndTheTriggersThatCalledIt) {
  Exec("DROP FUNCTION core.set_updated_at() CASCADE");
  EXPECT_THAT(Check(),
              ElementsAre(Diff("core.set_updated_at", "function missing"),
                          Diff("identity.accounts.accounts_set_updated_at", "trigger missing"),
                          Diff("identity.users.users_set_updated_at", "trigger missing")));
}

TEST_F(SchemaCheckTest, ReportsTriggerCallingAnotherFunction) {
  Exec("CREATE FUNCTION core.touch() RETURNS trigger LANGUAGE plpgsql AS"
       "  $$ BEGIN RETURN NEW; END $$;"
       "DROP TRIGGER users_set_updated_at ON identity.users;"
       "CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON identity.users"
       "  FOR EACH ROW EXECUTE FUNCTION core.touch()");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users.users_set_updated_at",
                                        "expected to call core.set_updated_at, found "
                                        "core.touch")));
}

TEST_F(SchemaCheckTest, ReportsMissingCheckAndPrimaryKey) {
  Exec("ALTER TABLE identity.users DROP CONSTRAINT users_status_check;"
       "ALTER TABLE identity.memberships DROP CONSTRAINT memberships_pkey");
  EXPECT_THAT(Check(),
              ElementsAre(Diff("identity.users.users_status_check", "check constraint missing"),
                          Diff("identity.memberships primary key",
                               "expected (user_id, account_id), found none")));
}

TEST_F(SchemaCheckTest, ReportsUnexpectedColumn) {
  Exec("ALTER TABLE identity.users ADD COLUMN nickname text");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.users.nickname", "unexpected column")));
}

TEST_F(SchemaCheckTest, ReportsUnexpectedObjectsOfEveryKind) {
  Exec("CREATE INDEX users_display_name_idx ON identity.users (display_name);"
       "ALTER TABLE identity.users ADD CONSTRAINT users_email_check CHECK (email <> '');"
       "CREATE TRIGGER users_touch BEFORE INSERT ON identity.users"
       "  FOR EACH ROW EXECUTE FUNCTION core.set_updated_at();"
       "ALTER TABLE identity.accounts ADD COLUMN owner_id uuid REFERENCES identity.users (id);"
       "CREATE TYPE identity.legacy_kind AS ENUM ('old');"
       "CREATE TABLE identity.legacy (id integer)");
  EXPECT_THAT(Check(),
              ElementsAre(Diff("identity.accounts.owner_id", "unexpected column"),
                          Diff("identity.accounts foreign key (owner_id)",
                               "unexpected foreign key"),
                          Diff("identity.users_display_name_idx", "unexpected index"),
                          Diff("identity.users.users_email_check",
                               "unexpected check constraint"),
                          Diff("identity.users.users_touch", "unexpected trigger"),
                          Diff("identity.legacy_kind", "unexpected enum type"),
                          Diff("identity.legacy", "unexpected table")));
}

TEST_F(SchemaCheckTest, ReportsMissingTable) {
  Exec("DROP TABLE identity.memberships");
  EXPECT_THAT(Check(), ElementsAre(Diff("identity.memberships", "table missing")));
}

TEST_F(SchemaCheckTest, ReportsEveryDifferenceAtOnce) {
  Exec("DROP TABLE identity.memberships;"
       "ALTER TABLE identity.users DROP COLUMN email_verified_at;"
       "ALTER TABLE identity.users ALTER COLUMN created_at DROP DEFAULT;"
       "DROP INDEX identity.users_live_idx;"
       "ALTER TABLE identity.users DROP CONSTRAINT users_account_id_fkey;"
       "ALTER TYPE identity.account_tier ADD VALUE 'enterprise'");
  const std::vector<SchemaDifference> differences = Check();
  EXPECT_THAT(differences,
              ElementsAre(Diff("identity.account_tier",
                               "expected labels (free, pro, team), found "
                               "(free, pro, team, enterprise)"),
                          Diff("identity.users.email_verified_at", "column missing"),
                          Diff("identity.users.created_at",
                               "expected default now(), found no default"),
                          Diff("identity.users foreign key (account_id)", "foreign key missing"),
                          Diff("identity.users_live_idx", "index missing"),
                          Diff("identity.memberships", "table missing")));
  EXPECT_EQ(FormatDifferences({differences.begin(), differences.begin() + 2}),
            "identity.account_tier: expected labels (free, pro, team), found "
            "(free, pro, team, enterprise)\n"
            "identity.users.email_verified_at: column missing\n");
}

TEST_F(SchemaCheckTest, DeclaredAliasesAndSpellingsMatchWhatPostgresPrints) {
  Exec("CREATE TABLE identity.spellings ("
       "  a varchar(20) NOT NULL DEFAULT 'x',"
       "  b timestamptz DEFAULT now(),"
       "  c bool NOT NULL DEFAULT true,"
       "  d int8[],"
       "  e integer NOT NULL DEFAULT (2 + 3));"
       "CREATE INDEX spellings_idx ON identity.spellings (a DESC NULLS LAST, (e + 1), b)"
       "  WHERE c AND e > 0");
  OwnerSchema declared = Declared();
  declared.tables.push_back(
      Table("identity", "spellings")
          .Column(Column("a", "VARCHAR(20)").NotNull().Default("'x'::character varying"))
          .Column(Column("b", "timestamptz").Default("CURRENT_TIMESTAMP"))
          .Column(Column("c", "bool").NotNull().Default("TRUE"))
          .Column(Column("d", "int8[]"))
          .Column(Column("e", "int").NotNull().Default("(2 + 3)"))
          .Index("spellings_idx", {"a desc nulls last", "e + 1", "b ASC NULLS LAST"},
                 "(c and e > 0)"));
  EXPECT_THAT(Check(declared), IsEmpty());
}

TEST_F(SchemaCheckTest, KeywordColumnsMatchWhetherOrNotPostgresQuotesThem) {
  // PostgreSQL prints the keyword column as "position"; a declaration need not quote it.
  Exec("CREATE TABLE identity.ordered (\"position\" integer NOT NULL, \"Mixed\" text);"
       "CREATE UNIQUE INDEX ordered_position_key ON identity.ordered (\"position\");"
       "CREATE INDEX ordered_mixed_idx ON identity.ordered (\"Mixed\")");
  OwnerSchema declared = Declared();
  declared.tables.push_back(Table("identity", "ordered")
                                .Column(Integer("position").NotNull())
                                .Column(Text("Mixed"))
                                .UniqueIndex("ordered_position_key", {"position"})
                                .Index("ordered_mixed_idx", {"mixed"}));
  // A quoted mixed-case identifier is a different name from its lower-case spelling.
  EXPECT_THAT(Check(declared),
              ElementsAre(Diff("identity.ordered_mixed_idx",
                               "expected keys (mixed), found (\"Mixed\")")));
}

TEST_F(SchemaCheckTest, UnreachableDatabaseIsUnavailable) {
  absl::StatusOr<std::vector<SchemaDifference>> differences =
      CheckSchema("postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2", Declared());
  EXPECT_EQ(differences.status().code(), absl::StatusCode::kUnavailable)
      << differences.status();
}

TEST(SchemaDifferenceTest, PrintsObjectAndMessage) {
  const SchemaDifference difference{"identity.users.email", "expected NOT NULL, found nullable"};
  EXPECT_EQ(difference.ToString(), "identity.users.email: expected NOT NULL, found nullable");
  std::ostringstream os;
  os << difference;
  EXPECT_EQ(os.str(), difference.ToString());
  EXPECT_EQ(FormatDifferences({}), "");
}

TEST(SchemaSpecTest, ConventionHelpersFollowSeed000) {
  const ColumnSpec pk = Pk();
  EXPECT_EQ(pk.name, "id");
  EXPECT_EQ(pk.type, "uuid");
  EXPECT_TRUE(pk.not_null);
  EXPECT_TRUE(pk.primary_key);
  EXPECT_EQ(pk.default_expr, "gen_random_uuid()");
  EXPECT_EQ(CreatedAt().type, "timestamp with time zone");
  EXPECT_TRUE(UpdatedAt().not_null);
  EXPECT_EQ(UpdatedAt().default_expr, "now()");
  EXPECT_FALSE(DeletedAt().not_null);
  EXPECT_EQ(RequestId().type, "uuid");
  EXPECT_FALSE(RequestId().not_null);
  EXPECT_TRUE(StatusText().not_null);
  EXPECT_EQ(StatusText().name, "status");
  EXPECT_EQ(Table("identity", "users").Column(Pk()).PrimaryKeyColumns(),
            std::vector<std::string>{"id"});
  EXPECT_EQ(OnDeleteName(OnDelete::kSetNull), "SET NULL");
}

}  // namespace
}  // namespace suite::db::schema
