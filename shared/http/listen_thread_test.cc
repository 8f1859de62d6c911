// StartListenThread against a real httplib server on loopback.
#include "shared/http/listen_thread.h"

#include <httplib.h>

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

}  // namespace
}  // namespace suite::http
