// A real HTTP scrape of /metrics, and the DB pool exporter against the test PostgreSQL.
#include "shared/metrics/http_server.h"

#include <httplib.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/db/config.h"
#include "shared/db/pool.h"
#include "shared/db/testing/test_database.h"
#include "shared/metrics/metrics.h"
#include "shared/metrics/pool_metrics.h"

namespace suite::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsHttpServerTest, ServesTheRegistryAtMetricsWithTheTextContentType) {
  Registry registry;
  auto family = registry.AddCounter("scraped_total", "Scrape test.", {"k"});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"v"}).Increment(4);
  auto server = MetricsHttpServer::Start(&registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response) << "no HTTP response";
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type"), std::string(kTextContentType));
  EXPECT_EQ(response->body,
            "# HELP scraped_total Scrape test.\n# TYPE scraped_total counter\n"
            "scraped_total{k=\"v\"} 4\n");

  auto other = client.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
}

TEST(MetricsHttpServerTest, StopClosesTheListener) {
  Registry registry;
  auto server = MetricsHttpServer::Start(&registry, "127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.status();
  int port = (*server)->port();
  (*server)->Stop();
  (*server)->Stop();  // a second Stop returns at once
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1, 0);
  EXPECT_FALSE(client.Get("/metrics"));
}

TEST(MetricsHttpServerTest, BusyPortIsUnavailableAndBadPortInvalid) {
  Registry registry;
  auto first = MetricsHttpServer::Start(&registry, "127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(MetricsHttpServer::Start(&registry, "127.0.0.1", (*first)->port()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(MetricsHttpServer::Start(&registry, "127.0.0.1", 70000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start(nullptr, "127.0.0.1", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PoolMetricsTest, ScrapeShowsThePoolsCurrentStats) {
  auto db = db::testing::TestDatabase::CreateEmpty();
  ASSERT_TRUE(db.ok()) << db.status();
  db::PoolConfig config;
  config.database_url = (*db)->url();
  config.pool_size = 3;
  auto pool = db::ConnectionPool::Create(config);
  ASSERT_TRUE(pool.ok()) << pool.status();

  Registry registry;
  auto exported = PoolMetrics::Export(registry, pool->get(), "test");
  ASSERT_TRUE(exported.ok()) << exported.status();
  std::string before = registry.Render();
  EXPECT_THAT(before, HasSubstr("db_pool_size{pool=\"test\"} 3\n"));
  EXPECT_THAT(before, HasSubstr("db_pool_in_use{pool=\"test\"} 0\n"));
  EXPECT_THAT(before, HasSubstr("db_pool_checkouts_total{pool=\"test\"} 0\n"));

  {
    auto first = (*pool)->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(first.ok()) << first.status();
    auto second = (*pool)->Checkout(absl::Now() + absl::Seconds(5));
    ASSERT_TRUE(second.ok()) << second.status();
    std::string during = registry.Render();
    EXPECT_THAT(during, HasSubstr("db_pool_in_use{pool=\"test\"} 2\n"));
    EXPECT_THAT(during, HasSubstr("db_pool_open{pool=\"test\"} 2\n"));
    EXPECT_THAT(during, HasSubstr("db_pool_checkouts_total{pool=\"test\"} 2\n"));
  }
  std::string after = registry.Render();
  EXPECT_THAT(after, HasSubstr("db_pool_in_use{pool=\"test\"} 0\n"));
  EXPECT_THAT(after, HasSubstr("db_pool_idle{pool=\"test\"} 2\n"));
  EXPECT_THAT(after, HasSubstr("db_pool_checkouts_total{pool=\"test\"} 2\n"));
  EXPECT_THAT(after, HasSubstr("# TYPE db_pool_wait_seconds_total counter\n"));

  // After the exporter is gone the values are no longer refreshed.
  exported->reset();
  { auto third = (*pool)->Checkout(absl::Now() + absl::Seconds(5)); }
  EXPECT_THAT(registry.Render(), HasSubstr("db_pool_checkouts_total{pool=\"test\"} 2\n"));
}

TEST(PoolMetricsTest, ConnectFailuresAreCounted) {
  db::PoolConfig config;
  config.database_url = "postgresql://nobody@127.0.0.1:1/none";  // nothing listens on port 1
  auto pool = db::ConnectionPool::Create(config);
  ASSERT_TRUE(pool.ok());
  Registry registry;
  auto exported = PoolMetrics::Export(registry, pool->get(), "down");
  ASSERT_TRUE(exported.ok());
  EXPECT_EQ((*pool)->Checkout(absl::Now() + absl::Seconds(3)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_THAT(registry.Render(), HasSubstr("db_pool_connect_failures_total{pool=\"down\"} 1\n"));
  EXPECT_THAT(registry.Render(), Not(HasSubstr("db_pool_in_use{pool=\"down\"} 1")));
}

TEST(PoolMetricsTest, NullPoolIsInvalidArgument) {
  Registry registry;
  EXPECT_EQ(PoolMetrics::Export(registry, nullptr, "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace suite::metrics
