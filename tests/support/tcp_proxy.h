#pragma once
// A loopback TCP proxy that can black-hole its traffic: connections stay open (new ones are
// still accepted) but nothing is forwarded either way, as with a broker behind a dead link or a
// firewall that drops packets. Its receive buffers are small, so a sender fills them quickly.
#include <atomic>
#include <mutex>
#include <thread>

namespace lambda::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  /// On: stop forwarding (bytes pile up in the kernel until senders block). Off: forward again.
  void BlackHole(bool on);
  /// Connections accepted so far.
  int accepted() const { return accepted_; }

 private:
  void Run();
  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<bool> holding_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace lambda::testing
