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

#include <string>
#include <thread>

namespace httplib {
class Server;
}  // namespace httplib

namespace suite::http {

// The listen backlog of the suite's HTTP doors: cpp-httplib 0.11 hard-codes listen(fd, 5),
// so a burst of more than five connections between two accepts (Stripe retries, a load
// balancer's health checks) had its SYNs dropped and waited for the client's 1 s retransmit.
// The kernel caps it at net.core.somaxconn.
inline constexpr int kListenBacklog = 4096;

// BindWithBacklog binds `server` to host:port (port 0: any free port) like httplib's
// bind_to_port / bind_to_any_port, then raises the socket's listen backlog to `backlog`
// (listen() again on a listening socket only changes its backlog). Returns the bound port, or
// -1 when binding or listening failed (a port already taken included: SO_REUSEADDR only, never
// SO_REUSEPORT). Call before StartListenThread. It installs its own socket options callback.
int BindWithBacklog(httplib::Server& server, const std::string& host, int port,
                    int backlog = kListenBacklog);

// StartListenThread runs server.listen_after_bind() on a new thread and returns it once the
// loop runs, or has already ended (e.g. the server was never bound), so that a stop() from then
// on ends it. `server` must outlive the thread.
std::thread StartListenThread(httplib::Server& server);

}  // namespace suite::http

#endif  // SUITE_SHARED_HTTP_LISTEN_THREAD_H_
