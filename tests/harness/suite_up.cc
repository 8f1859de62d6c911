// suite_up: the whole suite (tests/harness/suite.h) from the command line, for the tools and
// tests that are not C++ (tools/run, tools/bench, tests/e2e/suite_harness.py; tools/soak runs
// the C++ soak on the library). It creates and migrates the database when asked, starts every
// replica, prints ONE JSON line once all are SERVING, then obeys line commands on stdin, each
// answered by one JSON line, until EOF, `down`, SIGTERM or SIGINT, when it stops every
// process (SIGTERM, drain) and exits 0 (1 when the start failed or a service died on its own
// under --exit_on_death).
//
//   suite_up --database_url='postgresql://{role}@127.0.0.1:5432/suite'
//            [--admin_url=postgresql://postgres@127.0.0.1:5432/postgres --create_database=suite]
//            [--migrate [--migrations_dir=DIR]] [--binaries_dir=DIR] [--logs_dir=DIR]
//            [--replicas=identity=2,...]
//            [--ports=identity=50051,billing_webhook=8082,identity_metrics=9091,...]
//            [--metrics] [--health_ports] [--tls_dir=DIR] [--peers=all]
//            [--admin_email=E --admin_password=P] [--webhook_secret=S]
//            [--page_token_secret=identity=S,...] [--trusted_peers=127.0.0.1,::1]
//            [--env=NAME=VALUE | --env=SVC:NAME=VALUE ...] [--serving_timeout_s=60]
//            [--tls_cert=F --tls_key=F --tls_ca=F] [--log_banner] [--exit_on_death] [--dry_run]
//
// Secrets need not be on the command line (which every user of the machine can read): when
// --admin_password, --webhook_secret or --page_token_secret is absent, SUITE_UP_ADMIN_PASSWORD,
// SUITE_UP_WEBHOOK_SECRET or SUITE_UP_PAGE_TOKEN_SECRET (the same form) is used when set.
// The migrator and the migrations are taken from --binaries_dir (migrations/migrate,
// migrations/) unless --migrations_dir says where the migrations are.
// --tls_dir=DIR is --tls_cert=DIR/tls.crt --tls_key=DIR/tls.key --tls_ca=DIR/ca.crt.
// --dry_run prints {"event":"plan","services":...,"env":{"identity":[{NAME:VALUE}],...}} (the
// ports chosen and each replica's environment) and exits without starting anything, for a
// harness that runs the services some other way (tests/deploy's containers).
// The first line: {"event":"up","services":{"identity":[{"replica":0,"addr":"127.0.0.1:P",
// "port":P,"pid":N,"log":"...","metrics_port":M}],...}}, or {"event":"failed","error":"..."}.
// Commands (words separated by spaces, or a JSON array of strings for values with spaces):
//   start SVC I [NAME=VALUE...]    start (again) with these variables on top, wait for SERVING
//   restart SVC I [NAME=VALUE...]  SIGTERM, exit, start, SERVING
//   stop SVC I [SECONDS]           SIGTERM and the exit code (null: killed after SECONDS, 30)
//   kill SVC I                     SIGKILL
//   signal SVC I SIGNUM            send a signal, do not wait
//   wait SVC I SECONDS             the exit code once it exits ("exited":false after SECONDS)
//   poll SVC I                     running or its exit code
//   status                         every replica as in the first line
//   down                           stop everything and exit
// Answers: {"ok":true,"command":...,"service":...,"replica":I,"pid":N,"exit_code":C} or
// {"ok":false,"command":...,"error":"..."}. A service that exits on its own prints
// {"event":"exited","service":...,"replica":I,"exit_code":C} (then, with --exit_on_death,
// everything stops and suite_up exits 1).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/harness/suite.h"

namespace suite::harness {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void Emit(const nlohmann::json& j) {
  std::cout << j.dump() << std::endl;  // flushed: the reader waits for whole lines
}

void Say(const std::string& text) { std::cerr << "suite_up: " << text << std::endl; }

int Usage(const std::string& why) {
  Say(why);
  Say("see the comment at the top of tests/harness/suite_up.cc for the flags");
  return 2;
}

// "a=1,b=2" -> {{"a","1"},{"b","2"}}
bool ParsePairs(absl::string_view text, std::map<std::string, std::string>* out) {
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (kv.first.empty() || !absl::StrContains(item, '=')) return false;
    (*out)[kv.first] = kv.second;
  }
  return true;
}

