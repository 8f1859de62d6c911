// A loopback TCP forwarder for tests that stop and restart a server behind a
// fixed address: clients keep dialling the proxy's port while the test points
// it at a new backend, or at none (then every connection is closed at once, as
// a stopped server's port would refuse it).
//
//   TcpProxy proxy;                       // listens on 127.0.0.1:<ephemeral>
//   proxy.SetTarget(billing->grpc_port());
//   ... QuestionsTestServer with billing_addr = proxy.address() ...
//   proxy.SetTarget(0);                   // "billing is down": refuse and cut
//   every connection proxy.SetTarget(new_billing->grpc_port());
//   proxy.SetTarget(TcpProxy::kBlackHole); // accept, then never answer (a hung
//   server)
//
// Thread-safe. Testonly: one thread per direction of each connection, no
// limits.
#ifndef SUITE_TESTS_INTEGRATION_TCP_PROXY_H_
#define SUITE_TESTS_INTEGRATION_TCP_PROXY_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace suite::testing {

class TcpProxy {
 public:
  // A target that accepts connections and never sends a byte back.
  static constexpr int kBlackHole = -1;

  TcpProxy();
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // "127.0.0.1:<port>"; empty when the listening socket could not be made.
  std::string address() const;
  // SetTarget forwards new connections to 127.0.0.1:port and cuts the existing
  // ones (they belonged to the previous backend); 0 refuses every connection;
  // kBlackHole holds them.
  void SetTarget(int port);

 private:
  void AcceptLoop();
  void Pump(int from, int to);
  void CutAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  int target_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace suite::testing

#endif  // SUITE_TESTS_INTEGRATION_TCP_PROXY_H_
