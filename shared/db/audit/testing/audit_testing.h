// Test fixtures shared by the services' storage audit tests: every service keeps the same
// hash-chained trail (shared/db/audit/audit_log.h) in its own schema, with the same grants, so
// the checks that its service role can never alter or remove a row, that the retention role
// may only delete, and that the verifier names an edited row, are written once here and run
// against each service's schema. What a service records (its actions) stays in its own test.
#ifndef SUITE_SHARED_DB_AUDIT_TESTING_AUDIT_TESTING_H_
#define SUITE_SHARED_DB_AUDIT_TESTING_AUDIT_TESTING_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/db/audit/audit_log.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"

namespace suite::db::audit::testing {

// A pool of `size` connections to `url`; a failure to connect fails the running test.
std::unique_ptr<suite::db::ConnectionPool> TestPool(const std::string& url, int size = 4);

// `t` as an SQL timestamptz literal exact to the microsecond (a text timestamp would be
// rounded through the session's time zone and format).
std::string SqlTimestamp(absl::Time t);

// Runs `sql` as the superuser (test setup and tampering the roles may not do).
void AsSuperuser(const suite::db::testing::TestDatabase& db, const std::string& sql);

// Verifies `schema`'s chain as the retention role (the role the verifier runs as in
// production); a failure to run it fails the running test and returns an empty report.
ChainReport VerifyAsRetention(const suite::db::testing::TestDatabase& db,
                              absl::string_view schema);

// A service's storage audit test: each test gets a migrated database of its own and a pool of
// `pool_size` connections as the service's role; the checks below run on the service's schema.
class AuditStorageTest : public ::testing::Test {
 protected:
  AuditStorageTest(absl::string_view schema, absl::string_view service_role, int pool_size);

  void SetUp() override;

  // The chain's report, verified as the retention role.
  ChainReport Verify();

  // Runs `sql` as the superuser (test setup and tampering the roles may not do).
  void AsSuperuser(const std::string& sql);

  // Recomputes, as the superuser, every row's prev_hash and hash from seq 1 to `last_seq` in
  // order, and the head's hash: after a test moved rows' times (which the hash covers), the
  // chain is again what appends would have made.
  void RehashChain(int last_seq);

  // Expects every way to alter or remove a row of the trail or its head to be refused to the
  // service role with insufficient_privilege (42501), and reading the trail to be allowed.
  // Privileges are checked before any row is touched, so one row in the trail is enough.
  void ExpectServiceRoleCannotAlterOrRemove();

  // Expects the retention role to be refused (42501) everything on the trail but deleting
  // rows: no update, insert, head change or truncate.
  void ExpectRetentionRoleCannotAlter();

  // Alters row `seq` with `alter_sql` (as the superuser) and expects the verifier to name it
  // as altered; then recomputes that row's hash to hide the edit and expects the verifier to
  // name row seq + 1, whose link no longer matches. Needs rows up to seq + 1, intact.
  void ExpectVerifierNamesAlteredThenReplacedRow(int seq, const std::string& alter_sql);

  const std::string schema_;
  const std::string service_role_;
  const int pool_size_;
  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;  // as service_role_
};

}  // namespace suite::db::audit::testing

#endif  // SUITE_SHARED_DB_AUDIT_TESTING_AUDIT_TESTING_H_
