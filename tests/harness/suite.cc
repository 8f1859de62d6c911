#include "tests/harness/suite.h"

#include <signal.h>

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"

namespace suite::harness {
namespace {

using rpc::testing::FreeLoopbackPort;
using rpc::testing::ServerProcess;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string RandomSecret() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 64; ++i) s.push_back(kHex[rd() % 16]);
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  return absl::StrJoin(last, "\n");
}

}  // namespace

const std::vector<std::string>& Services() {
  static const auto* services = new std::vector<std::string>{"identity", "billing", "questions"};
  return *services;
}

SuiteOptions TestOptions(std::function<std::string(const std::string& role)> database_url,
                         const std::string& admin_email, const std::string& admin_password,
                         const std::string& webhook_secret) {
  SuiteOptions o;
  o.database_url = std::move(database_url);
  const char* outputs = getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  o.logs_dir = outputs != nullptr ? outputs : "/tmp";
  o.admin_email = admin_email;
  o.admin_password = admin_password;
  o.webhook_secret = webhook_secret;
  o.serving_timeout = absl::Seconds(20);
  o.env = {{"{SVC}_GRPC_HEALTH_INTERVAL", "100ms"}, {"DB_CONNECT_TIMEOUT_S", "2"}};
  return o;
}

std::string ServerBinary(const std::string& binaries_dir, const std::string& service) {
  const std::string relative = absl::StrCat("services/", service, "/", service, "_server");
  return binaries_dir.empty() ? relative : absl::StrCat(binaries_dir, "/", relative);
}

std::string UrlForRole(const std::string& url_template, const std::string& role) {
  return absl::StrReplaceAll(url_template, {{"{role}", role}});
}

Suite::Suite(SuiteOptions options) : options_(std::move(options)) {
  for (const std::string& svc : Services()) {
    if (options_.page_token_secrets.count(svc) == 0) {
      options_.page_token_secrets[svc] = RandomSecret();
    }
    const auto n = options_.replicas.find(svc);
    const int count = n == options_.replicas.end() ? 0 : n->second;
    std::vector<Replica>& replicas = replicas_[svc];
    replicas.resize(count);
    for (int i = 0; i < count; ++i) {
      // A fixed port applies to replica 0; every other one is free now.
      const auto port = [&](const std::string& name) {
        const auto fixed = options_.ports.find(name);
        return i == 0 && fixed != options_.ports.end() ? fixed->second : FreeLoopbackPort();
      };
      ReplicaPorts& p = replicas[i].ports;
      p.grpc = port(svc);
      if (svc == "billing") p.webhook = port("billing_webhook");
      if (options_.metrics) p.metrics = port(svc + "_metrics");
      if (options_.health_ports) p.health = port(svc + "_health");
      const std::string log =
          absl::StrCat(options_.logs_dir, "/", svc, i == 0 ? "" : absl::StrCat("-", i), ".log");
      replicas[i].process =
          std::make_unique<ServerProcess>(ServerBinary(options_.binaries_dir, svc), Env(svc, i), log);
    }
  }
}

Suite::~Suite() { StopAll(); }

int Suite::replicas(const std::string& service) const {
  const auto it = replicas_.find(service);
  return it == replicas_.end() ? 0 : static_cast<int>(it->second.size());
}

Suite::Replica& Suite::replica(const std::string& service, int i) {
  return replicas_.at(service).at(i);
}
const Suite::Replica& Suite::replica(const std::string& service, int i) const {
  return replicas_.at(service).at(i);
}

ServerProcess& Suite::process(const std::string& service, int i) {
  return *replica(service, i).process;
}

const ReplicaPorts& Suite::ports(const std::string& service, int i) const {
  return replica(service, i).ports;
}

std::string Suite::addr(const std::string& service, int i) const {
  return absl::StrCat("127.0.0.1:", ports(service, i).grpc);
}

std::string Suite::target(const std::string& service, int caller_replica) const {
  const int n = replicas(service);
  if (n == 0) return "127.0.0.1:1";  // nothing listens there
  if (options_.peers == Peers::kSameReplica || n == 1) return addr(service, caller_replica % n);
  std::vector<std::string> addrs;
  for (int i = 0; i < n; ++i) addrs.push_back(addr(service, i));
  return absl::StrCat("ipv4:", absl::StrJoin(addrs, ","));
}

