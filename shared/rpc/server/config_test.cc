#include "shared/rpc/server/config.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace suite::rpc {
namespace {

using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](absl::string_view name) -> absl::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return absl::nullopt;
    return it->second;
  };
}

TEST(LoadServerConfigTest, NothingSetGivesTheDefaults) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig("IDENTITY", {}, {}, FakeEnv({}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:50051");
  EXPECT_EQ(config->listen_host, "127.0.0.1");
  EXPECT_EQ(config->drain_timeout, absl::Seconds(20));
  EXPECT_EQ(config->max_message_bytes, 4 * 1024 * 1024);
  EXPECT_EQ(config->health_interval, absl::Seconds(2));
  EXPECT_EQ(config->handler_threads, 16);
  EXPECT_EQ(config->heap_trim_interval, absl::Seconds(10));
  EXPECT_EQ(config->max_calls_in_flight, 2048);
}

TEST(LoadServerConfigTest, MaxCallsInFlightIsReadFromTheFlagOrTheEnvironment) {
  absl::StatusOr<ServerConfig> from_env = LoadServerConfig(
      "QUESTIONS", {}, {}, FakeEnv({{"QUESTIONS_GRPC_MAX_CALLS_IN_FLIGHT", "64"}}));
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->max_calls_in_flight, 64);

  absl::StatusOr<ServerConfig> from_flag =
      LoadServerConfig("QUESTIONS", {"--grpc_max_calls_in_flight=1"}, {},
                       FakeEnv({{"GRPC_MAX_CALLS_IN_FLIGHT", "64"}}));
  ASSERT_TRUE(from_flag.ok()) << from_flag.status();
  EXPECT_EQ(from_flag->max_calls_in_flight, 1);
}

TEST(LoadServerConfigTest, HeapTrimIntervalIsReadWithOrWithoutThePrefix) {
  absl::StatusOr<ServerConfig> generic =
      LoadServerConfig("IDENTITY", {}, {}, FakeEnv({{"HEAP_TRIM_INTERVAL", "30s"}}));
  ASSERT_TRUE(generic.ok()) << generic.status();
  EXPECT_EQ(generic->heap_trim_interval, absl::Seconds(30));

  absl::StatusOr<ServerConfig> prefixed = LoadServerConfig(
      "IDENTITY", {}, {},
      FakeEnv({{"HEAP_TRIM_INTERVAL", "30s"}, {"IDENTITY_HEAP_TRIM_INTERVAL", "500ms"}}));
  ASSERT_TRUE(prefixed.ok()) << prefixed.status();
  EXPECT_EQ(prefixed->heap_trim_interval, absl::Milliseconds(500));
}

