#pragma once
// A blocking Server-Sent Events client for the tests: one TCP connection, a GET with headers,
// then events read one at a time with a bounded wait.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lambda::testing {

class SseClient {
 public:
  struct Event {
    std::string id;
    std::string event;
    std::string data;
  };
  /// Connects and sends the request; `rcvbuf` > 0 shrinks the socket's receive buffer first.
  SseClient(int port, const std::string& path, const std::vector<std::string>& headers,
            int rcvbuf = 0);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  /// Waits for the response head; the status code, or 0 on timeout or close.
  int ReadHead(std::chrono::milliseconds timeout);
  const std::string& head() const { return head_; }
  /// The next event, or nullopt at the timeout or when the server closed the stream.
  std::optional<Event> Next(std::chrono::milliseconds timeout);
  int comments() const { return comments_; }  ///< comment lines (heartbeats) seen so far
  /// True once the server has closed the connection (waits up to `timeout` for it).
  bool Closed(std::chrono::milliseconds timeout);
  /// The body of a non-streamed answer (after ReadHead), up to `timeout`.
  std::string Rest(std::chrono::milliseconds timeout);
  int fd() const { return fd_; }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buf_;
  std::string head_;
  bool eof_ = false;
  int comments_ = 0;
};

}  // namespace lambda::testing