std::map<std::string, std::string> Suite::Env(const std::string& svc, int i) const {
  const std::string p = Upper(svc);
  const ReplicaPorts& ports = this->ports(svc, i);
  std::map<std::string, std::string> env = {
      {"DATABASE_URL", options_.database_url(svc + "_service")},
      {p + "_GRPC_PORT", std::to_string(ports.grpc)},
      // Loopback only, whatever else is asked: a harness's suite, with its known admin
      // password and webhook secret, is not for the network to reach.
      {p + "_LISTEN_HOST", "127.0.0.1"},
      {p + "_PAGE_TOKEN_SECRET", options_.page_token_secrets.at(svc)},
  };
  if (ports.metrics > 0) env[p + "_METRICS_PORT"] = std::to_string(ports.metrics);
  if (ports.health > 0) env[p + "_HEALTH_PORT"] = std::to_string(ports.health);
  if (options_.tls.enabled()) {
    env[p + "_TLS_CERT_FILE"] = options_.tls.cert_file;
    env[p + "_TLS_KEY_FILE"] = options_.tls.key_file;
    env["SUITE_TLS_CA_FILE"] = options_.tls.ca_file;
  }
  if (svc == "identity") {
    if (!options_.trusted_peers.empty()) env["IDENTITY_TRUSTED_PEERS"] = options_.trusted_peers;
    if (!options_.admin_email.empty()) {
      env["IDENTITY_BOOTSTRAP_ADMIN_EMAIL"] = options_.admin_email;
      env["IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"] = options_.admin_password;
    }
  }
  if (svc == "billing") {
    env["BILLING_WEBHOOK_PORT"] = std::to_string(ports.webhook);
    env["BILLING_STRIPE_WEBHOOK_SECRETS"] = options_.webhook_secret;
  }
  if (svc != "identity") env["IDENTITY_ADDR"] = target("identity", i);
  if (svc == "questions") env["BILLING_ADDR"] = target("billing", i);
  for (const auto& [name, value] : options_.env) {
    env[absl::StrReplaceAll(name, {{"{SVC}", p}})] = value;
  }
  const auto own = options_.service_env.find(svc);
  if (own != options_.service_env.end()) {
    for (const auto& [name, value] : own->second) env[name] = value;
  }
  return env;
}

