#include "shared/rpc/testing/server_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <grpcpp/grpcpp.h>

#include "absl/time/clock.h"

namespace suite::rpc::testing {

using grpc::health::v1::HealthCheckResponse;

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;  // the kernel picks
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

pid_t SpawnServer(const std::string& binary, const std::map<std::string, std::string>& env,
                  const std::vector<std::string>& args) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_strings = {"PATH=/usr/bin:/bin"};
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid != 0) return pid;  // the parent, or -1
  const int devnull = open("/dev/null", O_WRONLY);
  if (devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0) _exit(126);
  execve(argv[0], argv.data(), envp.data());
  _exit(127);
}

int WaitExit(pid_t pid, absl::Duration timeout) {
  for (const absl::Time end = absl::Now() + timeout; absl::Now() < end;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

HealthCheckResponse::ServingStatus WaitForHealth(const std::string& address,
                                                 const std::string& service,
                                                 HealthCheckResponse::ServingStatus want,
                                                 absl::Duration timeout) {
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  for (const absl::Time end = absl::Now() + timeout; absl::Now() < end;) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    if (stub->Check(&context, request, &response).ok()) {
      last = response.status();
      if (last == want) return last;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return last;
}

}  // namespace suite::rpc::testing
