// The one way to start the whole suite outside production: identity, billing and questions
// (any number of replicas each) as the real binaries against a given PostgreSQL, each with the
// environment the suite needs (its database role, ports on 127.0.0.1, page-token secrets, the
// webhook secret, the bootstrap admin, trusted peers, TLS, the addresses of the services it
// calls), started in dependency order and waited for until SERVING. Tests use it directly;
// tools/run, tools/bench, tools/soak and the Python harness (tests/e2e/suite_harness.py) drive
// it through the suite_up binary. A single process is rpc::testing::ServerProcess
// (shared/rpc/testing/server_process.h).
//
//   SuiteOptions options;
//   options.database_url = [&](const std::string& role) { return db.UrlAs(role); };
//   options.replicas = {{"identity", 2}, {"billing", 1}, {"questions", 1}};
//   Suite suite(options);
//   ASSERT_TRUE(suite.Start().ok());              // every replica SERVING
//   suite.Restart("identity", 1);                 // SIGTERM, exit, start, SERVING
//   suite.process("billing").Signal(SIGKILL);
//
// Testonly. Not thread-safe: one owner.
#ifndef SUITE_TESTS_HARNESS_SUITE_H_
#define SUITE_TESTS_HARNESS_SUITE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shared/rpc/testing/server_process.h"

namespace suite::harness {

// The services in the order they start (a caller after what it calls: a channel that finds
// nobody backs off for a second).
const std::vector<std::string>& Services();

// TLS on every gRPC port, as production runs: one certificate and key for all the servers
// (tests/e2e/test_pki.sh makes them) and the CA that signed it, which the services calling
// each other and the harness's health checks trust. All empty: plaintext.
struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool enabled() const { return !cert_file.empty(); }
};

// Which replica of a service its callers are given.
enum class Peers {
  kSameReplica,  // replica i of billing calls identity replica i (modulo their number)
  kAllReplicas,  // every replica ("ipv4:a,b": the services balance over them)
};

struct SuiteOptions {
  // DATABASE_URL of a role ("identity_service", ...). Required.
  std::function<std::string(const std::string& role)> database_url;
  // Where services/<svc>/<svc>_server are; empty: the working directory (a test's runfiles).
  std::string binaries_dir;
  // Replicas per service; a service missing or at 0 is not started (its callers are given
  // 127.0.0.1:1, where nothing listens).
  std::map<std::string, int> replicas = {{"identity", 1}, {"billing", 1}, {"questions", 1}};
  // Each process appends to <logs_dir>/<svc>.log (replica 0) or <svc>-<i>.log.
  std::string logs_dir = "/tmp";
  // Write a "=== <time> starts <svc> <i>" line into the log before each start (a log kept
  // across runs); off for logs read as JSON lines.
  bool log_banner = false;
  // Fixed ports of replica 0 by name: "identity", "billing", "questions" (gRPC),
  // "billing_webhook", "<svc>_metrics", "<svc>_health". Every other port is a free one.
  std::map<std::string, int> ports;
  bool metrics = false;       // a Prometheus port each (<SVC>_METRICS_PORT)
  bool health_ports = false;  // a plaintext health-only port each (<SVC>_HEALTH_PORT)
  TlsFiles tls;
  Peers peers = Peers::kSameReplica;
  // identity's bootstrap admin; none when the e-mail is empty.
  std::string admin_email;
  std::string admin_password;
  std::string webhook_secret = "whsec_suite_harness";
  // Page-token secrets by service; a missing one is made at random (shared by the replicas).
  std::map<std::string, std::string> page_token_secrets;
  // identity's IDENTITY_TRUSTED_PEERS: whose client_ip / x-forwarded-for Login believes.
  std::string trusted_peers = "127.0.0.1";
  // Extra variables for every service ("{SVC}" in a name becomes IDENTITY, BILLING, ...), then
  // for one service; both override what the harness sets.
  std::map<std::string, std::string> env;
  std::map<std::string, std::map<std::string, std::string>> service_env;
  absl::Duration serving_timeout = absl::Seconds(60);
};

// The ports of one replica (0: none).
struct ReplicaPorts {
  int grpc = 0;
  int webhook = 0;  // billing only
  int metrics = 0;
  int health = 0;
};

class Suite {
 public:
  // Chooses every port; starts nothing.
  explicit Suite(SuiteOptions options);
  ~Suite();  // StopAll
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;