bool ParseInts(absl::string_view text, std::map<std::string, int>* out) {
  std::map<std::string, std::string> pairs;
  if (!ParsePairs(text, &pairs)) return false;
  for (const auto& [k, v] : pairs) {
    int n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < 0) return false;
    (*out)[k] = n;
  }
  return true;
}

nlohmann::json Code(int code) { return code < 0 ? nlohmann::json(nullptr) : nlohmann::json(code); }

class Controller {
 public:
  Controller(Suite& suite, bool exit_on_death) : suite_(suite), exit_on_death_(exit_on_death) {}

  // Returns false when suite_up should stop (down, or a death under --exit_on_death).
  bool Handle(const std::vector<std::string>& words) {
    nlohmann::json reply = {{"command", words.empty() ? "" : words[0]}};
    if (words.empty()) return true;
    const std::string& cmd = words[0];
    if (cmd == "down") return false;
    if (cmd == "status") {
      reply["ok"] = true;
      reply["services"] = nlohmann::json::parse(suite_.Json());
      Emit(reply);
      return true;
    }
    std::string svc;
    int i = -1;
    if (words.size() < 3 || !absl::SimpleAtoi(words[2], &i) || i < 0 ||
        i >= suite_.replicas(words[1])) {
      reply["ok"] = false;
      reply["error"] = "want: " + cmd + " SERVICE REPLICA ... (a configured replica)";
      Emit(reply);
      return true;
    }
    svc = words[1];
    reply["service"] = svc;
    reply["replica"] = i;
    rpc::testing::ServerProcess& proc = suite_.process(svc, i);
    std::map<std::string, std::string> overrides;
    for (size_t w = 3; w < words.size() && (cmd == "start" || cmd == "restart"); ++w) {
      std::pair<std::string, std::string> kv = absl::StrSplit(words[w], absl::MaxSplits('=', 1));
      overrides[kv.first] = kv.second;
    }
    double seconds = 30;
    if (words.size() > 3 && (cmd == "stop" || cmd == "wait") &&
        !absl::SimpleAtod(words[3], &seconds)) {
      seconds = -1;
    }
    absl::Status status;
    if (cmd == "start") {
      status = suite_.StartReplica(svc, i, overrides);
    } else if (cmd == "restart") {
      absl::StatusOr<int> old = suite_.Restart(svc, i, overrides);
      status = old.status();
      if (old.ok()) reply["old_exit_code"] = Code(*old);
    } else if (cmd == "stop") {
      reply["exit_code"] = Code(suite_.Stop(svc, i, absl::Seconds(seconds)));
    } else if (cmd == "kill") {
      suite_.Kill(svc, i);
    } else if (cmd == "signal") {
      int sig = 0;
      if (words.size() < 4 || !absl::SimpleAtoi(words[3], &sig)) {
        status = absl::InvalidArgumentError("want: signal SERVICE REPLICA SIGNUM");
      } else {
        proc.Signal(sig);
      }
    } else if (cmd == "wait") {
      const absl::Time end = absl::Now() + absl::Seconds(seconds);
      while (proc.Alive() && absl::Now() < end) absl::SleepFor(absl::Milliseconds(10));
    } else if (cmd != "poll") {
      status = absl::InvalidArgumentError("unknown command " + cmd);
    }
    reply["ok"] = status.ok();
    if (!status.ok()) reply["error"] = std::string(status.message());
    reply["pid"] = proc.pid();
    const bool alive = proc.Alive();
    reply["exited"] = !alive;
    if (!alive && !reply.contains("exit_code")) reply["exit_code"] = Code(proc.exit_code());
    // What a command ended or started is not a death of its own.
    expected_[{svc, i}] = alive && cmd != "signal" ? -1 : proc.pid();
    Emit(reply);
    return true;
  }

  // Reports each replica that exited without a command; false when suite_up should stop.
  bool Watch() {
    for (const std::string& svc : Services()) {
      for (int i = 0; i < suite_.replicas(svc); ++i) {
        rpc::testing::ServerProcess& proc = suite_.process(svc, i);
        if (proc.pid() <= 0 || proc.Alive() || expected_[{svc, i}] == proc.pid()) continue;
        expected_[{svc, i}] = proc.pid();
        Emit({{"event", "exited"}, {"service", svc}, {"replica", i},
              {"exit_code", Code(proc.exit_code())}});
        Say(absl::StrCat(svc, " ", i, " exited on its own (status ", proc.exit_code(),
                         "); the end of ", proc.log_file(), ":\n", suite_.LogTail(svc, i)));
        if (exit_on_death_) {
          died_ = true;
          return false;
        }
      }
    }
    return true;
  }

