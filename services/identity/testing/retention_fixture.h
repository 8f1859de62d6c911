// The fixture of the retention tests — identity's rules (storage/retention_test.cc) and the
// purge job with the other services' rules (tools/purge/purge_test.cc): a fresh migrated
// database, a pool connected as the retention job's role (suite_retention), a fixed "now" so
// every period boundary is exact, and SQL literals for planting rows at chosen times.
//
//   class MyRetentionTest : public suite::identity::testing::RetentionTest {};
//   Exec(absl::StrCat("INSERT INTO ... created_at) VALUES (", Ts(kNow - absl::Hours(1)), ")"));
//   RunPurge(*pool_, rules, options_with_now_kNow);
#ifndef SUITE_SERVICES_IDENTITY_TESTING_RETENTION_FIXTURE_H_
#define SUITE_SERVICES_IDENTITY_TESTING_RETENTION_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"

namespace suite::identity::testing {

// The retention tests' clock: a fixed instant, passed as PurgeOptions::now.
inline const absl::Time kNow = absl::FromUnixSeconds(1'900'000'000);

// Ts is the SQL timestamptz literal of `t`, exact to the microsecond.
std::string Ts(absl::Time t);

class RetentionTest : public ::testing::Test {
 protected:
  // A fresh migrated database and pool_ as suite_retention (statement timeout 5 s).
  void SetUp() override;

  // RetentionPool is another one-connection pool as suite_retention, with its own statement
  // timeout (a run that must be cancelled inside a batch).
  std::unique_ptr<suite::db::ConnectionPool> RetentionPool(absl::Duration statement_timeout);
  // Exec runs `sql` as the database owner (planting rows the service roles could not).
  void Exec(const std::string& sql);
  // Count is the single integer `sql` selects.
  int64_t Count(const std::string& sql);
  // Column is the first column of `sql`'s rows, in its order ("NULL" for a null).
  std::vector<std::string> Column(const std::string& sql);

  std::unique_ptr<suite::db::testing::TestDatabase> db_;
  std::unique_ptr<suite::db::ConnectionPool> pool_;
};

}  // namespace suite::identity::testing

#endif  // SUITE_SERVICES_IDENTITY_TESTING_RETENTION_FIXTURE_H_
