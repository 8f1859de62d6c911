// Running a service binary from its test the way operators run it: on a free loopback port,
// configured only by the environment it is given, watched through gRPC health, stopped with
// SIGTERM and judged by its exit code.
//
//   const int port = FreeLoopbackPort();
//   pid_t pid = SpawnServer("services/billing/billing_server",
//                           {{"DATABASE_URL", url}, {"BILLING_GRPC_PORT", std::to_string(port)}});
//   EXPECT_EQ(WaitForHealth(absl::StrCat("127.0.0.1:", port), "", HealthCheckResponse::SERVING),
//             HealthCheckResponse::SERVING);
//   kill(pid, SIGTERM);
//   EXPECT_EQ(WaitExit(pid, absl::Seconds(15)), 0);
//
// ServerProcess is the same as an object that owns its process (start, signal, restart, wait):
//
//   ServerProcess server("services/billing/billing_server", env, "/tmp/billing.log");
//   ASSERT_TRUE(server.Start().ok());
//   ASSERT_TRUE(server.WaitServing(absl::StrCat("127.0.0.1:", port)).ok());
//   server.Signal(SIGTERM);
//   EXPECT_EQ(server.WaitExit(absl::Seconds(15)), 0);
//
// This file is the one place that starts a server process and waits until it serves; the
// whole suite (tests/harness) is built on it.
//
// Thread-compatible; SpawnServer forks, so call it before starting threads of your own.
#ifndef SUITE_SHARED_RPC_TESTING_SERVER_PROCESS_H_
#define SUITE_SHARED_RPC_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace suite::rpc::testing {

// FreeLoopbackPort returns a TCP port of 127.0.0.1 that the kernel just handed out and that
// nothing listens on (the usual small race with other processes remains).
int FreeLoopbackPort();

// SpawnServer starts `binary` with `args` and exactly `env` (plus PATH=/usr/bin:/bin, nothing
// inherited), its stdout sent to /dev/null; returns its pid, or -1 when fork fails.
pid_t SpawnServer(const std::string& binary, const std::map<std::string, std::string>& env,
                  const std::vector<std::string>& args = {});

// SpawnServerLogging is SpawnServer with the child's stdout and stderr both appended to
// `log_file` (created if missing), as a deployment's collector receives them; -1 also when the
// file cannot be opened.
pid_t SpawnServerLogging(const std::string& binary,
                         const std::map<std::string, std::string>& env,
                         const std::string& log_file, const std::vector<std::string>& args = {});

// One TCP socket a process listens on: the address as the kernel reports it ("127.0.0.1",
// "0.0.0.0", "::", "::ffff:127.0.0.1") and the port.
struct ListeningSocket {
  std::string host;
  int port = 0;
};

// ListeningSockets returns every TCP socket in state LISTEN that process `pid` holds open, read
// from /proc (IPv4 and IPv6). Empty when the process is gone.
std::vector<ListeningSocket> ListeningSockets(pid_t pid);

// IsLoopback: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address.
bool IsLoopback(const std::string& host);

// WaitExit waits up to `timeout` for `pid` and returns its exit code; -1 when it was ended by
// a signal or did not exit in time (it is then killed with SIGKILL and reaped).
int WaitExit(pid_t pid, absl::Duration timeout);

// WaitForHealth asks grpc.health.v1.Health/Check(`service`) at `address` until the answer is
// `want` or `timeout` passes, and returns the last status seen (UNKNOWN when none answered).
// A fresh channel per attempt: one that failed to connect would back off for seconds.
// `credentials`: how to reach the port (null: plaintext).
grpc::health::v1::HealthCheckResponse::ServingStatus WaitForHealth(
    const std::string& address, const std::string& service,
    grpc::health::v1::HealthCheckResponse::ServingStatus want,
    absl::Duration timeout = absl::Seconds(15),
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// One server process: a binary, the exact environment it runs with (plus PATH) and the file
// its stdout and stderr are appended to. Destroying it SIGKILLs a process still running.
class ServerProcess {
 public:
  ServerProcess(std::string binary, std::map<std::string, std::string> env,
                std::string log_file = "/dev/null");
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Start spawns the process (a running one is SIGKILLed first). INTERNAL when fork fails or
  // the log cannot be opened.
  absl::Status Start();
  // WaitServing waits until grpc.health.v1 (whole server) at `address` answers SERVING.
  // UNAVAILABLE naming the exit code when the process exits first, DEADLINE_EXCEEDED after
  // `timeout`.
  absl::Status WaitServing(const std::string& address, absl::Duration timeout = absl::Seconds(30),
                           std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  // Restart: SIGKILL when still running, then Start (the same binary, environment and log).
  void Restart();
  // Alive: started and not yet exited (reaps it when it has).
  bool Alive();
  void Signal(int sig);
  // WaitExit returns the exit code (128 + signal when a signal ended it), or -1 when it did not
  // exit within `timeout` (it is then SIGKILLed and reaped).
  int WaitExit(absl::Duration timeout);
  // Stop: SIGTERM, then WaitExit(timeout).
  int Stop(absl::Duration timeout);

  pid_t pid() const { return pid_; }
  // The exit code once it exited (as WaitExit), -1 while running or never started.
  int exit_code() const { return exit_code_; }
  const std::string& log_file() const { return log_file_; }
  std::map<std::string, std::string>& env() { return env_; }

 private:
  std::string binary_;
  std::map<std::string, std::string> env_;
  std::string log_file_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace suite::rpc::testing

#endif  // SUITE_SHARED_RPC_TESTING_SERVER_PROCESS_H_