std::shared_ptr<grpc::ChannelCredentials> Suite::credentials() const {
  if (!options_.tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(options_.tls.ca_file);
  return grpc::SslCredentials(ssl);
}

absl::Status Suite::Start() {
  for (const std::string& svc : Services()) {
    for (int i = 0; i < replicas(svc); ++i) {
      absl::Status s = StartReplica(svc, i, {}, /*wait=*/false);
      if (!s.ok()) return s;
    }
    for (int i = 0; i < replicas(svc); ++i) {
      absl::Status s = process(svc, i).WaitServing(addr(svc, i), options_.serving_timeout,
                                                    credentials());
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat(svc, " ", i, ": ", s.message(), "\n",
                                                   LogTail(svc, i)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Suite::WaitServing(absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  for (const std::string& svc : Services()) {
    for (int i = 0; i < replicas(svc); ++i) {
      if (process(svc, i).pid() <= 0) continue;
      absl::Status s = process(svc, i).WaitServing(addr(svc, i),
                                                    std::max(end - absl::Now(), absl::ZeroDuration()),
                                                    credentials());
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Suite::StartReplica(const std::string& service, int i,
                                 const std::map<std::string, std::string>& overrides, bool wait) {
  if (i < 0 || i >= replicas(service)) {
    return absl::InvalidArgumentError(
        absl::StrCat("no replica ", i, " of ", service, " (", replicas(service), " configured)"));
  }
  ServerProcess& proc = process(service, i);
  proc.env() = Env(service, i);
  for (const auto& [name, value] : overrides) proc.env()[name] = value;
  if (options_.log_banner) {
    std::ofstream(proc.log_file(), std::ios::app)
        << "=== " << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone())
        << " suite harness starts " << service << " " << i << "\n";
  }
  absl::Status s = proc.Start();
  if (!s.ok() || !wait) return s;
  s = proc.WaitServing(addr(service, i), options_.serving_timeout, credentials());
  if (!s.ok()) {
    return absl::Status(s.code(), absl::StrCat(service, " ", i, ": ", s.message(), "\n",
                                               LogTail(service, i)));
  }
  return s;
}

absl::StatusOr<int> Suite::Restart(const std::string& service, int i,
                                   const std::map<std::string, std::string>& overrides,
                                   absl::Duration timeout) {
  if (i < 0 || i >= replicas(service)) {
    return absl::InvalidArgumentError(absl::StrCat("no replica ", i, " of ", service));
  }
  const int code = Stop(service, i, timeout);
  absl::Status s = StartReplica(service, i, overrides);
  if (!s.ok()) return s;
  return code;
}

int Suite::Stop(const std::string& service, int i, absl::Duration timeout) {
  ServerProcess& proc = process(service, i);
  if (!proc.Alive()) return proc.exit_code();
  return proc.Stop(timeout);
}

void Suite::Kill(const std::string& service, int i) {
  ServerProcess& proc = process(service, i);
  proc.Signal(SIGKILL);
  proc.WaitExit(absl::Seconds(10));
}

std::map<std::string, int> Suite::StopAll(absl::Duration timeout) {
  std::map<std::string, int> codes;
  // Callers first would be kinder, but every process drains on its own: all at once is
  // faster and a call in flight to a stopped peer fails as it would in production.
  for (auto& [svc, replicas] : replicas_) {
    for (Replica& r : replicas) r.process->Signal(SIGTERM);
  }
  for (auto& [svc, replicas] : replicas_) {
    for (size_t i = 0; i < replicas.size(); ++i) {
      ServerProcess& proc = *replicas[i].process;
      if (proc.pid() <= 0) continue;
      codes[absl::StrCat(svc, "/", i)] = proc.Alive() ? proc.WaitExit(timeout) : proc.exit_code();
    }
  }
  return codes;
}

std::string Suite::Json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& svc : Services()) {
    nlohmann::json list = nlohmann::json::array();
    for (int i = 0; i < replicas(svc); ++i) {
      const Replica& r = replica(svc, i);
      nlohmann::json j = {{"replica", i},
                          {"addr", addr(svc, i)},
                          {"port", r.ports.grpc},
                          {"pid", r.process->pid()},
                          {"log", r.process->log_file()}};
      if (r.ports.webhook > 0) j["webhook_port"] = r.ports.webhook;
      if (r.ports.metrics > 0) j["metrics_port"] = r.ports.metrics;
      if (r.ports.health > 0) j["health_port"] = r.ports.health;
      list.push_back(j);
    }
    out[svc] = list;
  }
  return out.dump();
}

std::string Suite::LogTail(const std::string& service, int i, int lines) const {
  return Tail(replica(service, i).process->log_file(), lines);
}

absl::Status CreateDatabase(const std::string& admin_url, const std::string& database) {
  try {
    pqxx::connection conn(admin_url);
    pqxx::nontransaction tx(conn);
    // Another process may create the role at the same moment; losing that race is fine.
    tx.exec(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'suite_owner') "
        "THEN CREATE ROLE suite_owner LOGIN CREATEROLE; END IF; EXCEPTION WHEN "
        "duplicate_object OR unique_violation THEN NULL; END $$");
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", database).empty()) {
      tx.exec(absl::StrCat("CREATE DATABASE ", tx.quote_name(database), " OWNER suite_owner"));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("creating database ", database, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status Migrate(const std::string& migrate_binary, const std::string& migrations_dir,
                     const std::string& owner_url, const std::string& log_file) {
  const pid_t pid = rpc::testing::SpawnServerLogging(
      migrate_binary, {{"DATABASE_URL", owner_url}},
      log_file, {absl::StrCat("--migrations_dir=", migrations_dir), "up"});
  if (pid <= 0) return absl::InternalError(absl::StrCat("cannot start ", migrate_binary));
  const int code = rpc::testing::WaitExit(pid, absl::Minutes(5));
  if (code != 0) {
    return absl::InternalError(
        absl::StrCat("migrate up exited with ", code, ":\n", Tail(log_file, 20)));
  }
  return absl::OkStatus();
}

}  // namespace suite::harness
