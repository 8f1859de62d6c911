// StartListenThread against a real httplib server on loopback.
#include "shared/http/listen_thread.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"

namespace suite::http {
namespace {

// The race StartListenThread exists for: a stop() right after the start must end the loop.
// With a bare thread the join here hung now and then (the test then times out).
TEST(ListenThreadTest, AStopRightAfterTheStartEndsTheLoop) {
  for (int i = 0; i < 200; ++i) {
    httplib::Server server;
    ASSERT_GT(server.bind_to_any_port("127.0.0.1"), 0);
    std::thread loop = StartListenThread(server);
    server.stop();
    loop.join();
  }
}

TEST(ListenThreadTest, ServesWhileRunning) {
  httplib::Server server;
  server.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("pong", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread loop = StartListenThread(server);
  auto response = httplib::Client("127.0.0.1", port).Get("/ping");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "pong");
  server.stop();
  loop.join();
}

// A server that was never bound: the loop ends at once, and StartListenThread must return
// rather than wait for a loop that will never run.
TEST(ListenThreadTest, ReturnsWhenTheLoopEndsAtOnce) {
  httplib::Server server;
  std::thread loop = StartListenThread(server);
  loop.join();
  EXPECT_FALSE(server.is_running());
}

// How many of `count` loopback connections to `port` complete within a second while nobody
// accepts: the kernel completes a handshake only while the accept queue (the backlog) has
// room, and drops the SYN otherwise.
int ConnectionsQueuedWithoutAccept(int port, int count) {
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    fds.push_back(fd);
  }
  ::usleep(1000 * 1000);
  int connected = 0;
  for (int fd : fds) {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof(error);
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) &&
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0) {
      ++connected;
    }
    ::close(fd);
  }
  return connected;
}

// httplib's own bind listens with a backlog of 5; BindWithBacklog's socket queues a burst.
TEST(ListenThreadTest, BindWithBacklogQueuesABurstOfConnections) {
  httplib::Server plain;
  const int plain_port = plain.bind_to_any_port("127.0.0.1");
  ASSERT_GT(plain_port, 0);
  EXPECT_LE(ConnectionsQueuedWithoutAccept(plain_port, 64), 8);

  httplib::Server server;
  const int port = BindWithBacklog(server, "127.0.0.1", 0);
  ASSERT_GT(port, 0);
  EXPECT_EQ(ConnectionsQueuedWithoutAccept(port, 64), 64);
  // It still serves.
  server.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("pong", "text/plain");
  });
  std::thread loop = StartListenThread(server);
  auto response = httplib::Client("127.0.0.1", port).Get("/ping");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "pong");
  server.stop();
  loop.join();
}

// A port that is taken, by this door or another, is never shared: -1. (httplib's default
// SO_REUSEPORT would let the second bind succeed and split the connections between them.)
TEST(ListenThreadTest, BindWithBacklogRefusesAPortAlreadyTaken) {
  httplib::Server first;
  const int port = BindWithBacklog(first, "127.0.0.1", 0);
  ASSERT_GT(port, 0);
  httplib::Server second;
  EXPECT_EQ(BindWithBacklog(second, "127.0.0.1", port), -1);
  httplib::Server elsewhere;
  // A host that is no address of this machine cannot be bound at all.
  EXPECT_EQ(BindWithBacklog(elsewhere, "192.0.2.1", port), -1);
}

}  // namespace
}  // namespace suite::http
