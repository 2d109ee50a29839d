#pragma once
/// Incremental HTTP/1.1 request parser over http_parser. No I/O: feed bytes, take requests.
/// It pauses after each complete request so pipelined requests are answered in order.
#include <http_parser.h>

#include <cstddef>
#include <string>

#include "lambda/http/message.h"

namespace lambda::http {

struct ParserLimits {
  size_t max_header_bytes = size_t{8} * 1024;
  size_t max_body_bytes = size_t{1024} * 1024;
};

class RequestParser {
 public:
  /// kAwaitingContinue: the head of a request with `Expect: 100-continue` is in; head() shows
  /// it, and nothing more is parsed until Continue() (then feed on) or the connection closes.
  enum class State { kNeedMore, kComplete, kError, kAwaitingContinue };

  explicit RequestParser(ParserLimits limits = {});
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  /// Consumes up to `len` bytes; `*consumed` tells how many. On kComplete call Take() and feed
  /// the rest; on kError the connection answers error_status() and closes.
  State Feed(const char* data, size_t len, size_t* consumed);
  Request Take();
  /// The request being read (method, path, headers; no body yet): for kAwaitingContinue.
  const Request& head() const { return current_; }
  void Continue();
  int error_status() const { return error_status_; }
  const std::string& error_text() const { return error_text_; }
  /// True once any byte of the next request has been seen (for the request timeout).
  bool in_request() const { return in_request_; }

 private:
  static int OnMessageBegin(http_parser* p) noexcept;
  static int OnUrl(http_parser* p, const char* at, size_t len) noexcept;
  static int OnHeaderField(http_parser* p, const char* at, size_t len) noexcept;
  static int OnHeaderValue(http_parser* p, const char* at, size_t len) noexcept;
  static int OnHeadersComplete(http_parser* p) noexcept;
  static int OnBody(http_parser* p, const char* at, size_t len) noexcept;
  static int OnMessageComplete(http_parser* p) noexcept;
  int Fail(int status, std::string text);

  ParserLimits limits_;
  http_parser parser_{};
  http_parser_settings settings_{};
  Request current_;
  std::string field_;
  bool last_was_value_ = false;
  size_t header_bytes_ = 0;
  bool complete_ = false;
  bool in_request_ = false;
  bool awaiting_continue_ = false;
  int error_status_ = 0;
  std::string error_text_;
};

}  // namespace lambda::http
