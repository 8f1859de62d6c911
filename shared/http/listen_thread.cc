#include "shared/http/listen_thread.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace suite::http {

int BindWithBacklog(httplib::Server& server, const std::string& host, int port, int backlog) {
  // httplib creates, binds and listens in one call and keeps the socket private; its socket
  // options callback is the one place that sees the descriptor. It runs once per address
  // tried, so the last one seen is the socket that was bound. httplib's default options also
  // set SO_REUSEPORT, which would let a second process (a stale replica, another service
  // started on the same port by mistake) share the port and take half the connections
  // silently; SO_REUSEADDR alone still allows a quick restart.
  auto socket = std::make_shared<std::atomic<int>>(-1);
  server.set_socket_options([socket](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    socket->store(static_cast<int>(sock));
  });
  const int bound =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return -1;
  if (socket->load() < 0 || ::listen(socket->load(), backlog) != 0) return -1;
  return bound;
}

std::thread StartListenThread(httplib::Server& server) {
  auto returned = std::make_shared<std::atomic<bool>>(false);
  std::thread loop([&server, returned] {
    server.listen_after_bind();
    *returned = true;
  });
  while (!server.is_running() && !*returned) absl::SleepFor(absl::Milliseconds(1));
  return loop;
}

}  // namespace suite::http
