#include "providers/openstack/http_client.h"

#include <algorithm>
#include <cctype>

namespace lambda::worker::openstack {

struct HttpClient::Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  HttpReply reply;
  Done done;
  char error[CURL_ERROR_SIZE] = {};
  ~Transfer() {
    if (headers != nullptr) curl_slist_free_all(headers);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

/// One socket curl asked us to watch.
struct HttpClient::Socket {
  Socket(HttpClient* c, uv_loop_t* loop, curl_socket_t s)
      : client(c),
        fd(s),
        poll([loop, s](uv_poll_t* p) { return uv_poll_init_socket(loop, p, s); }) {
    poll.get()->data = this;
  }
  HttpClient* client;
  curl_socket_t fd;
  uv::UvHandle<uv_poll_t> poll;
};

namespace {

size_t OnBody(char* data, size_t size, size_t n, void* userp) noexcept {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* userp) noexcept {
  auto* headers = static_cast<std::map<std::string, std::string>*>(userp);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.pop_back();
  (*headers)[name] = value;
  return size * n;
}

}  // namespace

HttpClient::HttpClient(uv_loop_t* loop, long timeout_ms)
    : loop_(loop), timeout_ms_(timeout_ms), multi_(curl_multi_init()), timer_(loop) {
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

HttpClient::~HttpClient() {
  for (auto& [easy, t] : transfers_) curl_multi_remove_handle(multi_, easy);
  transfers_.clear();
  sockets_.clear();
  curl_multi_cleanup(multi_);
}

void HttpClient::Request(const std::string& method, const std::string& url,
                         const std::vector<std::string>& headers, const std::string& body,
                         Done done) {
  auto t = std::make_unique<Transfer>();
  t->easy = curl_easy_init();
  t->body = body;
  t->done = std::move(done);
  for (const auto& h : headers) t->headers = curl_slist_append(t->headers, h.c_str());
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (!t->body.empty() || method == "POST" || method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->reply.body);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t->reply.headers);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  transfers_.emplace(e, std::move(t));
  curl_multi_add_handle(multi_, e);
}

int HttpClient::OnSocket(CURL*, curl_socket_t s, int what, void* userp, void*) noexcept {
  auto* self = static_cast<HttpClient*>(userp);
  if (what == CURL_POLL_REMOVE) {
    self->sockets_.erase(s);
    return 0;
  }
  auto it = self->sockets_.find(s);
  if (it == self->sockets_.end())
    it = self->sockets_.emplace(s, std::make_unique<Socket>(self, self->loop_, s)).first;
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  uv_poll_start(it->second->poll.get(), events, &OnPoll);
  return 0;
}

int HttpClient::OnTimer(CURLM*, long timeout_ms, void* userp) noexcept {
  auto* self = static_cast<HttpClient*>(userp);
  if (timeout_ms < 0) {
    self->timer_.Stop();
    return 0;
  }
  // curl asks for 0 to mean "at once"; a zero timer runs on the next loop iteration, not from
  // inside this callback (curl forbids re-entering the multi handle here).
  self->timer_.Start(static_cast<uint64_t>(timeout_ms), 0,
                     [self] { self->Drive(CURL_SOCKET_TIMEOUT, 0); });
  return 0;
}

void HttpClient::OnPoll(uv_poll_t* h, int status, int events) noexcept {
  auto* sock = static_cast<Socket*>(h->data);
  if (sock == nullptr) return;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if ((events & UV_READABLE) != 0) flags |= CURL_CSELECT_IN;
  if ((events & UV_WRITABLE) != 0) flags |= CURL_CSELECT_OUT;
  sock->client->Drive(sock->fd, flags);
}

void HttpClient::Drive(curl_socket_t s, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, s, events, &running);
  Collect();
}

void HttpClient::Collect() {
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL* easy = m->easy_handle;
    CURLcode rc = m->data.result;
    curl_multi_remove_handle(multi_, easy);
    auto node = transfers_.extract(easy);
    if (node.empty()) continue;
    Transfer& t = *node.mapped();
    auto done = std::move(t.done);
    if (rc != CURLE_OK) {
      std::string why = t.error[0] != '\0' ? t.error : curl_easy_strerror(rc);
      done(Error{Code::kUnavailable, "http: " + why});
      continue;
    }
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.reply.status);
    done(std::move(t.reply));
  }
}

}  // namespace lambda::worker::openstack
