#pragma once
/// HTTP request and response values; no I/O.
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

  /// First header with this (lowercase) name, or nullptr.
  const std::string* Header(std::string_view lower_name) const;
  /// Value of a query parameter (decoded), or nullptr when absent.
  bool QueryParam(std::string_view name, std::string* value) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  ///< close the connection after this response
};

std::string_view ReasonPhrase(int status);
/// The bytes on the wire. `keep_alive` false adds "Connection: close"; `with_body` false (HEAD)
/// keeps the Content-Length of the body but leaves the body out.
std::string Serialize(const Response& r, bool keep_alive, bool with_body = true);

}  // namespace lambda::http
