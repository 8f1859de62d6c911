// Connection-pool settings, read from the environment.
//
//   DATABASE_URL             libpq URL or key=value string (required)
//   DB_POOL_SIZE             connections at most (default 16)
//   DB_CHECKOUT_TIMEOUT_MS   longest wait for a free connection (default 2000)
//   DB_STATEMENT_TIMEOUT_MS  server-side statement timeout, 0 = none (default 5000)
//   DB_PREPARED_STATEMENTS   true/false (default true; false behind PgBouncer transaction mode)
//   DB_CONNECT_TIMEOUT_S     longest wait to open one connection (default 5)
//
// Example:
//   SUITE_ASSIGN_OR_RETURN(suite::db::PoolConfig config, suite::db::PoolConfig::FromEnv());
//   SUITE_ASSIGN_OR_RETURN(auto pool, suite::db::ConnectionPool::Create(config));
#ifndef SUITE_SHARED_DB_CONFIG_H_
#define SUITE_SHARED_DB_CONFIG_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::db {

struct PoolConfig {
  std::string database_url;
  // As many as the default GRPC_HANDLER_THREADS, so a handler never waits for a connection
  // while another handler's write waits on its COMMIT (measured at 16: writes +13-26%
  // over 8; reads unchanged).
  int pool_size = 16;
  absl::Duration checkout_timeout = absl::Milliseconds(2000);
  // Zero turns the server-side timeout off.
  absl::Duration statement_timeout = absl::Milliseconds(5000);
  // False runs every named statement with exec_params instead of PREPARE/EXECUTE, for
  // PgBouncer 1.18 in transaction mode, which cannot carry prepared statements.
  bool prepared_statements = true;
  // libpq treats anything below 2 s as 2 s.
  absl::Duration connect_timeout = absl::Seconds(5);

  // A function that returns a variable's value, or nullopt when it is unset.
  using Lookup = std::function<absl::optional<std::string>(absl::string_view)>;

  // FromEnv reads the variables above from the process environment. Returns INVALID_ARGUMENT
  // naming the variable when one is missing (DATABASE_URL) or malformed. Thread-safe as long
  // as nobody calls setenv concurrently.
  static absl::StatusOr<PoolConfig> FromEnv();

  // FromLookup is FromEnv with the environment replaced by `lookup`, for tests.
  static absl::StatusOr<PoolConfig> FromLookup(const Lookup& lookup);
};

}  // namespace suite::db

#endif  // SUITE_SHARED_DB_CONFIG_H_
