#include "shared/rpc/testing/server_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

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

// Binds and listens on `family`'s `address`, port 0; returns the fd and sets *port.
int Listen(int family, const char* address, int* port) {
  const int fd = socket(family, SOCK_STREAM, 0);
  sockaddr_storage storage{};
  socklen_t len = 0;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    inet_pton(AF_INET, address, &a->sin_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    inet_pton(AF_INET6, address, &a->sin6_addr);
    len = sizeof(*a);
  }
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&storage), len), 0);
  EXPECT_EQ(listen(fd, 1), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len), 0);
  *port = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port)
                            : ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return fd;
}

TEST(ServerProcessTest, ListeningSocketsReportsTheBoundAddressOfEverySocket) {
  int loopback_port = 0, any_port = 0, v6_port = 0;
  const int loopback = Listen(AF_INET, "127.0.0.1", &loopback_port);
  const int any = Listen(AF_INET, "0.0.0.0", &any_port);
  const int v6 = Listen(AF_INET6, "::", &v6_port);
  const int unbound = socket(AF_INET, SOCK_STREAM, 0);  // not listening: not reported
  std::map<int, std::string> seen;
  for (const ListeningSocket& s : ListeningSockets(getpid())) seen[s.port] = s.host;
  EXPECT_EQ(seen[loopback_port], "127.0.0.1");
  EXPECT_EQ(seen[any_port], "0.0.0.0");
  EXPECT_EQ(seen[v6_port], "::");
  EXPECT_EQ(seen.size(), 3u);
  for (int fd : {loopback, any, v6, unbound}) close(fd);
  EXPECT_TRUE(ListeningSockets(getpid()).empty());
}

TEST(ServerProcessTest, IsLoopbackKnowsTheLoopbackSpellings) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopback(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "::ffff:10.0.0.1", "128.0.0.1", ""}) {
    EXPECT_FALSE(IsLoopback(host)) << host;
  }
}

TEST(ServerProcessTest, SpawnServerLoggingAppendsStdoutAndStderrToTheFile) {
  const std::string log = absl::StrCat(::testing::TempDir(), "/spawn_logging.log");
  unlink(log.c_str());
  for (int i = 0; i < 2; ++i) {
    const pid_t pid =
        SpawnServerLogging("/bin/sh", {}, log, {"-c", "echo to-stdout; echo to-stderr >&2"});
    ASSERT_GT(pid, 0);
    EXPECT_EQ(WaitExit(pid, absl::Seconds(10)), 0);
  }
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "to-stdout\nto-stderr\nto-stdout\nto-stderr\n");
  EXPECT_EQ(SpawnServerLogging("/bin/true", {}, "/nonexistent-dir/x.log"), -1);
}

}  // namespace
}  // namespace suite::rpc::testing
