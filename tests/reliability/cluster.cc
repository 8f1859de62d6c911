#include "tests/reliability/cluster.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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
