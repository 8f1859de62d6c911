// The soak (tools/soak; not part of CI): the three real service binaries on a PostgreSQL
// cluster of its own, under a steady write load on every service for a given time. Every 10 s
// it samples each process's resident memory and open descriptors and the database's
// connection count. Fails (exit 1) on any failed call, on resident memory growing more than
// 10% between the 30 s after the warm-up and the last 30 s (minimum of each window), or on
// descriptors or connections growing beyond a slack of 2 over the same span.
//
//   soak --seconds=600 --rate=20 --warmup=60
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "shared/db/testing/test_database.h"
#include "tests/reliability/cluster.h"
#include "tests/reliability/suite_processes.h"

namespace suite::reliability {
namespace {

struct Sample {
  double t;
  std::map<std::string, int64_t> rss_kb;
  std::map<std::string, int> fds;
  int connections;
};

int Flag(int argc, char** argv, const char* name, int fallback) {
  const std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    int v = 0;
    if (absl::StartsWith(argv[i], prefix) && absl::SimpleAtoi(argv[i] + prefix.size(), &v)) {
      return v;
    }
  }
  return fallback;
}

int Main(int argc, char** argv) {
  const int seconds = Flag(argc, argv, "seconds", 600);
  const int rate = Flag(argc, argv, "rate", 20);  // calls per second per service
  const int warmup = Flag(argc, argv, "warmup", 60);
  auto cluster = PgCluster::Start();
  if (!cluster.ok()) {
    std::fprintf(stderr, "soak: %s\n", cluster.status().ToString().c_str());
    return 1;
  }
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  if (!db.ok()) {
    std::fprintf(stderr, "soak: %s\n", db.status().ToString().c_str());
    return 1;
  }
  Suite suite(**cluster, **db);
  if (!suite.WaitServing()) {
    std::fprintf(stderr, "soak: services did not become SERVING\n");
    return 1;
  }
  const std::string admin = suite.AdminToken();
  if (admin.empty()) return 1;
  Load load(suite, admin, absl::Seconds(1) / rate);
  std::map<std::string, ServiceProcess*> procs = {
      {"identity", &suite.identity()}, {"billing", &suite.billing()},
      {"questions", &suite.questions()}};
  std::printf("soak: %d s at %d calls/s per service (closed loop, pause %.0f ms), warm-up %d s\n",
              seconds, rate, 1000.0 / rate, warmup);
  std::printf("%6s %-28s %-20s %5s %s\n", "t(s)", "rss kB (id/bill/q)", "fds (id/bill/q)", "conns",
              "calls (id/bill/q)");
  pqxx::connection conn((*db)->url());
  const absl::Time start = absl::Now();
  load.Start();
  std::vector<Sample> samples;
  while (absl::Now() - start < absl::Seconds(seconds)) {
    absl::SleepFor(absl::Seconds(10));
    Sample s;
    s.t = absl::ToDoubleSeconds(absl::Now() - start);
    for (auto& [name, p] : procs) {
      s.rss_kb[name] = RssKb(p->pid());
      s.fds[name] = FdCount(p->pid());
    }
    {
      pqxx::nontransaction tx(conn);
      s.connections = tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                                      (*db)->name())[0]
                          .as<int>() -
                      1;  // this one
    }
    samples.push_back(s);
    std::printf("%6.0f %8lld/%8lld/%8lld   %5d/%5d/%5d        %5d %zu/%zu/%zu\n", s.t,
                static_cast<long long>(s.rss_kb["identity"]),
                static_cast<long long>(s.rss_kb["billing"]),
                static_cast<long long>(s.rss_kb["questions"]), s.fds["identity"],
                s.fds["billing"], s.fds["questions"], s.connections,
                load.Calls("identity").size(), load.Calls("billing").size(),
                load.Calls("questions").size());
    std::fflush(stdout);
  }
  load.Stop();

  int failures = 0;
  for (const char* service : {"identity", "billing", "questions"}) {
    std::map<int, int> codes;
    size_t n = 0;
    int shown = 0;
    for (const Call& c : load.Calls(service)) {
      ++n;
      if (c.code == grpc::StatusCode::OK) continue;
      ++codes[static_cast<int>(c.code)];
      if (shown++ < 5) {
        std::printf("soak: %s: at %.1f s, %.0f ms: code %d %s\n", service,
                    absl::ToDoubleSeconds(c.start - start),
                    absl::ToDoubleMilliseconds(c.end - c.start), static_cast<int>(c.code),
                    c.message.c_str());
      }
    }
    int errors = 0;
    for (auto& [code, count] : codes) {
      errors += count;
      std::printf("soak: %s: %d calls failed with code %d\n", service, count, code);
    }
    std::printf("soak: %s: %zu calls, %d errors, %.1f calls/s\n", service, n, errors,
                n / static_cast<double>(seconds));
    failures += errors;
  }
  // Baseline: the samples of the first 30 s after the warm-up; end: the last 3 samples. Each
  // side takes its minimum per process, because one sample can land on a transient peak
  // (identity's argon2id buffers are tens of MB while a hash runs) that is not growth.
  std::vector<const Sample*> base, tail;
  for (const Sample& s : samples) {
    if (s.t >= warmup && s.t < warmup + 30) base.push_back(&s);
  }
  for (size_t i = samples.size() >= 3 ? samples.size() - 3 : 0; i < samples.size(); ++i) {
    tail.push_back(&samples[i]);
  }
  if (base.empty() || tail.empty() || tail.front()->t < base.back()->t) {
    std::printf("soak: too short to judge growth (need samples after the warm-up)\n");
  } else {
    auto min_rss = [](const std::vector<const Sample*>& v, const std::string& n) {
      int64_t m = v.front()->rss_kb.at(n);
      for (const Sample* s : v) m = std::min(m, s->rss_kb.at(n));
      return m;
    };
    auto min_fds = [](const std::vector<const Sample*>& v, const std::string& n) {
      int m = v.front()->fds.at(n);
      for (const Sample* s : v) m = std::min(m, s->fds.at(n));
      return m;
    };
    for (auto& [name, p] : procs) {
      (void)p;
      const int64_t before = min_rss(base, name), after = min_rss(tail, name);
      const double growth = 100.0 * (after - before) / before;
      const bool rss_bad = growth > 10.0;
      const int fd_before = min_fds(base, name), fd_after = min_fds(tail, name);
      const bool fd_bad = fd_after > fd_before + 2;
      std::printf("soak: %s: rss %lld -> %lld kB (%+.1f%%)%s, fds %d -> %d%s\n", name.c_str(),
                  static_cast<long long>(before), static_cast<long long>(after), growth,
                  rss_bad ? " GROWTH" : "", fd_before, fd_after, fd_bad ? " GROWTH" : "");
      failures += rss_bad + fd_bad;
    }
    int conn_before = base.front()->connections, conn_after = tail.front()->connections;
    for (const Sample* s : base) conn_before = std::min(conn_before, s->connections);
    for (const Sample* s : tail) conn_after = std::min(conn_after, s->connections);
    const bool conn_bad = conn_after > conn_before + 2;
    std::printf("soak: database connections %d -> %d%s\n", conn_before, conn_after,
                conn_bad ? " GROWTH" : "");
    failures += conn_bad;
  }
  for (auto& [name, p] : procs) {
    if (!p->Alive()) {
      std::printf("soak: %s died\n", name.c_str());
      ++failures;
    }
  }
  std::printf("soak: %s\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace suite::reliability

int main(int argc, char** argv) { return suite::reliability::Main(argc, argv); }
