#include "lambda/http/message.h"

#include "lambda/util/util.h"

namespace lambda::http {

const std::string* Request::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return &v;
  }
  return nullptr;
}

bool Request::QueryParam(std::string_view name, std::string* value) const {
  auto all = QueryParams(name);
  if (all.empty()) return false;
  *value = std::move(all.front());
  return true;
}

std::vector<std::string> Request::QueryParams(std::string_view name) const {
  std::vector<std::string> out;
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    auto eq = pair.find('=');
    if (util::UrlDecode(pair.substr(0, eq)) == name) {
      out.push_back(eq == std::string_view::npos ? "" : util::UrlDecode(pair.substr(eq + 1)));
    }
  }
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string Serialize(const Response& r, bool keep_alive, bool with_body,
                      bool announce_keep_alive) {
  std::string out;
  out.reserve(128 + r.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  out += ReasonPhrase(r.status);
  out += "\r\n";
  if (r.status != 204) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\nContent-Length: ";
    out += std::to_string(r.body.size());
    out += "\r\n";
  }
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!keep_alive || r.close) {
    out += "Connection: close\r\n";
  } else if (announce_keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (with_body && r.status != 204) out += r.body;
  return out;
}

std::string SerializeStreamHead(const Response& r) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + ' ' +
                    std::string(ReasonPhrase(r.status)) + "\r\nContent-Type: " + r.content_type +
                    "\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n";
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

}  // namespace lambda::http
