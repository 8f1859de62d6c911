#include "shared/db/audit/testing/audit_testing.h"

#include <pqxx/pqxx>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace suite::db::audit::testing {

using suite::db::testing::SqlStateOfRunning;
using suite::db::testing::TestDatabase;

namespace {

// `sql` with every "$s" replaced by the schema name.
std::string ForSchema(absl::string_view sql, absl::string_view schema) {
  return absl::StrReplaceAll(sql, {{"$s", schema}});
}

}  // namespace

std::unique_ptr<suite::db::ConnectionPool> TestPool(const std::string& url, int size) {
  suite::db::PoolConfig config;
  config.database_url = url;
  config.pool_size = size;
  auto pool = suite::db::ConnectionPool::Create(config);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return pool.ok() ? *std::move(pool) : nullptr;
}

std::string SqlTimestamp(absl::Time t) {
  return absl::StrCat("(timestamptz 'epoch' + ", absl::ToUnixMicros(t),
                      " * interval '1 microsecond')");
}

void AsSuperuser(const TestDatabase& db, const std::string& sql) {
  pqxx::connection conn(db.url());
  pqxx::nontransaction(conn).exec0(sql);
}

ChainReport VerifyAsRetention(const TestDatabase& db, absl::string_view schema) {
  auto pool = TestPool(db.UrlAs("suite_retention"), 1);
  if (pool == nullptr) return ChainReport{};
  EXPECT_TRUE(RegisterAuditStatements(*pool, std::string(schema)).ok());
  auto report = VerifyAuditChain(*pool, std::string(schema));
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : ChainReport{};
}

AuditStorageTest::AuditStorageTest(absl::string_view schema, absl::string_view service_role,
                                   int pool_size)
    : schema_(schema), service_role_(service_role), pool_size_(pool_size) {}

void AuditStorageTest::SetUp() {
  auto db = TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  db_ = *std::move(db);
  pool_ = TestPool(db_->UrlAs(service_role_), pool_size_);
  ASSERT_NE(pool_, nullptr);
}

ChainReport AuditStorageTest::Verify() { return VerifyAsRetention(*db_, schema_); }

void AuditStorageTest::AsSuperuser(const std::string& sql) {
  ::suite::db::audit::testing::AsSuperuser(*db_, sql);
}

void AuditStorageTest::RehashChain(int last_seq) {
  for (int seq = 1; seq <= last_seq; ++seq) {
    AsSuperuser(absl::StrCat(ForSchema(
        "UPDATE $s.audit_log l SET prev_hash = coalesce((SELECT hash FROM $s.audit_log p "
        "WHERE p.seq = l.seq - 1), l.prev_hash), hash = $s.audit_hash(coalesce((SELECT hash "
        "FROM $s.audit_log p WHERE p.seq = l.seq - 1), l.prev_hash), seq, occurred_at, "
        "actor_id, action, target_type, target_id, request_id, outcome, before, after) "
        "WHERE seq = ", schema_), seq));
  }
  AsSuperuser(absl::StrCat(ForSchema("UPDATE $s.audit_chain_head SET hash = (SELECT hash "
                                         "FROM $s.audit_log WHERE seq = ",
                                         schema_),
                               last_seq, ")"));
}

void AuditStorageTest::ExpectServiceRoleCannotAlterOrRemove() {
  const std::string service = db_->UrlAs(service_role_);
  for (const char* sql : {
           "UPDATE $s.audit_log SET action = 'audit.nothing'",
           "UPDATE $s.audit_log SET hash = prev_hash",
           "UPDATE $s.audit_log SET hash = prev_hash WHERE seq = 2",
           "DELETE FROM $s.audit_log",
           "DELETE FROM $s.audit_log WHERE seq = 2",
           "TRUNCATE $s.audit_log",
           "DELETE FROM $s.audit_chain_head",
           "TRUNCATE $s.audit_chain_head",
           "INSERT INTO $s.audit_chain_head (id, seq, hash) VALUES (false, 0, '')",
           // By a non-owner: "must be owner" is insufficient_privilege too.
           "ALTER TABLE $s.audit_log DISABLE TRIGGER ALL",
           "DROP TABLE $s.audit_log",
       }) {
    const std::string statement = ForSchema(sql, schema_);
    EXPECT_EQ(SqlStateOfRunning(service, statement), "42501") << statement;
  }
  // What it needs: read the trail.
  EXPECT_EQ(SqlStateOfRunning(service, ForSchema("SELECT count(*) FROM $s.audit_log", schema_)),
            "");
}

void AuditStorageTest::ExpectRetentionRoleCannotAlter() {
  const std::string retention = db_->UrlAs("suite_retention");
  for (const char* sql : {
           "UPDATE $s.audit_log SET action = 'audit.nothing'",
           "INSERT INTO $s.audit_log SELECT * FROM $s.audit_log WHERE seq = 1",
           "UPDATE $s.audit_chain_head SET seq = 0",
           "TRUNCATE $s.audit_log",
       }) {
    const std::string statement = ForSchema(sql, schema_);
    EXPECT_EQ(SqlStateOfRunning(retention, statement), "42501") << statement;
  }
}

void AuditStorageTest::ExpectVerifierNamesAlteredThenReplacedRow(int seq,
                                                                 const std::string& alter_sql) {
  ChainReport intact = Verify();
  ASSERT_FALSE(intact.broken_seq) << intact.problem;
  // Altered content: its own hash no longer matches.
  AsSuperuser(alter_sql);
  ChainReport altered = Verify();
  ASSERT_TRUE(altered.broken_seq);
  EXPECT_EQ(*altered.broken_seq, seq);
  EXPECT_NE(altered.problem.find("altered"), std::string::npos) << altered.problem;
  // Replaced consistently (hash recomputed): the next row no longer links to it.
  AsSuperuser(absl::StrCat(ForSchema("UPDATE $s.audit_log SET hash = $s.audit_hash("
                                         "prev_hash, seq, occurred_at, actor_id, action, "
                                         "target_type, target_id, request_id, outcome, before, "
                                         "after) WHERE seq = ",
                                         schema_),
                               seq));
  ChainReport replaced = Verify();
  ASSERT_TRUE(replaced.broken_seq);
  EXPECT_EQ(*replaced.broken_seq, seq + 1);
  EXPECT_NE(replaced.problem.find("predecessor"), std::string::npos) << replaced.problem;
}

}  // namespace suite::db::audit::testing
