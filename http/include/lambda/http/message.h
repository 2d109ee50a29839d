#pragma once
/// HTTP request and response values; no I/O.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lambda::http {

struct Request {
  std::string method;
  std::string target;                                        ///< raw request target as sent
  std::string path;                                          ///< percent-decoded path, no query
  std::string query;                                         ///< raw query string, no '?'
  std::vector<std::pair<std::string, std::string>> headers;  ///< names lowercased
  std::string body;
  bool keep_alive = true;
  /// HTTP/1.0: keep-alive only when asked for, and then the answer must say so.
  bool http10 = false;
  /// Set by the server: the client's address ("127.0.0.1", "::1"), what the routes without a
  /// key are limited by (SPEC §3).
  std::string peer;
  /// Set by the server: `cb` runs once if the client leaves before this request is answered (at
  /// once if it has left already), so that a held request (a long poll) gives its slot back.
  std::function<void(std::function<void()>)> on_client_gone;

  /// First header with this (lowercase) name, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
  /// Value of a query parameter (decoded), or nullptr when absent.
  bool QueryParam(std::string_view name, std::string* value) const;
  /// Every value of a repeated query parameter (decoded), in order.
  std::vector<std::string> QueryParams(std::string_view name) const;
};

class Stream;  ///< server.h

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  ///< close the connection after this response
  /// Set for a streamed answer (Server-Sent Events): the head goes out without a length and
  /// `body` is ignored; then this runs with the stream the body is written to. The connection
  /// is the stream's until either side ends it.
  std::function<void(std::shared_ptr<Stream>)> on_stream;
};

std::string_view ReasonPhrase(int status);
/// The bytes on the wire. `keep_alive` false adds "Connection: close"; `with_body` false (HEAD)
/// keeps the Content-Length of the body but leaves the body out. `announce_keep_alive` adds
/// "Connection: keep-alive" to a kept connection (an HTTP/1.0 client closes without it).
std::string Serialize(const Response& r, bool keep_alive, bool with_body = true,
                      bool announce_keep_alive = false);
/// The head of a streamed answer: no Content-Length, not cached, the connection closes at its end.
std::string SerializeStreamHead(const Response& r);

}  // namespace lambda::http
