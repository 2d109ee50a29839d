#pragma once
/// HTTP/1.1 server on a libuv loop: keep-alive, pipelining (answered in order, one request at a
/// time per connection), header/body limits, request and idle timeouts, bounded connections.
/// Thread: loop only.
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "lambda/http/message.h"
#include "lambda/http/parser.h"
#include "lambda/result.h"

namespace lambda::http {

struct ServerLimits {
  ParserLimits parser;
  uint64_t request_timeout_ms = 30000;  ///< first byte to complete request → 408
  uint64_t idle_timeout_ms = 75000;     ///< keep-alive connection with nothing to do → close
  size_t max_connections = 10000;
  /// A streamed answer's bytes the client has not read yet; past this it is cut off (closed)
  /// rather than buffered without limit.
  size_t max_stream_backlog_bytes = size_t{256} * 1024;
  /// Answers written but not yet taken by the client (libuv's write queue). Above this the
  /// connection is paused: nothing more is read, parsed or answered until the client has read
  /// enough for it to drop back to this; so a client that pipelines without reading costs at
  /// most this plus one answer.
  size_t max_unsent_bytes = size_t{256} * 1024;
  /// A paused connection whose unsent output has not shrunk for this long is cut off (closed).
  uint64_t send_timeout_ms = 30000;
};

/// The body of a streamed answer (`Response::on_stream`). Thread: loop only.
class Stream {
 public:
  virtual ~Stream() = default;
  /// Queues bytes for the client. False when the stream has ended, or ends now because the
  /// client left more than `max_stream_backlog_bytes` unread.
  virtual bool Send(std::string_view bytes) = 0;
  /// Ends the stream: the connection closes once what was sent is written.
  virtual void End() = 0;
  virtual bool open() const = 0;
  /// Runs once when the stream ends for any reason (client gone, cut off, End(), server closing);
  /// at once if it has ended already.
  virtual void OnEnd(std::function<void()> cb) = 0;
};

/// Answers one request. Call exactly once; harmless after the client has gone.
using Responder = std::function<void(Response)>;
using Handler = std::function<void(Request, Responder)>;
/// For `Expect: 100-continue`: given the head (no body yet), answers nullopt to have the body
/// sent (100 Continue) or the final response to send instead (401, 404, ...). Call exactly once.
using HeadCheck =
    std::function<void(const Request& head, std::function<void(std::optional<Response>)>)>;
/// The JSON body of an error the server answers by itself (400 malformed, 408, 413, 417, 431),
/// so that it takes the shape of the API the request was for. `path` is the request's path as
/// far as it was read (may be empty). Called on the loop thread; must not throw.
using ErrorBody =
    std::function<std::string(std::string_view path, int status, std::string_view text)>;

class Connection;

class Server {
 public:
  /// Without a head check every `Expect: 100-continue` is answered 100 Continue. Without
  /// `error_body`, errors are `{"errors":[{"status":S,"detail":TEXT}]}`.
  Server(uv_loop_t* loop, ServerLimits limits, Handler handler, HeadCheck head_check = {},
         ErrorBody error_body = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// `reuse_port`: SO_REUSEPORT, so several processes listen on one port and the kernel spreads
  /// new connections over them (one port for several shims on a host, no balancer).
  Status Listen(const std::string& host, int port, bool reuse_port = false);
  int port() const { return port_; }
  /// Stops accepting; open connections close once idle (after their in-flight answer).
  void StopAccepting();
  size_t connections() const { return connections_.size(); }
  size_t in_flight() const { return in_flight_; }

 private:
  friend class Connection;
  static void OnConnection(uv_stream_t* s, int status) noexcept;

  uv_loop_t* loop_;
  ServerLimits limits_;
  Handler handler_;
  HeadCheck head_check_;
  ErrorBody error_body_;
  std::unique_ptr<struct ListenHandle> listener_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
  size_t in_flight_ = 0;
  bool draining_ = false;
  int port_ = 0;
};

}  // namespace lambda::http
