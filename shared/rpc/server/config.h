// Server settings of a service binary, read from the environment; command-line flags override.
//
// Every setting is looked up, highest precedence first, as a flag, as `<PREFIX>_<NAME>` and as
// the generic `<NAME>`, so one ConfigMap can set a default for all services and a single
// service can still differ:
//
//   flag                        variable                   meaning (default)
//   --grpc_addr=H:P             GRPC_ADDR                  listen address, host:port ("127.0.0.1:50051")
//   --grpc_port=P               GRPC_PORT                  port only, on LISTEN_HOST (0 = pick a free port)
//                               LISTEN_HOST                the IP address every port without an address
//                                                          of its own binds: GRPC_PORT, METRICS_PORT,
//                                                          HEALTH_PORT (via the gRPC address) and a
//                                                          service's own doors such as billing's
//                                                          webhooks ("127.0.0.1"; "0.0.0.0" or "::"
//                                                          = every interface, as deploy/k8s sets it)
//   --grpc_lame_duck=D          GRPC_LAME_DUCK             on SIGTERM, how long the server says NOT_SERVING
//                                                          while still serving, so health-watching
//                                                          clients move to other replicas before the
//                                                          listener closes (2s; 0 = none)
//   --grpc_drain_timeout=D      GRPC_DRAIN_TIMEOUT         drain deadline on SIGTERM, after the lame
//                                                          duck (20s)
//   --grpc_max_message_bytes=N  GRPC_MAX_MESSAGE_BYTES     largest message received or sent (4 MiB)
//   --grpc_health_interval=D    GRPC_HEALTH_INTERVAL       how often health probes run (2s)
//   --grpc_handler_threads=N    GRPC_HANDLER_THREADS       threads of the BlockingExecutor that runs the
//                                                          handlers' blocking work (16; 1..1024)
//   --grpc_max_calls_in_flight=N GRPC_MAX_CALLS_IN_FLIGHT  calls held at once before new ones are
//                                                          answered RESOURCE_EXHAUSTED (2048;
//                                                          1..1000000; calls_in_flight.h)
//                               TLS_CERT_FILE              server certificate chain, PEM (unset = plaintext)
//                               TLS_KEY_FILE               its private key, PEM (required with TLS_CERT_FILE)
//                               TLS_CLIENT_CA_FILE         CA bundle, PEM: set = mutual TLS, every client must
//                                                          present a certificate signed by it
//                               METRICS_PORT               Prometheus /metrics HTTP port (unset = no endpoint;
//                                                          0 = pick a free port)
//                               HEALTH_PORT                plaintext gRPC port serving only the health
//                                                          service, for probes that cannot speak TLS
//                                                          (unset = none; 0 = pick a free port)
//                               HEAP_TRIM_INTERVAL         how often free heap pages go back to the
//                                                          OS (10s; //shared/base:heap_trimmer)
//
// The listen-host, TLS, metrics, health-port and heap-trim settings have no flags; they are read
// as `<PREFIX>_TLS_CERT_FILE` etc. or the generic name like the others. Insecure (plaintext)
// stays the default when nothing is set, and so does loopback: a process started without
// configuration (a developer's run, a test, a benchmark) is reachable from this machine only;
// a deployment that wants other machines to connect says so with LISTEN_HOST.
// Durations are absl durations ("20s", "1500ms", "1m") or bare seconds ("20"). At one level an
// address beats a port. Flags are `--name=value` or `--name value`; arguments that do not start
// with `--grpc_` are left alone for the service's own parsing.
//
//   absl::StatusOr<suite::rpc::ServerConfig> config =
//       suite::rpc::LoadServerConfig("IDENTITY", std::vector<std::string>(argv + 1, argv + argc));
//   if (!config.ok()) { std::cerr << config.status() << "\n"; return 2; }
//   // IDENTITY_GRPC_PORT=7001 → config->listen_address == "127.0.0.1:7001"
//   // IDENTITY_LISTEN_HOST=0.0.0.0 IDENTITY_GRPC_PORT=7001 → "0.0.0.0:7001"
#ifndef SUITE_SHARED_RPC_SERVER_CONFIG_H_
#define SUITE_SHARED_RPC_SERVER_CONFIG_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace suite::rpc {

// Where the server's TLS material lives; all empty = plaintext. The files are read when the
// server starts (GrpcServer::Start), so a rotated certificate takes effect on restart.
struct ServerTlsConfig {
  std::string cert_file;       // PEM certificate chain
  std::string key_file;        // PEM private key of the leaf certificate
  std::string client_ca_file;  // PEM CA bundle; non-empty = require and verify client certs

