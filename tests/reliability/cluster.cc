#include "tests/reliability/cluster.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "shared/rpc/testing/server_process.h"

namespace suite::reliability {
namespace {

const char kPgBin[] = "/usr/lib/postgresql/15/bin";

std::string RepoRoot() {
  const char* root = getenv("SUITE_REPO_ROOT");
  return root == nullptr ? "" : root;
}

int Run(const std::string& command) {
  // From /, which the postgres user can enter (runuser keeps the working directory).
  int rc = std::system(("cd / && " + command).c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// As root the cluster belongs to `postgres` (initdb refuses root), as tools/pg does it.
std::string AsOwner(const std::string& command) {
  return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgCluster>> PgCluster::Start() {
  const std::string root = RepoRoot();
  if (root.empty()) return absl::FailedPreconditionError("SUITE_REPO_ROOT is not set");
  char pattern[] = "/tmp/suite-reliability-pg.XXXXXX";
  if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
  chmod(pattern, 0755);
  std::unique_ptr<PgCluster> cluster(new PgCluster());
  cluster->dir_ = pattern;
  cluster->port_ = rpc::testing::FreeLoopbackPort();
  if (Run(absl::StrCat(root, "/tools/pg start ", cluster->dir_, "/data ", cluster->port_,
                       " >/dev/null")) != 0) {
    return absl::UnavailableError("tools/pg start failed");
  }
  setenv("SUITE_TEST_PG_URL", cluster->url().c_str(), 1);
  return cluster;
}

PgCluster::~PgCluster() {
  Run(absl::StrCat(RepoRoot(), "/tools/pg stop ", dir_, "/data >/dev/null 2>&1"));
  Run("rm -rf " + dir_);
}

std::string PgCluster::url() const {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/postgres");
}

absl::Status PgCluster::StopImmediate() {
  if (Run(AsOwner(absl::StrCat(kPgBin, "/pg_ctl -D ", dir_, "/data -m immediate -w stop")) +
          " >/dev/null") != 0) {
    return absl::InternalError("pg_ctl stop -m immediate failed");
  }
  return absl::OkStatus();
}

absl::Status PgCluster::Restart() {
  if (Run(absl::StrCat(RepoRoot(), "/tools/pg start ", dir_, "/data ", port_, " >/dev/null")) !=
      0) {
    return absl::UnavailableError("tools/pg start (restart) failed");
  }
  return absl::OkStatus();
}

ServiceProcess::ServiceProcess(std::string binary, std::map<std::string, std::string> env,
                               std::string log)
    : binary_(std::move(binary)), env_(std::move(env)), log_(std::move(log)) {
  Spawn();
}

ServiceProcess::~ServiceProcess() {
  if (pid_ > 0 && exit_code_ < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ServiceProcess::Spawn() {
  std::vector<std::string> env;
  for (const auto& [k, v] : env_) env.push_back(k + "=" + v);
  env.push_back("PATH=/usr/bin:/bin");
  exit_code_ = -1;
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char> path(binary_.begin(), binary_.end());
    path.push_back('\0');
    char* argv[] = {path.data(), nullptr};
    int out = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execve(path.data(), argv, envp.data());
    _exit(127);
  }
}

void ServiceProcess::Restart() {
  if (Alive()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  Spawn();
}

bool ServiceProcess::Alive() {
  if (pid_ <= 0 || exit_code_ >= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

void ServiceProcess::Signal(int sig) {
  if (Alive()) kill(pid_, sig);
}

int ServiceProcess::WaitExit(absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (absl::Now() < end) {
    if (!Alive()) return exit_code_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  Alive();
  waitpid(pid_, nullptr, 0);
  return -1;
}

int64_t RssKb(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kb = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kb)) return kb;
    }
  }
  return -1;
}

int FdCount(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int n = 0;
  while (readdir(dir) != nullptr) ++n;
  closedir(dir);
  return n - 2;  // . and ..
}

}  // namespace suite::reliability
