#include "shared/rpc/testing/server_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <grpcpp/grpcpp.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
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

namespace {

// Forks and execs; in the child, stdout (and stderr when `both`) go to `out_fd`.
pid_t Spawn(const std::string& binary, const std::map<std::string, std::string>& env,
            const std::vector<std::string>& args, int out_fd, bool both) {
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
  if (out_fd < 0 || dup2(out_fd, STDOUT_FILENO) < 0) _exit(126);
  if (both && dup2(out_fd, STDERR_FILENO) < 0) _exit(126);
  execve(argv[0], argv.data(), envp.data());
  _exit(127);
}

// The address of a /proc/net/tcp{,6} "local_address" field: hex words in host byte order.
std::string ProcNetHost(const std::string& hex) {
  unsigned char bytes[16] = {};
  const size_t n = hex.size() / 2;
  if (n != 4 && n != 16) return "";
  for (size_t word = 0; word < n / 4; ++word) {
    uint32_t value = 0;
    if (!absl::SimpleHexAtoi(hex.substr(word * 8, 8), &value)) return "";
    std::memcpy(bytes + word * 4, &value, 4);  // host order, as the kernel printed it
  }
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(n == 4 ? AF_INET : AF_INET6, bytes, text, sizeof(text));
  return text;
}

}  // namespace

pid_t SpawnServer(const std::string& binary, const std::map<std::string, std::string>& env,
                  const std::vector<std::string>& args) {
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  const pid_t pid = Spawn(binary, env, args, devnull, /*both=*/false);
  if (devnull >= 0) close(devnull);
  return pid;
}

pid_t SpawnServerLogging(const std::string& binary,
                         const std::map<std::string, std::string>& env,
                         const std::string& log_file, const std::vector<std::string>& args) {
  const int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  const pid_t pid = Spawn(binary, env, args, fd, /*both=*/true);
  close(fd);
  return pid;
}

std::vector<ListeningSocket> ListeningSockets(pid_t pid) {
  // The process's socket inodes, then the LISTEN rows of its network namespace holding them.
  std::set<std::string> inodes;
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  if (DIR* dir = opendir(fd_dir.c_str())) {
    while (dirent* entry = readdir(dir)) {
      char target[256] = {};
      const std::string link = absl::StrCat(fd_dir, "/", entry->d_name);
      const ssize_t len = readlink(link.c_str(), target, sizeof(target) - 1);
      if (len <= 0) continue;
      absl::string_view t(target, static_cast<size_t>(len));
      if (absl::ConsumePrefix(&t, "socket:[") && absl::ConsumeSuffix(&t, "]")) {
        inodes.emplace(t);
      }
    }
    closedir(dir);
  }
  std::vector<ListeningSocket> sockets;
  for (const char* table : {"tcp", "tcp6"}) {
    std::ifstream in(absl::StrCat("/proc/", pid, "/net/", table));
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode)) {
        continue;
      }
      if (state != "0A" || inodes.count(inode) == 0) continue;  // 0A: TCP_LISTEN
      const size_t colon = local.find(':');
      uint32_t port = 0;
      if (colon == std::string::npos ||
          !absl::SimpleHexAtoi(local.substr(colon + 1), &port)) {
        continue;
      }
      sockets.push_back({ProcNetHost(local.substr(0, colon)), static_cast<int>(port)});
    }
  }
  return sockets;
}

bool IsLoopback(const std::string& host) {
  return absl::StartsWith(host, "127.") || host == "::1" || absl::StartsWith(host, "::ffff:127.");
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
                                                 absl::Duration timeout,
                                                 std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  HealthCheckResponse::ServingStatus last = HealthCheckResponse::UNKNOWN;
  for (const absl::Time end = absl::Now() + timeout; absl::Now() < end;) {
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(address, credentials));
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

ServerProcess::ServerProcess(std::string binary, std::map<std::string, std::string> env,
                             std::string log_file)
    : binary_(std::move(binary)), env_(std::move(env)), log_file_(std::move(log_file)) {}

ServerProcess::~ServerProcess() {
  if (Alive()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

absl::Status ServerProcess::Start() {
  if (Alive()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  exit_code_ = -1;
  pid_ = SpawnServerLogging(binary_, env_, log_file_);
  if (pid_ <= 0) {
    return absl::InternalError(absl::StrCat("cannot start ", binary_, " (log ", log_file_, ")"));
  }
  return absl::OkStatus();
}

absl::Status ServerProcess::WaitServing(const std::string& address, absl::Duration timeout,
                                        std::shared_ptr<grpc::ChannelCredentials> credentials) {
  for (const absl::Time end = absl::Now() + timeout;;) {
    if (!Alive()) {
      return absl::UnavailableError(absl::StrCat(binary_, " exited with status ", exit_code_,
                                                 " before SERVING; see ", log_file_));
    }
    if (WaitForHealth(address, "", HealthCheckResponse::SERVING, absl::Milliseconds(500),
                      credentials) == HealthCheckResponse::SERVING) {
      return absl::OkStatus();
    }
    if (absl::Now() > end) {
      return absl::DeadlineExceededError(absl::StrCat(binary_, " not SERVING at ", address,
                                                      " within ", absl::FormatDuration(timeout),
                                                      "; see ", log_file_));
    }
  }
}

void ServerProcess::Restart() { Start().IgnoreError(); }

bool ServerProcess::Alive() {
  if (pid_ <= 0 || exit_code_ >= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

void ServerProcess::Signal(int sig) {
  if (Alive()) kill(pid_, sig);
}

int ServerProcess::WaitExit(absl::Duration timeout) {
  for (const absl::Time end = absl::Now() + timeout; absl::Now() < end;) {
    if (!Alive()) return exit_code_;
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (!Alive()) return exit_code_;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  exit_code_ = 128 + SIGKILL;
  return -1;
}

int ServerProcess::Stop(absl::Duration timeout) {
  Signal(SIGTERM);
  return WaitExit(timeout);
}

}  // namespace suite::rpc::testing