  bool enabled() const { return !cert_file.empty(); }
  bool mutual() const { return !client_ca_file.empty(); }
};

struct ServerConfig {
  // host:port given to grpc::ServerBuilder::AddListeningPort; port 0 picks a free port.
  std::string listen_address = "127.0.0.1:50051";
  // The IP address (no brackets, e.g. "127.0.0.1", "0.0.0.0", "::") the other ports bind: the
  // metrics endpoint and a service's own listeners. Loopback unless LISTEN_HOST says otherwise.
  std::string listen_host = "127.0.0.1";
  // On SIGTERM, how long the server goes on serving every call while its health says
  // NOT_SERVING: clients that balance over several replicas and watch health (round_robin with
  // healthCheckConfig, rpc/channel.h) stop picking it and send their next calls elsewhere, so
  // closing the listener afterwards fails none of them. Zero skips it (tests that stop fast).
  absl::Duration lame_duck = absl::Seconds(2);
  // How long in-flight calls may run on after the lame duck before they are cancelled.
  absl::Duration drain_timeout = absl::Seconds(20);
  // Largest message, in bytes, the server receives or sends.
  int max_message_bytes = 4 * 1024 * 1024;
  // Threads that run the handlers' blocking work (blocking_executor.h): calls beyond this many
  // wait in its FIFO queue. Twice the default database pool (8), so calls that wait on something
  // other than the database (a downstream service, a password hash) leave the pool busy.
  int handler_threads = 16;
  // Calls the process holds at once (accepted, not yet answered) before it answers new ones
  // RESOURCE_EXHAUSTED (calls_in_flight.h). 2048 calls are 100–250 ms of work at the services'
  // measured peaks (8 000–20 000 calls/s) and about 28 MiB of call state: a longer queue would
  // only make callers wait longer, and an unbounded one grows with an overload until the
  // process runs out of memory.
  int max_calls_in_flight = 2048;
  // Period of the ServingStatusFollower's probe.
  absl::Duration health_interval = absl::Seconds(2);
  // TLS of the gRPC port; default plaintext.
  ServerTlsConfig tls;
  // Port of the Prometheus /metrics HTTP endpoint GrpcServer::Start serves on listen_host;
  // -1 = none, 0 = pick a free port.
  int metrics_port = -1;
  // Plaintext gRPC port, on the host of listen_address, that serves only grpc.health.v1 with
  // the main port's statuses: the kubelet's native gRPC probe cannot speak TLS. -1 = none,
  // 0 = pick a free port.
  int health_port = -1;
  // Period of the HeapTrimmer GrpcServer::Start runs: after a burst the process goes back to
  // its idle footprint within this long.
  absl::Duration heap_trim_interval = absl::Seconds(10);
};

// Looks up one environment variable; nullopt when it is not set.
using EnvLookup = std::function<absl::optional<std::string>(absl::string_view name)>;

// SystemEnv reads the process environment (getenv). An empty value counts as unset.
absl::optional<std::string> SystemEnv(absl::string_view name);

// JoinHostPort returns "host:port", with an IPv6 host in brackets ("[::1]:50051").
std::string JoinHostPort(absl::string_view host, int port);

// LoadServerConfig resolves every setting of the table above, starting from `defaults`.
// `service_prefix` is upper case without the trailing underscore ("BILLING"); empty means only
// the generic names. `args` are the command-line arguments without argv[0].
//
// The gRPC address is GRPC_ADDR when set; otherwise listen_host (LISTEN_HOST, else
// defaults.listen_host) with GRPC_PORT; with neither GRPC_PORT nor LISTEN_HOST it stays
// defaults.listen_address, and with LISTEN_HOST alone it is LISTEN_HOST with the port of
// defaults.listen_address.
//
// Returns INVALID_ARGUMENT naming the variable or flag when a value does not parse or is out of
// range (LISTEN_HOST that is not an IPv4 or IPv6 address, port beyond 65535, address without a
// port, negative or zero duration (negative for GRPC_LAME_DUCK), message size outside 1 KiB..1 GiB), when a `--grpc_` flag is unknown or has no value, when TLS_KEY_FILE is
// missing while TLS_CERT_FILE is set (or the other way round), or TLS_CLIENT_CA_FILE is set
// without a server certificate. Does not open the files. Thread-safe if `env` is.
absl::StatusOr<ServerConfig> LoadServerConfig(absl::string_view service_prefix,
                                              const std::vector<std::string>& args,
                                              const ServerConfig& defaults = ServerConfig(),
                                              const EnvLookup& env = SystemEnv);

}  // namespace suite::rpc

#endif  // SUITE_SHARED_RPC_SERVER_CONFIG_H_