TEST(LoadServerConfigTest, PrefixedVariableBeatsGenericOne) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(
      "BILLING", {}, {},
      FakeEnv({{"GRPC_PORT", "7000"}, {"BILLING_GRPC_PORT", "7002"},
               {"GRPC_DRAIN_TIMEOUT", "5s"}, {"BILLING_GRPC_MAX_MESSAGE_BYTES", "2048"},
               {"GRPC_HANDLER_THREADS", "4"}, {"BILLING_GRPC_HANDLER_THREADS", "32"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:7002");
  EXPECT_EQ(config->drain_timeout, absl::Seconds(5));
  EXPECT_EQ(config->max_message_bytes, 2048);
  EXPECT_EQ(config->handler_threads, 32);
}

TEST(LoadServerConfigTest, AnotherServicesPrefixIsIgnored) {
  absl::StatusOr<ServerConfig> config =
      LoadServerConfig("BILLING", {}, {},
                       FakeEnv({{"IDENTITY_GRPC_PORT", "7001"}, {"IDENTITY_LISTEN_HOST", "::"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:50051");
  EXPECT_EQ(config->listen_host, "127.0.0.1");
}

TEST(LoadServerConfigTest, FlagsOverrideEnvironmentInBothSpellings) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(
      "IDENTITY",
      {"--database_url=ignored", "--grpc_addr", "127.0.0.1:9000", "--grpc_drain_timeout=1500ms",
       "--grpc_health_interval=3"},
      {}, FakeEnv({{"IDENTITY_GRPC_ADDR", "0.0.0.0:1"}, {"IDENTITY_GRPC_DRAIN_TIMEOUT", "9s"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:9000");
  EXPECT_EQ(config->drain_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(config->health_interval, absl::Seconds(3));
}

TEST(LoadServerConfigTest, PortFlagBeatsAddressVariable) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(
      "IDENTITY", {"--grpc_port=0"}, {}, FakeEnv({{"IDENTITY_GRPC_ADDR", "10.0.0.1:5"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:0");
}

// Every port binds loopback unless the deployment names the interfaces: a port given alone
// lands on LISTEN_HOST, and LISTEN_HOST alone moves the default port there.
TEST(LoadServerConfigTest, PortsBindLoopbackUnlessListenHostSaysOtherwise) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string address;
    std::string host;
  };
  for (const Case& c : std::vector<Case>{
           {{{"BILLING_GRPC_PORT", "7002"}}, "127.0.0.1:7002", "127.0.0.1"},
           {{{"BILLING_LISTEN_HOST", "0.0.0.0"}, {"BILLING_GRPC_PORT", "7002"}}, "0.0.0.0:7002",
            "0.0.0.0"},
           {{{"LISTEN_HOST", "0.0.0.0"}}, "0.0.0.0:50052", "0.0.0.0"},
           {{{"LISTEN_HOST", "0.0.0.0"}, {"BILLING_LISTEN_HOST", "10.1.2.3"}}, "10.1.2.3:50052",
            "10.1.2.3"},
           {{{"BILLING_LISTEN_HOST", "::"}, {"GRPC_PORT", "0"}}, "[::]:0", "::"},
           {{{"BILLING_LISTEN_HOST", "[::1]"}}, "[::1]:50052", "::1"},
           // A full address is taken as given; the other ports still follow LISTEN_HOST.
           {{{"BILLING_LISTEN_HOST", "0.0.0.0"}, {"BILLING_GRPC_ADDR", "127.0.0.1:9"}},
            "127.0.0.1:9", "0.0.0.0"},
       }) {
    ServerConfig defaults;
    defaults.listen_address = "127.0.0.1:50052";
    absl::StatusOr<ServerConfig> config = LoadServerConfig("BILLING", {}, defaults, FakeEnv(c.env));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->listen_address, c.address);
    EXPECT_EQ(config->listen_host, c.host);
  }
}

TEST(JoinHostPortTest, BracketsIpv6Only) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 50051), "127.0.0.1:50051");
  EXPECT_EQ(JoinHostPort("::", 0), "[::]:0");
  EXPECT_EQ(JoinHostPort("fe80::1", 8082), "[fe80::1]:8082");
}

TEST(LoadServerConfigTest, AddressBeatsPortAtTheSameLevel) {
  absl::StatusOr<ServerConfig> config = LoadServerConfig(
      "", {}, {}, FakeEnv({{"GRPC_ADDR", "[::]:6000"}, {"GRPC_PORT", "7000"}}));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "[::]:6000");
}

struct BadValue {
  std::map<std::string, std::string> env;
  std::vector<std::string> args;
  std::string named;  // what the error message must name
};

class LoadServerConfigBadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(LoadServerConfigBadValueTest, IsInvalidArgumentNamingTheSource) {
  absl::StatusOr<ServerConfig> config =
      LoadServerConfig("IDENTITY", GetParam().args, {}, FakeEnv(GetParam().env));
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  EXPECT_THAT(config.status().message(), HasSubstr(GetParam().named));
}

INSTANTIATE_TEST_SUITE_P(
    Values, LoadServerConfigBadValueTest,
    ::testing::Values(
        BadValue{{{"IDENTITY_GRPC_PORT", "http"}}, {}, "IDENTITY_GRPC_PORT"},
        BadValue{{{"GRPC_PORT", "70000"}}, {}, "GRPC_PORT"},
        BadValue{{{"GRPC_PORT", "-1"}}, {}, "GRPC_PORT"},
        BadValue{{{"IDENTITY_GRPC_ADDR", "localhost"}}, {}, "IDENTITY_GRPC_ADDR"},
        BadValue{{{"GRPC_ADDR", "host:port"}}, {}, "GRPC_ADDR"},
        BadValue{{{"IDENTITY_LISTEN_HOST", "localhost"}}, {}, "IDENTITY_LISTEN_HOST"},
        BadValue{{{"LISTEN_HOST", "0.0.0.0:50051"}}, {}, "LISTEN_HOST"},
        BadValue{{{"LISTEN_HOST", "[::"}}, {}, "LISTEN_HOST"},
        BadValue{{{"LISTEN_HOST", "256.0.0.1"}}, {}, "LISTEN_HOST"},
        BadValue{{{"LISTEN_HOST", " 127.0.0.1"}}, {}, "LISTEN_HOST"},
        BadValue{{{"GRPC_DRAIN_TIMEOUT", "soon"}}, {}, "GRPC_DRAIN_TIMEOUT"},
        BadValue{{{"GRPC_DRAIN_TIMEOUT", "0"}}, {}, "GRPC_DRAIN_TIMEOUT"},
        BadValue{{{"GRPC_DRAIN_TIMEOUT", "-5s"}}, {}, "GRPC_DRAIN_TIMEOUT"},
        BadValue{{{"IDENTITY_GRPC_HEALTH_INTERVAL", "inf"}}, {}, "IDENTITY_GRPC_HEALTH_INTERVAL"},
        BadValue{{{"IDENTITY_HEAP_TRIM_INTERVAL", "0s"}}, {}, "IDENTITY_HEAP_TRIM_INTERVAL"},
        BadValue{{{"HEAP_TRIM_INTERVAL", "often"}}, {}, "HEAP_TRIM_INTERVAL"},
        BadValue{{{"GRPC_MAX_CALLS_IN_FLIGHT", "0"}}, {}, "GRPC_MAX_CALLS_IN_FLIGHT"},
        BadValue{{}, {"--grpc_max_calls_in_flight=1000001"}, "--grpc_max_calls_in_flight"},
        BadValue{{{"GRPC_MAX_MESSAGE_BYTES", "12"}}, {}, "GRPC_MAX_MESSAGE_BYTES"},
        BadValue{{{"GRPC_MAX_MESSAGE_BYTES", "4MB"}}, {}, "GRPC_MAX_MESSAGE_BYTES"},
        BadValue{{{"GRPC_HANDLER_THREADS", "0"}}, {}, "GRPC_HANDLER_THREADS"},
        BadValue{{{"IDENTITY_GRPC_HANDLER_THREADS", "1025"}}, {}, "IDENTITY_GRPC_HANDLER_THREADS"},
        BadValue{{}, {"--grpc_handler_threads=many"}, "--grpc_handler_threads"},
        BadValue{{}, {"--grpc_port=x"}, "--grpc_port"},
        BadValue{{}, {"--grpc_prot=1"}, "--grpc_prot"},
        BadValue{{}, {"--grpc_port"}, "--grpc_port"}));

}  // namespace
}  // namespace suite::rpc
