// Processes for fault tests: a throw-away PostgreSQL cluster of the test's own (started with
// tools/pg, so stopping it hurts no other test) and the real service binaries.
//
//   auto cluster = PgCluster::Start();            // needs SUITE_REPO_ROOT, tag no-sandbox
//   cluster->StopImmediate(); cluster->Restart();
//   ServiceProcess p("services/identity/identity_server", {{"DATABASE_URL", url}, ...});
//   p.Signal(SIGTERM); int code = p.WaitExit(absl::Seconds(5));
//
// Not thread-safe; one owner each.
#ifndef SUITE_TESTS_RELIABILITY_CLUSTER_H_
#define SUITE_TESTS_RELIABILITY_CLUSTER_H_

#include <sys/types.h>

#include <map>
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

class ServiceProcess {
 public:
  // Starts `binary` (a runfiles path) with exactly `env` plus PATH; output goes to `log`.
  ServiceProcess(std::string binary, std::map<std::string, std::string> env,
                 std::string log = "/dev/null");
  ~ServiceProcess();  // SIGKILL if still running

  pid_t pid() const { return pid_; }
  bool Alive();
  void Signal(int sig);
  // WaitExit returns the exit code (128+signal when killed), or -1 after `timeout` (then the
  // process is killed).
  int WaitExit(absl::Duration timeout);
  // Restart starts the same binary with the same environment again.
  void Restart();

 private:
  void Spawn();
  std::string binary_;
  std::map<std::string, std::string> env_;
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Resident memory (kB) and open descriptors of a process, from /proc; -1 when gone.
int64_t RssKb(pid_t pid);
int FdCount(pid_t pid);

}  // namespace suite::reliability

#endif  // SUITE_TESTS_RELIABILITY_CLUSTER_H_
