#pragma once
/// Asynchronous HTTP for the openstack provider: libcurl's multi interface driven by the libuv
/// loop (its sockets watched with uv_poll, its timeout a uv_timer), so no request blocks the
/// loop. Thread: loop only. Requests still in flight when the client is destroyed are cancelled
/// and their callbacks dropped.
#include <curl/curl.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lambda/result.h"
#include "lambda/uv/handle.h"

namespace lambda::worker::openstack {

struct HttpReply {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lowercase names
};

class HttpClient {
 public:
  using Done = std::function<void(Result<HttpReply>)>;
  HttpClient(uv_loop_t* loop, long timeout_ms);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// A transport failure (refused, timed out) is an Error; any HTTP status is a reply.
  void Request(const std::string& method, const std::string& url,
               const std::vector<std::string>& headers, const std::string& body, Done done);

 private:
  struct Transfer;
  struct Socket;
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp) noexcept;
  static int OnTimer(CURLM* multi, long timeout_ms, void* userp) noexcept;
  static void OnPoll(uv_poll_t* h, int status, int events) noexcept;
  void Drive(curl_socket_t s, int events);
  void Collect();

  uv_loop_t* loop_;
  long timeout_ms_;
  CURLM* multi_;
  uv::Timer timer_;
  std::map<CURL*, std::unique_ptr<Transfer>> transfers_;
  std::map<curl_socket_t, std::unique_ptr<Socket>> sockets_;
};

}  // namespace lambda::worker::openstack
