#include "lambda/http/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "connection.h"
#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"

namespace lambda::http {

struct ListenHandle {
  explicit ListenHandle(uv_loop_t* loop)
      : tcp([loop](uv_tcp_t* t) { return uv_tcp_init(loop, t); }) {}
  uv::UvHandle<uv_tcp_t> tcp;
};

Server::Server(uv_loop_t* loop, ServerLimits limits, Handler handler, HeadCheck head_check,
               ErrorBody error_body)
    : loop_(loop),
      limits_(limits),
      handler_(std::move(handler)),
      head_check_(std::move(head_check)),
      error_body_(std::move(error_body)) {}

Server::~Server() {
  listener_.reset();
  auto conns = connections_;
  for (const auto& c : conns) c->Close();
}

namespace {

/// A socket bound with SO_REUSEPORT. libuv gained UV_TCP_REUSEPORT only in 1.49 (Debian 12 has
/// 1.44), so the socket is made here and handed to the handle with uv_tcp_open.
Result<int> ReusePortSocket(const sockaddr_in& addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{Code::kUnavailable, std::string("socket: ") + std::strerror(errno)};
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    std::string why = std::strerror(errno);
    close(fd);
    return Error{Code::kUnavailable, "bind (SO_REUSEPORT): " + why};
  }
  return fd;
}

}  // namespace

Status Server::Listen(const std::string& host, int port, bool reuse_port) {
  listener_ = std::make_unique<ListenHandle>(loop_);
  listener_->tcp.get()->data = this;
  sockaddr_in addr{};
  if (int rc = uv_ip4_addr(host.c_str(), port, &addr); rc != 0) {
    return Error{Code::kInvalidArgument, std::string("listen address: ") + uv_strerror(rc)};
  }
  if (reuse_port) {
    auto fd = ReusePortSocket(addr);
    if (!fd) return fd.error();
    if (int rc = uv_tcp_open(listener_->tcp.get(), *fd); rc != 0) {
      close(*fd);
      return Error{Code::kUnavailable, std::string("uv_tcp_open: ") + uv_strerror(rc)};
    }
  } else if (int rc =
                 uv_tcp_bind(listener_->tcp.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
             rc != 0) {
    return Error{Code::kUnavailable, std::string("bind: ") + uv_strerror(rc)};
  }
  if (int rc = uv_listen(listener_->tcp.stream(), 1024, &OnConnection); rc != 0) {
    return Error{Code::kUnavailable, std::string("listen: ") + uv_strerror(rc)};
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_->tcp.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return OkStatus();
}

void Server::StopAccepting() {
  draining_ = true;
  listener_.reset();
  auto conns = connections_;
  for (const auto& c : conns) c->CloseIfIdle();
}

void Server::OnConnection(uv_stream_t* s, int status) noexcept {
  auto* self = static_cast<Server*>(s->data);
  if (self == nullptr || status < 0) return;
  try {
    auto conn = std::make_shared<Connection>(self, self->loop_);
    if (uv_accept(s, conn->stream()) != 0) return;
    if (self->connections_.size() >= self->limits_.max_connections) {
      log::Warn("connection limit reached; refusing a client",
                {{"limit", static_cast<unsigned long>(self->limits_.max_connections)}});
      return;  // conn's destructor closes the accepted socket
    }
    self->connections_.insert(conn);
    conn->Begin();
  } catch (const std::exception& e) {
    log::Error("accept failed", {{"error", e.what()}});
  }
}

}  // namespace lambda::http