  // Start starts every replica of every service, each service's replicas SERVING before the
  // next service starts. The first failure is returned (with the end of that process's log).
  absl::Status Start();
  // WaitServing waits until every started replica answers SERVING (again, e.g. after an
  // outage of the database), within `timeout` in all.
  absl::Status WaitServing(absl::Duration timeout);
  // StartReplica starts (or, when running, SIGKILLs and starts again) replica `i` of
  // `service` with its environment plus `overrides`, and waits for SERVING when `wait`.
  absl::Status StartReplica(const std::string& service, int i,
                            const std::map<std::string, std::string>& overrides = {},
                            bool wait = true);
  // Restart: SIGTERM, wait for the exit (SIGKILL after `timeout`), StartReplica. Returns the
  // old process's exit code (-1: killed), or the start's error.
  absl::StatusOr<int> Restart(const std::string& service, int i,
                              const std::map<std::string, std::string>& overrides = {},
                              absl::Duration timeout = absl::Seconds(30));
  // Stop: SIGTERM and the exit code (-1: had to be SIGKILLed after `timeout`).
  int Stop(const std::string& service, int i, absl::Duration timeout = absl::Seconds(30));
  // Kill: SIGKILL and reap.
  void Kill(const std::string& service, int i);
  // StopAll: SIGTERM to every running replica at once, then each exit code by
  // "<svc>/<i>" (-1: SIGKILLed after `timeout`).
  std::map<std::string, int> StopAll(absl::Duration timeout = absl::Seconds(30));

  int replicas(const std::string& service) const;
  rpc::testing::ServerProcess& process(const std::string& service, int i = 0);
  const ReplicaPorts& ports(const std::string& service, int i = 0) const;
  std::string addr(const std::string& service, int i = 0) const;  // 127.0.0.1:<grpc port>
  // What a caller of `service` is given under options.peers ("ipv4:a,b" for several).
  std::string target(const std::string& service, int caller_replica = 0) const;
  // The environment replica `i` of `service` starts with (before overrides).
  std::map<std::string, std::string> Env(const std::string& service, int i) const;
  // How a client reaches the gRPC ports (TLS trusting options.tls.ca_file, or plaintext).
  std::shared_ptr<grpc::ChannelCredentials> credentials() const;
  // {"identity":[{"replica":0,"addr":..,"port":..,"pid":..,"log":..,"metrics_port":..}],...}
  std::string Json() const;
  // The last lines of a replica's log.
  std::string LogTail(const std::string& service, int i, int lines = 20) const;
  const SuiteOptions& options() const { return options_; }

 private:
  struct Replica {
    ReplicaPorts ports;
    std::unique_ptr<rpc::testing::ServerProcess> process;
  };
  Replica& replica(const std::string& service, int i);
  const Replica& replica(const std::string& service, int i) const;

  SuiteOptions options_;
  std::map<std::string, std::vector<Replica>> replicas_;
};

// TestOptions: what a test's suite starts from: its database, logs in the test's outputs
// directory (/tmp outside a test), the bootstrap admin and webhook secret, health probed every
// 100 ms and a 2 s connect timeout (so that a database going away shows at once), and 20 s to
// become SERVING. The test adds its own settings on top.
SuiteOptions TestOptions(std::function<std::string(const std::string& role)> database_url,
                         const std::string& admin_email, const std::string& admin_password,
                         const std::string& webhook_secret);

// The binary of a service under `binaries_dir` ("" = the working directory).
std::string ServerBinary(const std::string& binaries_dir, const std::string& service);

// `url_template` with every "{role}" replaced by `role`.
std::string UrlForRole(const std::string& url_template, const std::string& role);

// CreateDatabase makes, through `admin_url` (a superuser), the suite's owner role
// suite_owner (LOGIN CREATEROLE) and database `database` owned by it, each only when missing.
absl::Status CreateDatabase(const std::string& admin_url, const std::string& database);

// Migrate runs `migrate_binary --migrations_dir=DIR up` as `owner_url`, its output appended to
// `log_file`; INTERNAL with the end of that log when it fails.
absl::Status Migrate(const std::string& migrate_binary, const std::string& migrations_dir,
                     const std::string& owner_url, const std::string& log_file);

}  // namespace suite::harness

#endif  // SUITE_TESTS_HARNESS_SUITE_H_