  bool died() const { return died_; }

 private:
  Suite& suite_;
  bool exit_on_death_;
  bool died_ = false;
  // The pid whose exit a command caused (not reported as a death).
  std::map<std::pair<std::string, int>, pid_t> expected_;
};

std::vector<std::string> Words(const std::string& line) {
  const absl::string_view text = absl::StripAsciiWhitespace(line);
  if (absl::StartsWith(text, "[")) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    std::vector<std::string> words;
    if (j.is_array()) {
      for (const auto& w : j) {
        if (w.is_string()) words.push_back(w.get<std::string>());
      }
    }
    return words;
  }
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

int Main(int argc, char** argv) {
  SuiteOptions options;
  std::string url_template, admin_url, create_database, tls_dir, migrations_dir;
  std::string tls_cert, tls_key, tls_ca;
  bool migrate = false, exit_on_death = false, dry_run = false;
  options.logs_dir = ".";
  for (int a = 1; a < argc; ++a) {
    absl::string_view arg = argv[a];
    std::pair<std::string, std::string> kv = absl::StrSplit(arg, absl::MaxSplits('=', 1));
    const std::string& name = kv.first;
    const std::string& value = kv.second;
    bool ok = true;
    if (name == "--database_url") {
      url_template = value;
    } else if (name == "--admin_url") {
      admin_url = value;
    } else if (name == "--create_database") {
      create_database = value;
    } else if (name == "--migrate") {
      migrate = true;
    } else if (name == "--migrations_dir") {
      migrations_dir = value;
    } else if (name == "--binaries_dir") {
      options.binaries_dir = value;
    } else if (name == "--logs_dir") {
      options.logs_dir = value;
    } else if (name == "--replicas") {
      ok = ParseInts(value, &options.replicas);
    } else if (name == "--ports") {
      ok = ParseInts(value, &options.ports);
    } else if (name == "--metrics") {
      options.metrics = true;
    } else if (name == "--health_ports") {
      options.health_ports = true;
    } else if (name == "--tls_dir") {
      tls_dir = value;
    } else if (name == "--tls_cert") {
      tls_cert = value;
    } else if (name == "--tls_key") {
      tls_key = value;
    } else if (name == "--tls_ca") {
      tls_ca = value;
    } else if (name == "--dry_run") {
      dry_run = true;
    } else if (name == "--peers") {
      ok = value == "all" || value == "same";
      options.peers = value == "all" ? Peers::kAllReplicas : Peers::kSameReplica;
    } else if (name == "--admin_email") {
      options.admin_email = value;
    } else if (name == "--admin_password") {
      options.admin_password = value;
    } else if (name == "--webhook_secret") {
      options.webhook_secret = value;
    } else if (name == "--page_token_secret") {
      ok = ParsePairs(value, &options.page_token_secrets);
    } else if (name == "--trusted_peers") {
      options.trusted_peers = value;
    } else if (name == "--env") {
      // NAME=VALUE for every service, SVC:NAME=VALUE for one.
      std::pair<std::string, std::string> nv = absl::StrSplit(value, absl::MaxSplits('=', 1));
      ok = !nv.first.empty() && absl::StrContains(value, '=');
      const size_t colon = nv.first.find(':');
      if (colon == std::string::npos) {
        options.env[nv.first] = nv.second;
      } else {
        options.service_env[nv.first.substr(0, colon)][nv.first.substr(colon + 1)] = nv.second;
      }
    } else if (name == "--serving_timeout_s") {
      int s = 0;
      ok = absl::SimpleAtoi(value, &s) && s > 0;
      options.serving_timeout = absl::Seconds(s);
    } else if (name == "--log_banner") {
      options.log_banner = true;
    } else if (name == "--exit_on_death") {
      exit_on_death = true;
    } else {
      ok = false;
    }
    if (!ok) return Usage(absl::StrCat("bad argument: ", arg));
  }
  const auto from_env = [](const char* name) -> const char* { return getenv(name); };
  bool ok_env = true;
  bool have_password = false, have_webhook = false, have_pages = !options.page_token_secrets.empty();
  for (int a = 1; a < argc; ++a) {
    have_password |= absl::StartsWith(argv[a], "--admin_password=");
    have_webhook |= absl::StartsWith(argv[a], "--webhook_secret=");
  }
  if (!have_password && from_env("SUITE_UP_ADMIN_PASSWORD") != nullptr) {
    options.admin_password = from_env("SUITE_UP_ADMIN_PASSWORD");
  }
  if (!have_webhook && from_env("SUITE_UP_WEBHOOK_SECRET") != nullptr) {
    options.webhook_secret = from_env("SUITE_UP_WEBHOOK_SECRET");
  }
  if (!have_pages && from_env("SUITE_UP_PAGE_TOKEN_SECRET") != nullptr) {
    ok_env = ParsePairs(from_env("SUITE_UP_PAGE_TOKEN_SECRET"), &options.page_token_secrets);
  }
  if (!ok_env) return Usage("bad SUITE_UP_PAGE_TOKEN_SECRET (want identity=S,billing=S,...)");
  if (url_template.empty() || !absl::StrContains(url_template, "{role}")) {
    return Usage("--database_url is required, with {role} where the role goes");
  }
  if (!create_database.empty() && admin_url.empty()) {
    return Usage("--create_database needs --admin_url");
  }
  if (!tls_dir.empty()) {
    options.tls = {tls_dir + "/tls.crt", tls_dir + "/tls.key", tls_dir + "/ca.crt"};
  }
  if (!tls_cert.empty()) options.tls.cert_file = tls_cert;
  if (!tls_key.empty()) options.tls.key_file = tls_key;
  if (!tls_ca.empty()) options.tls.ca_file = tls_ca;
  if (options.tls.enabled() && (options.tls.key_file.empty() || options.tls.ca_file.empty())) {
    return Usage("TLS needs a certificate, its key and the CA (--tls_dir or --tls_*)");
  }
  options.database_url = [url_template](const std::string& role) {
    return UrlForRole(url_template, role);
  };

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // Whoever reads our answers may go away first; writing then must not kill us before the
  // services are stopped.
  signal(SIGPIPE, SIG_IGN);

  if (dry_run) {
    Suite suite(options);
    nlohmann::json env = nlohmann::json::object();
    for (const std::string& svc : Services()) {
      env[svc] = nlohmann::json::array();
      for (int i = 0; i < suite.replicas(svc); ++i) env[svc].push_back(suite.Env(svc, i));
    }
    Emit({{"event", "plan"}, {"services", nlohmann::json::parse(suite.Json())}, {"env", env}});
    return 0;
  }
  const auto fail = [](const std::string& error) {
    Emit({{"event", "failed"}, {"error", error}});
    Say(error);
    return 1;
  };
  if (!create_database.empty()) {
    absl::Status s = CreateDatabase(admin_url, create_database);
    if (!s.ok()) return fail(std::string(s.message()));
  }
  if (migrate) {
    const std::string root = options.binaries_dir.empty() ? "." : options.binaries_dir;
    absl::Status s = Migrate(root + "/migrations/migrate",
                             migrations_dir.empty() ? root + "/migrations" : migrations_dir,
                             UrlForRole(url_template, "suite_owner"),
                             options.logs_dir + "/migrate.log");
    if (!s.ok()) return fail(std::string(s.message()));
    Say("database migrated");
  }

  Suite suite(options);
  absl::Status started = suite.Start();
  if (!started.ok() || g_stop) {
    suite.StopAll();
    return fail(started.ok() ? "stopped by a signal while starting" : std::string(started.message()));
  }
  for (const std::string& svc : Services()) {
    for (int i = 0; i < suite.replicas(svc); ++i) {
      Say(absl::StrCat(svc, " ", i, " is SERVING on ", suite.addr(svc, i), " (pid ",
                       suite.process(svc, i).pid(), ")"));
    }
  }
  Emit({{"event", "up"}, {"services", nlohmann::json::parse(suite.Json())}});

  Controller controller(suite, exit_on_death);
  std::string pending;
  bool running = true;
  while (running && !g_stop) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&in, 1, 200);
    if (ready > 0) {
      char buf[4096];
      const ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n <= 0) break;  // EOF: whoever drove us is gone
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl; running && (nl = pending.find('\n')) != std::string::npos;) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        running = controller.Handle(Words(line));
      }
    }
    if (running) running = controller.Watch();
  }
  Say("stopping");
  nlohmann::json codes = nlohmann::json::object();
  for (const auto& [name, code] : suite.StopAll()) {
    codes[name] = Code(code);
    Say(absl::StrCat(name, " exited with status ", code));
  }
  Emit({{"event", "down"}, {"exit_codes", codes}});
  return controller.died() ? 1 : 0;
}

}  // namespace
}  // namespace suite::harness

int main(int argc, char** argv) { return suite::harness::Main(argc, argv); }
