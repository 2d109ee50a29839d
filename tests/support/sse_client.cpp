#include "sse_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "support.h"

namespace lambda::testing {

SseClient::SseClient(int port, const std::string& path, const std::vector<std::string>& headers,
                     int rcvbuf) {
  fd_ = ConnectLoopback(port, rcvbuf);
  if (fd_ < 0) return;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

SseClient::~SseClient() {
  if (fd_ >= 0) close(fd_);
}

bool SseClient::Fill(std::chrono::steady_clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(std::max<long>(left, 0))) <= 0) return false;
  char tmp[16384];
  ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buf_.append(tmp, static_cast<size_t>(n));
  return true;
}

int SseClient::ReadHead(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buf_.find("\r\n\r\n") == std::string::npos) {
    if (!Fill(deadline)) return 0;
  }
  auto end = buf_.find("\r\n\r\n");
  head_ = buf_.substr(0, end + 4);
  buf_.erase(0, end + 4);
  if (head_.size() < 12) return 0;
  return std::atoi(head_.c_str() + 9);
}

std::optional<SseClient::Event> SseClient::Next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto end = buf_.find("\n\n");
    while (end != std::string::npos) {
      std::string block = buf_.substr(0, end);
      buf_.erase(0, end + 2);
      Event e;
      bool any = false;
      size_t pos = 0;
      while (pos <= block.size()) {
        auto nl = block.find('\n', pos);
        std::string line =
            block.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? block.size() + 1 : nl + 1;
        if (line.empty()) continue;
        if (line[0] == ':') {
          ++comments_;
          continue;
        }
        auto colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "id") e.id = value, any = true;
        if (field == "event") e.event = value, any = true;
        if (field == "data") e.data += value, any = true;
      }
      if (any) return e;
      end = buf_.find("\n\n");
    }
    if (!Fill(deadline)) return std::nullopt;
  }
}

bool SseClient::Closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!eof_ && std::chrono::steady_clock::now() < deadline) {
    Fill(deadline);
    buf_.clear();
  }
  return eof_;
}

std::string SseClient::Rest(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Fill(deadline)) {
  }
  return buf_;
}

}  // namespace lambda::testing
