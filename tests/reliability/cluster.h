// A throw-away PostgreSQL cluster of a fault test's own (started with tools/pg, so stopping
// it hurts no other test), and what a process uses. The services on it: tests/harness.
//
//   auto cluster = PgCluster::Start();            // needs SUITE_REPO_ROOT, tag no-sandbox
//   cluster->StopImmediate(); cluster->Restart();
//
// Not thread-safe; one owner each.
#ifndef SUITE_TESTS_RELIABILITY_CLUSTER_H_
#define SUITE_TESTS_RELIABILITY_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace suite::reliability {

class PgCluster {
 public:
  // Start runs `tools/pg start` on a new directory and a free port, then points
  // SUITE_TEST_PG_URL at it so TestDatabase creates databases there. The cluster is durable
  // (no --throwaway): with synchronous_commit off, an immediate stop loses commits that were
  // already acknowledged, which would hide what the services do.
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start();
  ~PgCluster();  // stops the cluster and removes its directory

  int port() const { return port_; }
  std::string url() const;  // superuser, database postgres
  // StopImmediate: `pg_ctl stop -m immediate` (no shutdown checkpoint, connections cut).
  absl::Status StopImmediate();
  absl::Status Restart();

 private:
  PgCluster() = default;
  std::string dir_;
  int port_ = 0;
};

// Resident memory (kB) and open descriptors of a process, from /proc; -1 when gone.
int64_t RssKb(pid_t pid);
int FdCount(pid_t pid);

}  // namespace suite::reliability

#endif  // SUITE_TESTS_RELIABILITY_CLUSTER_H_
