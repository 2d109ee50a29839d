#include "lambda/http/server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "lambda/log/log.h"
#include "lambda/util/util.h"
#include "lambda/uv/handle.h"

namespace lambda::http {

struct ListenHandle {
  explicit ListenHandle(uv_loop_t* loop)
      : tcp([loop](uv_tcp_t* t) { return uv_tcp_init(loop, t); }) {}
  uv::UvHandle<uv_tcp_t> tcp;
};

namespace {

/// What a pipelining client may buffer beyond one body before reading pauses.
constexpr size_t kPipelineSlack = size_t{64} * 1024;

struct WriteReq {
  uv_write_t req{};
  std::string data;
  std::weak_ptr<Connection> conn;
  bool close_after = false;
};

}  // namespace

/// One client connection. Owned by the server's set until closed; requests in flight hold only
/// a weak_ptr, so a client that leaves never receives a late answer on a dead socket.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server* server, uv_loop_t* loop)
      : server_(server),
        tcp_([loop](uv_tcp_t* t) { return uv_tcp_init(loop, t); }),
        timer_(loop),
        stall_timer_(loop),
        parser_(server->limits_.parser) {
    tcp_.get()->data = this;
  }

  uv_stream_t* stream() { return tcp_.stream(); }

  void Begin() {
    uv_tcp_nodelay(tcp_.get(), 1);
    sockaddr_storage addr{};
    int len = sizeof addr;
    if (uv_tcp_getpeername(tcp_.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      if (addr.ss_family == AF_INET6) {
        uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), text, sizeof text);
      } else {
        uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), text, sizeof text);
      }
      peer_ = text;
    }
    uv_read_start(stream(), &OnAlloc, &OnRead);
    ArmTimer();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    if (auto end = std::move(stream_end_)) {
      stream_end_ = nullptr;
      end();
    }
    timer_.Stop();
    stall_timer_.Stop();
    uv_read_stop(stream());
    if (busy_) --server_->in_flight_;
    busy_ = false;
    if (auto gone = std::move(gone_); gone) {
      gone_ = nullptr;
      gone();
    }
    auto self = shared_from_this();
    server_->connections_.erase(self);  // the handle closes when the last reference goes
  }

  // The streamed answer's side (see StreamBody).
  bool StreamSend(std::string_view bytes) {
    if (closed_ || closed_for_error_) return false;
    if (uv_stream_get_write_queue_size(stream()) > server_->limits_.max_stream_backlog_bytes) {
      log::Warn("slow stream reader cut off",
                {{"backlog_bytes",
                  static_cast<unsigned long>(uv_stream_get_write_queue_size(stream()))}});
      Close();
      return false;
    }
    Write(std::string(bytes), false);
    return !closed_;
  }
  void StreamEnd() {
    if (closed_ || closed_for_error_) return;
    closed_for_error_ = true;
    // An empty write whose completion closes: everything queued before it goes out first.
    Write(std::string(), true);
  }
  bool stream_open() const { return !closed_ && !closed_for_error_; }
  void StreamOnEnd(std::function<void()> cb) {
    if (closed_) return cb();
    stream_end_ = std::move(cb);
  }

  /// Called by the server when draining: close now if nothing is in flight.
  void CloseIfIdle() {
    if (!busy_) Close();
  }

 private:
  static void OnAlloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) noexcept {
    auto* self = static_cast<Connection*>(h->data);
    buf->base = self->readbuf_;
    buf->len = sizeof self->readbuf_;
  }

  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
    auto* raw = static_cast<Connection*>(s->data);
    if (raw == nullptr) return;
    auto self = raw->shared_from_this();  // keeps us alive through Close() below
    try {
      if (nread < 0) {
        self->Close();
        return;
      }
      if (nread == 0) return;
      if (self->streaming_) return;  // a stream's client has nothing more to say; EOF ends it
      self->inbuf_.append(buf->base, static_cast<size_t>(nread));
      // Bound what a pipelining client may queue while one request is in flight.
      if (self->inbuf_.size() - self->inbuf_off_ >
          self->server_->limits_.parser.max_body_bytes + kPipelineSlack) {
        uv_read_stop(self->stream());
        self->reading_paused_ = true;
      }
      self->Pump();
    } catch (const std::exception& e) {
      log::Error("http connection error", {{"error", e.what()}});
      self->Close();
    }
  }

  void Pump() {
    while (!closed_ && !busy_ && inbuf_off_ < inbuf_.size()) {
      if (Unsent() > server_->limits_.max_unsent_bytes) {
        PauseForOutput();
        break;
      }
      size_t consumed = 0;
      auto st = parser_.Feed(inbuf_.data() + inbuf_off_, inbuf_.size() - inbuf_off_, &consumed);
      inbuf_off_ += consumed;
      if (st == RequestParser::State::kError) {
        Response r;
        r.status = parser_.error_status();
        r.body = ErrorBodyFor(r.status, parser_.error_text());
        closed_for_error_ = true;
        timer_.Stop();
        uv_read_stop(stream());
        Write(Serialize(r, false), true);
        return;
      }
      if (st == RequestParser::State::kNeedMore) break;
      if (st == RequestParser::State::kAwaitingContinue) {
        AwaitContinue();
        break;
      }
      Dispatch(parser_.Take());
    }
    if (inbuf_off_ == inbuf_.size()) {
      inbuf_.clear();
      inbuf_off_ = 0;
    } else if (inbuf_off_ > kPipelineSlack) {
      inbuf_.erase(0, inbuf_off_);
      inbuf_off_ = 0;
    }
    if (reading_paused_ && !closed_ && inbuf_.size() - inbuf_off_ < kPipelineSlack) {
      reading_paused_ = false;
      if (!output_paused_ && !closed_for_error_) uv_read_start(stream(), &OnAlloc, &OnRead);
    }
    ArmTimer();
  }

  /// Bytes answered but not yet taken by the kernel (the client has not read them).
  size_t Unsent() const { return uv_stream_get_write_queue_size(tcp_.stream()); }

  /// The client leaves its answers unread: read, parse and answer nothing more until it has
  /// taken enough of them (OnWrite resumes), and cut it off if it takes nothing for a while.
  void PauseForOutput() {
    if (output_paused_) return;
    output_paused_ = true;
    uv_read_stop(stream());
    timer_.Stop();  // buffered requests are ours to hold back: no 408, no idle close
    request_timer_armed_ = false;
    WatchOutput();
  }

  void ResumeIfDrained() {
    if (!output_paused_ || closed_ || Unsent() > server_->limits_.max_unsent_bytes / 2) return;
    output_paused_ = false;
    stall_timer_.Stop();
    if (!reading_paused_ && !closed_for_error_) uv_read_start(stream(), &OnAlloc, &OnRead);
    Pump();
  }

  /// Cuts the client off when its unsent output has not shrunk for the send timeout: a paused
  /// connection, or one whose last answer (which closes it) the client never reads.
  void WatchOutput() {
    if (stall_timer_.active()) return;
    stall_mark_ = Unsent();
    const uint64_t t = server_->limits_.send_timeout_ms;
    stall_timer_.Start(t, t, [this] {
      const size_t now = Unsent();
      if (now == 0 && !output_paused_) {
        stall_timer_.Stop();
        return;
      }
      if (now < stall_mark_) {
        stall_mark_ = now;
        return;
      }
      log::Warn("client not reading its answers cut off",
                {{"unsent_bytes", static_cast<unsigned long>(now)}});
      Close();
    });
  }

  /// The body of an error this server answers itself, in the shape of the API of its path.
  std::string ErrorBodyFor(int status, std::string_view text) const {
    std::string_view path = parser_.head().path;
    if (path.empty()) {
      path = parser_.head().target;
      path = path.substr(0, path.find('?'));
    }
    if (server_->error_body_) return server_->error_body_(path, status, text);
    return R"({"errors":[{"status":)" + std::to_string(status) + R"(,"detail":")" +
           util::JsonEscape(text) + "\"}]}";
  }

  /// `Expect: 100-continue`: the server's head check decides whether the body is wanted; until
  /// it answers, the connection reads nothing more (busy, so no request timeout either).
  void AwaitContinue() {
    busy_ = true;
    ++server_->in_flight_;
    uint64_t serial = ++serial_;
    std::weak_ptr<Connection> weak = weak_from_this();
    auto decide = [weak, serial](std::optional<Response> final_answer) {
      auto self = weak.lock();
      if (!self || self->closed_ || self->serial_ != serial || !self->busy_) return;
      self->busy_ = false;
      --self->server_->in_flight_;
      if (final_answer) {
        // The body will not be read: answer and close (the client may already be sending it).
        self->Write(Serialize(*final_answer, false), true);
        self->closed_for_error_ = true;
        uv_read_stop(self->stream());
        self->timer_.Stop();
        return;
      }
      self->Write("HTTP/1.1 100 Continue\r\n\r\n", false);
      self->parser_.Continue();
      self->Pump();
    };
    if (server_->head_check_) {
      server_->head_check_(parser_.head(), std::move(decide));
    } else {
      decide(std::nullopt);
    }
  }

  void Dispatch(Request req) {
    busy_ = true;
    ++server_->in_flight_;
    keep_alive_ = req.keep_alive;
    http10_ = req.http10;
    head_request_ = req.method == "HEAD";
    req.peer = peer_;
    uint64_t serial = ++serial_;
    std::weak_ptr<Connection> weak = weak_from_this();
    Responder respond = [weak, serial](const Response& r) {
      auto self = weak.lock();
      if (!self || self->closed_ || self->serial_ != serial || !self->busy_) return;
      self->Finish(r);
    };
    req.on_client_gone = [weak, serial](std::function<void()> cb) {
      auto self = weak.lock();
      if (!self || self->closed_ || self->serial_ != serial || !self->busy_) return cb();
      self->gone_ = std::move(cb);
    };
    server_->handler_(std::move(req), std::move(respond));
  }

  void Finish(const Response& r) {
    busy_ = false;
    gone_ = nullptr;
    --server_->in_flight_;
    if (r.on_stream) return BeginStream(r);
    bool keep = keep_alive_ && !r.close && !server_->draining_;
    Write(Serialize(r, keep, !head_request_, http10_), !keep);
    if (!keep) {
      closed_for_error_ = true;
      uv_read_stop(stream());
      timer_.Stop();
      return;
    }
    Pump();
  }

  /// The connection now belongs to a streamed answer: no more requests are read from it, no
  /// timers run, and it closes when either side ends it.
  void BeginStream(const Response& r) {
    streaming_ = true;
    timer_.Stop();
    // A bounded kernel buffer, so that a reader that stops reading shows up in our own backlog
    // (and is cut off) instead of in megabytes of autotuned socket memory.
    int sndbuf = static_cast<int>(
        std::min<size_t>(server_->limits_.max_stream_backlog_bytes, size_t{64} * 1024));
    uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(tcp_.get()), &sndbuf);
    inbuf_.clear();
    inbuf_off_ = 0;
    Write(SerializeStreamHead(r), head_request_);
    if (head_request_ || server_->draining_) {
      closed_for_error_ = true;
      return;
    }
    r.on_stream(std::make_shared<StreamBody>(weak_from_this()));
  }

  class StreamBody final : public Stream {
   public:
    explicit StreamBody(std::weak_ptr<Connection> conn) : conn_(std::move(conn)) {}
    bool Send(std::string_view bytes) override {
      auto c = conn_.lock();
      return c && c->StreamSend(bytes);
    }
    void End() override {
      if (auto c = conn_.lock()) c->StreamEnd();
    }
    bool open() const override {
      auto c = conn_.lock();
      return c && c->stream_open();
    }
    void OnEnd(std::function<void()> cb) override {
      auto c = conn_.lock();
      if (!c) return cb();
      c->StreamOnEnd(std::move(cb));
    }

   private:
    std::weak_ptr<Connection> conn_;
  };

  void Write(std::string bytes, bool close_after) {
    // Most answers fit the socket buffer at once: uv_try_write sends them with no write request,
    // whose completion makes libuv (1.44) re-register the fd with epoll though nothing changed
    // (one epoll_ctl per answer). What it cannot send, or a closing write, queues as before (an
    // error is then reported through OnWrite, as before).
    if (!close_after && !bytes.empty()) {
      uv_buf_t whole = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
      const int sent = uv_try_write(stream(), &whole, 1);
      if (sent == static_cast<int>(bytes.size())) return;
      if (sent > 0) bytes.erase(0, static_cast<size_t>(sent));
    }
    auto w = std::make_unique<WriteReq>();
    w->data = std::move(bytes);
    w->conn = weak_from_this();
    w->close_after = close_after;
    uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    WriteReq* raw = w.release();
    raw->req.data = raw;
    if (int rc = uv_write(&raw->req, stream(), &buf, 1, &OnWrite); rc != 0) {
      std::unique_ptr<WriteReq> reclaim(raw);
      Close();
      return;
    }
    if (close_after) WatchOutput();
  }

  static void OnWrite(uv_write_t* req, int status) noexcept {
    std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
    auto self = w->conn.lock();
    if (!self) return;
    try {
      if (status < 0 || w->close_after) return self->Close();
      self->ResumeIfDrained();
    } catch (const std::exception& e) {
      log::Error("http connection error", {{"error", e.what()}});
      self->Close();
    }
  }

  void ArmTimer() {
    if (closed_ || closed_for_error_ || streaming_) return;
    if (busy_ || output_paused_) {
      // The handler owns the clock now (its own deadlines answer 503), or the stall watch does.
      timer_.Stop();
      return;
    }
    if (parser_.in_request() || inbuf_off_ < inbuf_.size()) {
      if (!request_timer_armed_) {
        request_timer_armed_ = true;
        timer_.Start(server_->limits_.request_timeout_ms, 0, [this] {
          Response r;
          r.status = 408;
          r.body = ErrorBodyFor(408, "request timed out");
          closed_for_error_ = true;
          uv_read_stop(stream());
          Write(Serialize(r, false), true);
        });
      }
      return;
    }
    request_timer_armed_ = false;
    timer_.Start(server_->limits_.idle_timeout_ms, 0, [this] { Close(); });
  }

  Server* server_;
  uv::UvHandle<uv_tcp_t> tcp_;
  uv::Timer timer_;
  uv::Timer stall_timer_;  ///< cuts off a client that leaves its answers unread
  RequestParser parser_;
  std::string inbuf_;
  std::string peer_;  ///< the client's address, for Request::peer
  size_t inbuf_off_ = 0;
  char readbuf_[16 * 1024];
  uint64_t serial_ = 0;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool output_paused_ = false;  ///< too much unsent output: reading and parsing stopped
  size_t stall_mark_ = 0;       ///< unsent bytes when the stall watch last looked
  bool head_request_ = false;
  bool closed_ = false;
  bool closed_for_error_ = false;
  bool reading_paused_ = false;
  bool request_timer_armed_ = false;
  bool streaming_ = false;
  std::function<void()> stream_end_;
  std::function<void()> gone_;  ///< the in-flight request's "client left" callback
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
