#include "tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

#include "support.h"

namespace lambda::testing {
namespace {

constexpr int kSmallBuffer = 4096;

/// Forwards what `from` has; false when it closed or failed.
bool Forward(int from, int to) {
  char buf[65536];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, static_cast<size_t>(n - off));
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

TcpProxy::TcpProxy(int target_port) : target_port_(target_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int small = kSmallBuffer;  // inherited by accepted sockets
  setsockopt(listen_fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 || pipe(wake_) != 0) {
    throw std::runtime_error("tcp proxy: cannot listen");
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { Run(); });
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  static_cast<void>(write(wake_[1], "x", 1));
  thread_.join();
  close(listen_fd_);
  close(wake_[0]);
  close(wake_[1]);
}

void TcpProxy::BlackHole(bool on) {
  holding_ = on;
  static_cast<void>(write(wake_[1], "x", 1));
}

void TcpProxy::Run() {
  struct Pair {
    int client, upstream;
  };
  std::vector<Pair> pairs;
  while (!stop_) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    bool forwarding = !holding_;
    if (forwarding) {
      for (const auto& p : pairs) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.upstream, POLLIN, 0});
      }
    }
    if (poll(fds.data(), fds.size(), 1000) <= 0) continue;
    if ((fds[0].revents & POLLIN) != 0) {
      char drain[64];
      static_cast<void>(read(wake_[0], drain, sizeof drain));
    }
    if ((fds[1].revents & POLLIN) != 0) {
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        ++accepted_;
        int upstream = ConnectLoopback(target_port_, kSmallBuffer);
        if (upstream < 0) {
          close(client);
        } else {
          pairs.push_back({client, upstream});
        }
      }
    }
    if (!forwarding) continue;
    std::vector<Pair> alive;
    const size_t polled = (fds.size() - 2) / 2;
    for (size_t i = 0; i < polled; ++i) {
      const auto& c = fds[2 + 2 * i];
      const auto& u = fds[3 + 2 * i];
      bool ok = true;
      if ((c.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
        ok = Forward(pairs[i].client, pairs[i].upstream);
      if (ok && (u.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
        ok = Forward(pairs[i].upstream, pairs[i].client);
      if (ok) {
        alive.push_back(pairs[i]);
      } else {
        close(pairs[i].client);
        close(pairs[i].upstream);
      }
    }
    // Pairs accepted in this round were not polled yet; keep them.
    for (size_t i = polled; i < pairs.size(); ++i) alive.push_back(pairs[i]);
    pairs = std::move(alive);
  }
  for (const auto& p : pairs) {
    close(p.client);
    close(p.upstream);
  }
}

}  // namespace lambda::testing
