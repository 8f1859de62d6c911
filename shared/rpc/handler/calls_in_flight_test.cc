#include "shared/rpc/handler/calls_in_flight.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace suite::rpc {
namespace {

using ::testing::HasSubstr;

TEST(CallsInFlightTest, AdmitsUpToTheLimitAndAgainOnceAPlaceIsGivenBack) {
  CallsInFlight in_flight(2);
  EXPECT_TRUE(in_flight.TryAdmit());
  EXPECT_TRUE(in_flight.TryAdmit());
  EXPECT_FALSE(in_flight.TryAdmit());
  EXPECT_EQ(in_flight.count(), 2);  // a refusal takes nothing

  in_flight.Release();
  EXPECT_TRUE(in_flight.TryAdmit());
  EXPECT_FALSE(in_flight.TryAdmit());
}

TEST(CallsInFlightTest, ANewLimitAppliesToTheNextAdmissions) {
  CallsInFlight in_flight(1);
  ASSERT_TRUE(in_flight.TryAdmit());
  in_flight.SetLimit(3);
  EXPECT_TRUE(in_flight.TryAdmit());
  EXPECT_TRUE(in_flight.TryAdmit());
  EXPECT_FALSE(in_flight.TryAdmit());

  in_flight.SetLimit(0);  // raised to the minimum of one
  EXPECT_EQ(in_flight.limit(), 1);
}

TEST(CallsInFlightTest, ConcurrentAdmissionsNeverPassTheLimit) {
  constexpr int kLimit = 5;
  CallsInFlight in_flight(kLimit);
  std::atomic<int> held{0};
  std::atomic<int> most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!in_flight.TryAdmit()) continue;
        const int now = held.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(1);
        in_flight.Release();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(most.load(), kLimit);
  EXPECT_EQ(in_flight.count(), 0);
}

TEST(CallsInFlightTest, AScrapeShowsTheCountTheLimitAndTheRefusals) {
  metrics::Registry registry;
  CallsInFlight in_flight(2);
  in_flight.ExportTo(registry);
  ASSERT_TRUE(in_flight.TryAdmit());
  ASSERT_TRUE(in_flight.TryAdmit());
  ASSERT_FALSE(in_flight.TryAdmit());
  ASSERT_FALSE(in_flight.TryAdmit());
  in_flight.Release();

  const std::string scrape = registry.Render();
  EXPECT_THAT(scrape, HasSubstr("\ngrpc_server_calls_in_flight 1\n"));
  EXPECT_THAT(scrape, HasSubstr("\ngrpc_server_calls_in_flight_limit 2\n"));
  EXPECT_THAT(scrape, HasSubstr("\ngrpc_server_calls_refused_overloaded_total 2\n"));
}

TEST(CallsInFlightTest, TheRefusalIsResourceExhaustedAndNamesTheLimitAndTheSetting) {
  CallsInFlight in_flight(7);
  grpc::Status status = in_flight.OverloadedStatus();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("calls in flight: 7"));
  EXPECT_THAT(status.error_message(), HasSubstr("GRPC_MAX_CALLS_IN_FLIGHT"));
}

}  // namespace
}  // namespace suite::rpc
