// Starting a cpp-httplib server's listen loop on its own thread, for the suite's HTTP doors
// (billing's webhooks, the /metrics endpoint).
//
//   if (!server.bind_to_port(host, port)) { ... }
//   std::thread loop = suite::http::StartListenThread(server);
//   ...
//   server.stop();
//   loop.join();
//
// Why not just `std::thread([&] { server.listen_after_bind(); })`: httplib's stop() does nothing
// until the loop has begun, so a stop() that beats the new thread leaves the loop running and
// the join waiting forever (a test's TearDown hung so in CI).
#ifndef SUITE_SHARED_HTTP_LISTEN_THREAD_H_
#define SUITE_SHARED_HTTP_LISTEN_THREAD_H_

#include <thread>

namespace httplib {
class Server;
}  // namespace httplib

namespace suite::http {

// StartListenThread runs server.listen_after_bind() on a new thread and returns it once the
// loop runs, or has already ended (e.g. the server was never bound), so that a stop() from then
// on ends it. `server` must outlive the thread.
std::thread StartListenThread(httplib::Server& server);

}  // namespace suite::http

#endif  // SUITE_SHARED_HTTP_LISTEN_THREAD_H_
