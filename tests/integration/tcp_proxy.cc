#include "tests/integration/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace suite::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

}  // namespace

TcpProxy::TcpProxy() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return;
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  if (listen_fd_ >= 0) shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    CutAll();
    pumps.swap(pumps_);
  }
  for (std::thread& t : pumps) t.join();
  absl::MutexLock lock(&mu_);
  for (int fd : open_fds_) close(fd);
}

std::string TcpProxy::address() const {
  return port_ == 0 ? "" : absl::StrCat("127.0.0.1:", port_);
}

void TcpProxy::SetTarget(int port) {
  absl::MutexLock lock(&mu_);
  target_ = port;
  CutAll();
}

void TcpProxy::CutAll() {
  // shutdown() wakes the pumps blocked in poll/read; they close nothing
  // themselves, the descriptors are closed in the destructor (no reuse races
  // while a pump still holds one).
  for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping_) return;
      continue;
    }
    absl::MutexLock lock(&mu_);
    if (target_ == kBlackHole) {
      open_fds_.push_back(client);  // held open, never read: the peer waits for an answer
      continue;
    }
    int backend = -1;
    if (target_ > 0) {
      backend = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr = Loopback(target_);
      if (backend >= 0 && connect(backend, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(backend);
        backend = -1;
      }
    }
    if (backend < 0) {
      close(client);  // as a port with nothing behind it
      continue;
    }
    open_fds_.push_back(client);
    open_fds_.push_back(backend);
    pumps_.emplace_back([this, client, backend] { Pump(client, backend); });
    pumps_.emplace_back([this, client, backend] { Pump(backend, client); });
  }
}

void TcpProxy::Pump(int from, int to) {
  char buf[16384];
  while (true) {
    pollfd p{from, POLLIN, 0};
    if (poll(&p, 1, 200) < 0) break;
    if (stopping_) break;
    if (p.revents == 0) continue;
    const ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0) break;
    ssize_t done = 0;
    while (done < n) {
      const ssize_t w = send(to, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) break;
      done += w;
    }
    if (done < n) break;
  }
  // One direction ended: end both, so the peer sees the connection go.
  shutdown(from, SHUT_RDWR);
  shutdown(to, SHUT_RDWR);
}

}  // namespace suite::testing
