// Every metric the operators' alerting rules and dashboard use
// (deploy/k8s/components/monitoring) is one the three real server binaries export: they are
// started on a migrated database with a /metrics port, served a few calls, and scraped. A rule
// over a misspelt or removed metric would otherwise never fire, silently.
#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "billing/v1/billing_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "shared/db/testing/test_database.h"
#include "tests/harness/suite.h"

namespace {

using grpc::health::v1::HealthCheckResponse;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The metric names a rules file or dashboard refers to: identifiers of the suite's metric
// families (grpc_server_, db_pool_, db_batched_read_, billing_, identity_, questions_). Recorded
// series (with a colon) and Prometheus's own `up` are not exported by the services.
std::set<std::string> ReferencedMetrics(const std::string& text) {
  static const std::regex kName(
      R"(\b((grpc_server|db_pool|db_batched_read|billing|identity|questions)_[a-z0-9_]*))");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    const size_t end = it->position(1) + name.size();
    // Not metrics: label values such as grpc_service="identity.v1.IdentityService" (a metric
    // name is never followed by a dot) and parts of recorded names (suite:grpc_errors:...).
    if (end < text.size() && (text[end] == '.' || text[end] == ':')) continue;
    if (it->position(1) > 0 && text[it->position(1) - 1] == ':') continue;
    names.insert(name);
  }
  return names;
}

// The names a /metrics page exports: every sample's name and every `# TYPE` family.
std::set<std::string> ExportedMetrics(const std::string& page) {
  std::set<std::string> names;
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream parts(line.substr(7));
      std::string name, type;
      parts >> name >> type;
      names.insert(name);
      if (type == "histogram") {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
      }
    } else if (!line.empty() && line[0] != '#') {
      names.insert(line.substr(0, line.find_first_of("{ ")));
    }
  }
  return names;
}

TEST(AlertMetricsTest, EveryMetricOfTheRulesAndTheDashboardIsExportedByTheServers) {
  auto db = suite::db::testing::TestDatabase::CreateMigrated();
  ASSERT_TRUE(db.ok()) << db.status();
  std::set<std::string> exported;
  suite::harness::SuiteOptions o = suite::harness::TestOptions(
      [&db](const std::string& role) { return (*db)->UrlAs(role); }, "", "",
      "whsec_alert_metrics");
  const char* outputs = getenv("TEST_TMPDIR");
  o.logs_dir = outputs ? outputs : "/tmp";
  o.metrics = true;
  o.trusted_peers = "";
  o.env["{SVC}_GRPC_LAME_DUCK"] = "0";
  // Each server on its own: nothing listens where the others are said to be.
  o.env["IDENTITY_ADDR"] = "127.0.0.1:1";
  o.env["BILLING_ADDR"] = "127.0.0.1:1";
  suite::harness::Suite servers(o);
  // SERVING: a served call (the health check) fills the per-RPC families.
  const absl::Status started = servers.Start();
  ASSERT_TRUE(started.ok()) << started;
  for (const std::string service : {"identity", "billing", "questions"}) {
    const int port = servers.ports(service).grpc;
    const int metrics_port = servers.ports(service).metrics;
    if (service == "billing") {
      // A webhook delivery, refused for its signature, registers the webhook outcomes.
      auto billing = ::billing::v1::BillingService::NewStub(grpc::CreateChannel(
          absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
      ::billing::v1::IngestStripeEventRequest req;
      req.set_payload(R"({"id":"evt_1","object":"event","type":"customer.created"})");
      req.set_stripe_signature("t=1,v1=00");
      ::billing::v1::IngestStripeEventResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      EXPECT_FALSE(billing->IngestStripeEvent(&ctx, req, &resp).ok());
    }
    // A call is counted just after its answer is sent: scrape until it shows.
    httplib::Client http("127.0.0.1", metrics_port);
    std::set<std::string> names;
    std::string page;
    for (absl::Time end = absl::Now() + absl::Seconds(10);
         names.count("grpc_server_handled_total") == 0 && absl::Now() < end;
         absl::SleepFor(absl::Milliseconds(100))) {
      auto res = http.Get("/metrics");
      ASSERT_TRUE(res) << service << ": no answer from /metrics";
      ASSERT_EQ(res->status, 200) << service;
      page = res->body;
      names = ExportedMetrics(page);
    }
    EXPECT_GT(names.count("grpc_server_handled_total"), 0u) << service << "\n" << page;
    exported.insert(names.begin(), names.end());
  }
  for (const auto& [name, code] : servers.StopAll(absl::Seconds(20))) EXPECT_EQ(code, 0) << name;

  for (const std::string file : {"deploy/k8s/components/monitoring/suite.rules.yaml",
                                 "deploy/k8s/components/monitoring/suite-dashboard.json"}) {
    const std::string text = ReadFile(file);
    ASSERT_FALSE(text.empty()) << file;
    const std::set<std::string> referenced = ReferencedMetrics(text);
    EXPECT_GE(referenced.size(), 5u) << file << ": " << absl::StrJoin(referenced, ", ");
    std::vector<std::string> missing;
    for (const std::string& name : referenced) {
      if (exported.count(name) == 0) missing.push_back(name);
    }
    EXPECT_TRUE(missing.empty()) << file << " uses metrics no server exports: "
                                 << absl::StrJoin(missing, ", ");
    std::printf("%s: %zu metrics, all exported: %s\n", file.c_str(), referenced.size(),
                absl::StrJoin(referenced, ", ").c_str());
  }
}

// The check itself can fail: a name the servers do not export is found missing.
TEST(AlertMetricsTest, AMetricNameThatIsNotExportedIsFound) {
  const std::set<std::string> referenced = ReferencedMetrics(
      R"(expr: rate(billing_stripe_events_parked_total[5m]) > 0 and db_pool_open == 0
         labels: {grpc_service="identity.v1.IdentityService", pool="questions"}
         "expr": "grpc_server_calls_in_flight{job=~\"$job\"}", record: suite:grpc_errors:x)");
  EXPECT_EQ(referenced, (std::set<std::string>{"billing_stripe_events_parked_total",
                                               "db_pool_open", "grpc_server_calls_in_flight"}));
  const std::set<std::string> exported = ExportedMetrics(
      "# TYPE db_pool_open gauge\ndb_pool_open{pool=\"q\"} 1\n"
      "# TYPE grpc_server_handling_seconds histogram\n");
  EXPECT_EQ(exported.count("billing_stripe_events_parked_total"), 0u);
  EXPECT_EQ(exported.count("grpc_server_handling_seconds_bucket"), 1u);
}

}  // namespace
