// The RPC metrics end to end: a real loopback GrpcServer with a /metrics port, real calls with
// different outcomes, and a real HTTP scrape that must show them with the right labels.
#include <httplib.h>

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "shared/metrics/metrics.h"
#include "shared/rpc/server/config.h"
#include "shared/rpc/server/server.h"
#include "testing/v1/echo_service.grpc.pb.h"

namespace suite::rpc {
namespace {

namespace tv1 = ::testing::v1;
using ::testing::HasSubstr;
using ::testing::Not;

// Echoes, except that "missing" is NOT_FOUND.
class EchoServiceImpl final : public tv1::EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const tv1::EchoRequest* request,
                    tv1::EchoResponse* response) override {
    if (request->message() == "missing") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no");
    response->set_message(request->message());
    return grpc::Status::OK;
  }
};

class RpcMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.listen_address = "127.0.0.1:0";
    config.drain_timeout = absl::Seconds(1);
    config.metrics_port = 0;
    auto server = GrpcServer::Start(config, {{&echo_, tv1::EchoService::service_full_name()}},
                                    /*handle_signals=*/false);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->metrics_port(), 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
  }

  grpc::StatusCode Echo(const std::string& message) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    tv1::EchoRequest request;
    request.set_message(message);
    tv1::EchoResponse response;
    return tv1::EchoService::NewStub(channel_)->Echo(&context, request, &response).error_code();
  }

  std::string Scrape() {
    httplib::Client client("127.0.0.1", server_->metrics_port());
    auto response = client.Get("/metrics");
    EXPECT_TRUE(response);
    if (!response) return "";
    EXPECT_EQ(response->status, 200);
    return response->body;
  }

  // The value of the series whose line starts with `series ` in `text`, or -1.
  static double Value(const std::string& text, const std::string& series) {
    size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }

  EchoServiceImpl echo_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

constexpr char kOk[] =
    "grpc_server_handled_total{grpc_service=\"testing.v1.EchoService\",grpc_method=\"Echo\","
    "grpc_code=\"OK\"}";
constexpr char kNotFound[] =
    "grpc_server_handled_total{grpc_service=\"testing.v1.EchoService\",grpc_method=\"Echo\","
    "grpc_code=\"NOT_FOUND\"}";
constexpr char kLatencyCount[] =
    "grpc_server_handling_seconds_count{grpc_service=\"testing.v1.EchoService\","
    "grpc_method=\"Echo\"}";

TEST_F(RpcMetricsTest, CallsShowUpInTheScrapeByMethodAndCode) {
  // The registry is process-wide, so compare against what was there before.
  std::string before = Scrape();
  double ok_before = std::max(0.0, Value(before, kOk));
  double not_found_before = std::max(0.0, Value(before, kNotFound));
  double count_before = std::max(0.0, Value(before, kLatencyCount));

  ASSERT_EQ(Echo("a"), grpc::StatusCode::OK);
  ASSERT_EQ(Echo("b"), grpc::StatusCode::OK);
  ASSERT_EQ(Echo("missing"), grpc::StatusCode::NOT_FOUND);

  // The interceptor records when the call object goes away, just after the client has its
  // answer: allow it a moment.
  std::string after;
  for (int i = 0; i < 200; ++i) {
    after = Scrape();
    if (Value(after, kLatencyCount) >= count_before + 3) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(Value(after, kOk), ok_before + 2) << after;
  EXPECT_EQ(Value(after, kNotFound), not_found_before + 1) << after;
  EXPECT_EQ(Value(after, kLatencyCount), count_before + 3) << after;
  EXPECT_THAT(after, HasSubstr("# TYPE grpc_server_handled_total counter\n"));
  EXPECT_THAT(after, HasSubstr("# TYPE grpc_server_handling_seconds histogram\n"));
  EXPECT_THAT(after, HasSubstr("grpc_server_handling_seconds_bucket{grpc_service=\"testing.v1."
                               "EchoService\",grpc_method=\"Echo\",le=\"+Inf\"}"));
  EXPECT_THAT(after, Not(HasSubstr("grpc_code=\"INTERNAL\"")));
}

TEST_F(RpcMetricsTest, HealthChecksAreCounted) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(grpc::health::v1::Health::NewStub(channel_)
                  ->Check(&context, grpc::health::v1::HealthCheckRequest(), &response)
                  .ok());
  const std::string series =
      "grpc_server_handled_total{grpc_service=\"grpc.health.v1.Health\",grpc_method=\"Check\","
      "grpc_code=\"OK\"}";
  double value = -1;
  for (int i = 0; i < 200 && value < 1; ++i) {
    value = Value(Scrape(), series);
    if (value < 1) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GE(value, 1);
}

TEST(RpcMetricsServerTest, BusyMetricsPortFailsStartWithUnavailable) {
  EchoServiceImpl echo;
  ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  config.metrics_port = 0;
  auto first = GrpcServer::Start(config, {{&echo, tv1::EchoService::service_full_name()}}, false);
  ASSERT_TRUE(first.ok()) << first.status();
  config.metrics_port = (*first)->metrics_port();
  auto second = GrpcServer::Start(config, {{&echo, tv1::EchoService::service_full_name()}}, false);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(RpcMetricsServerTest, NoMetricsPortByDefault) {
  EchoServiceImpl echo;
  ServerConfig config;
  config.listen_address = "127.0.0.1:0";
  auto server = GrpcServer::Start(config, {{&echo, tv1::EchoService::service_full_name()}}, false);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), -1);
}

}  // namespace
}  // namespace suite::rpc
