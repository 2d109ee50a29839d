#pragma once
// The server's side of one client connection (private to http/): reading and parsing with
// backpressure, timeouts, pipelined answers in order, and streamed answers.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lambda/http/server.h"
#include "lambda/uv/handle.h"

namespace lambda::http {

/// One client connection. Owned by the server's set until closed; requests in flight hold only
/// a weak_ptr, so a client that leaves never receives a late answer on a dead socket.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server* server, uv_loop_t* loop);

  uv_stream_t* stream() { return tcp_.stream(); }

  void Begin();

  void Close();

  // The streamed answer's side (see StreamBody).
  bool StreamSend(std::string_view bytes);
  void StreamEnd();
  bool stream_open() const { return !closed_ && !closed_for_error_; }
  void StreamOnEnd(std::function<void()> cb);

  /// Called by the server when draining: close now if nothing is in flight.
  void CloseIfIdle();

 private:
  static void OnAlloc(uv_handle_t* h, size_t /*suggested*/, uv_buf_t* buf) noexcept;

  static void OnRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept;

  void Pump();

  /// Bytes answered but not yet taken by the kernel (the client has not read them).
  size_t Unsent() const { return uv_stream_get_write_queue_size(tcp_.stream()); }

  /// The client leaves its answers unread: read, parse and answer nothing more until it has
  /// taken enough of them (OnWrite resumes), and cut it off if it takes nothing for a while.
  void PauseForOutput();

  void ResumeIfDrained();

  /// Cuts the client off when its unsent output has not shrunk for the send timeout: a paused
  /// connection, or one whose last answer (which closes it) the client never reads.
  void WatchOutput();

  /// The body of an error this server answers itself, in the shape of the API of its path.
  std::string ErrorBodyFor(int status, std::string_view text) const;

  /// `Expect: 100-continue`: the server's head check decides whether the body is wanted; until
  /// it answers, the connection reads nothing more (busy, so no request timeout either).
  void AwaitContinue();

  void Dispatch(Request req);

  void Finish(const Response& r);

  /// The connection now belongs to a streamed answer: no more requests are read from it, no
  /// timers run, and it closes when either side ends it.
  void BeginStream(const Response& r);

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

  void Write(std::string bytes, bool close_after);

  static void OnWrite(uv_write_t* req, int status) noexcept;

  void ArmTimer();

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

}  // namespace lambda::http
