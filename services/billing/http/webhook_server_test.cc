// WebhookServer's lifecycle. Its requests are covered over HTTP by billing_service_test.
#include "services/billing/http/webhook_server.h"

#include <memory>

#include "gtest/gtest.h"
#include "services/billing/domain/billing.h"
#include "services/billing/storage/pg_store.h"
#include "shared/db/pool.h"

namespace suite::billing {
namespace {

// Stop right after Start used to hang now and then: httplib's stop() does nothing before the
// listen loop has begun, and the loop then ran forever under a join. No request is made, so
// the pool never connects (the URL leads nowhere).
TEST(WebhookServerTest, StopRightAfterStartReturns) {
  suite::db::PoolConfig config;
  config.database_url = "postgresql://127.0.0.1:1/unused";
  auto pool = suite::db::ConnectionPool::Create(config);
  ASSERT_TRUE(pool.ok()) << pool.status();
  auto storage = PgStore::Create(**pool);
  ASSERT_TRUE(storage.ok()) << storage.status();
  Billing billing(**storage, BillingOptions{});
  for (int i = 0; i < 200; ++i) {
    auto server = WebhookServer::Start("127.0.0.1", 0, billing);
    ASSERT_TRUE(server.ok()) << server.status();
    (*server)->Stop();
  }
}

}  // namespace
}  // namespace suite::billing
