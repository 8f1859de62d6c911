#include "shared/rpc/testing/server_process.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace suite::rpc::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

TEST(ServerProcessTest, FreeLoopbackPortCanBeBound) {
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
}

TEST(ServerProcessTest, TheChildSeesExactlyTheGivenEnvironmentAndItsExitCodeComesBack) {
  setenv("SERVER_PROCESS_TEST_LEAK", "1", 1);
  const pid_t pid = SpawnServer(
      "/bin/sh", {{"WANTED", "yes"}},
      {"-c", "test \"$WANTED\" = yes && test -z \"$SERVER_PROCESS_TEST_LEAK\" && exit 3"});
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 3);
  EXPECT_EQ(WaitExit(SpawnServer("/bin/sh", {}, {"-c", "exit 0"}), absl::Seconds(10)), 0);
}

TEST(ServerProcessTest, WaitExitKillsAChildThatOutlivesTheTimeout) {
  const pid_t pid = SpawnServer("/bin/sh", {}, {"-c", "exec sleep 30"});
  ASSERT_GT(pid, 0);
  const absl::Time start = absl::Now();
  EXPECT_EQ(WaitExit(pid, absl::Milliseconds(200)), -1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(ServerProcessTest, WaitForHealthReportsUnknownWhenNothingAnswers) {
  const std::string address = absl::StrCat("127.0.0.1:", FreeLoopbackPort());
  EXPECT_EQ(WaitForHealth(address, "", HealthCheckResponse::SERVING, absl::Milliseconds(300)),
            HealthCheckResponse::UNKNOWN);
}

}  // namespace
}  // namespace suite::rpc::testing
