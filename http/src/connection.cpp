#include "connection.h"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "lambda/log/log.h"
#include "lambda/util/util.h"

namespace lambda::http {

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

Connection::Connection(Server* server, uv_loop_t* loop)
    : server_(server),
      tcp_([loop](uv_tcp_t* t) { return uv_tcp_init(loop, t); }),
      timer_(loop),
      stall_timer_(loop),
      parser_(server->limits_.parser) {
  tcp_.get()->data = this;
}

void Connection::Begin() {
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

void Connection::Close() {
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

bool Connection::StreamSend(std::string_view bytes) {
  if (closed_ || closed_for_error_) return false;
  if (uv_stream_get_write_queue_size(stream()) > server_->limits_.max_stream_backlog_bytes) {
    log::Warn(
        "slow stream reader cut off",
        {{"backlog_bytes", static_cast<unsigned long>(uv_stream_get_write_queue_size(stream()))}});
    Close();
    return false;
  }
  Write(std::string(bytes), false);
  return !closed_;
}

void Connection::StreamEnd() {
  if (closed_ || closed_for_error_) return;
  closed_for_error_ = true;
  // An empty write whose completion closes: everything queued before it goes out first.
  Write(std::string(), true);
}

void Connection::StreamOnEnd(std::function<void()> cb) {
  if (closed_) return cb();
  stream_end_ = std::move(cb);
}

void Connection::CloseIfIdle() {
  if (!busy_) Close();
}

void Connection::OnAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
  auto* self = static_cast<Connection*>(h->data);
  buf->base = self->readbuf_;
  buf->len = sizeof self->readbuf_;
}

void Connection::OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
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

void Connection::Pump() {
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

void Connection::PauseForOutput() {
  if (output_paused_) return;
  output_paused_ = true;
  uv_read_stop(stream());
  timer_.Stop();  // buffered requests are ours to hold back: no 408, no idle close
  request_timer_armed_ = false;
  WatchOutput();
}

void Connection::ResumeIfDrained() {
  if (!output_paused_ || closed_ || Unsent() > server_->limits_.max_unsent_bytes / 2) return;
  output_paused_ = false;
  stall_timer_.Stop();
  if (!reading_paused_ && !closed_for_error_) uv_read_start(stream(), &OnAlloc, &OnRead);
  Pump();
}

void Connection::WatchOutput() {
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

std::string Connection::ErrorBodyFor(int status, std::string_view text) const {
  std::string_view path = parser_.head().path;
  if (path.empty()) {
    path = parser_.head().target;
    path = path.substr(0, path.find('?'));
  }
  if (server_->error_body_) return server_->error_body_(path, status, text);
  return R"({"errors":[{"status":)" + std::to_string(status) + R"(,"detail":")" +
         util::JsonEscape(text) + "\"}]}";
}

void Connection::AwaitContinue() {
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

void Connection::Dispatch(Request req) {
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

void Connection::Finish(const Response& r) {
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

void Connection::BeginStream(const Response& r) {
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

void Connection::Write(std::string bytes, bool close_after) {
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

void Connection::OnWrite(uv_write_t* req, int status) noexcept {
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

void Connection::ArmTimer() {
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

}  // namespace lambda::http
