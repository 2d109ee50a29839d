#include "lambda/http/parser.h"

#include "lambda/util/util.h"

namespace lambda::http {

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  settings_.on_message_begin = &OnMessageBegin;
  settings_.on_url = &OnUrl;
  settings_.on_header_field = &OnHeaderField;
  settings_.on_header_value = &OnHeaderValue;
  settings_.on_headers_complete = &OnHeadersComplete;
  settings_.on_body = &OnBody;
  settings_.on_message_complete = &OnMessageComplete;
}

int RequestParser::Fail(int status, std::string text) {
  error_status_ = status;
  error_text_ = std::move(text);
  return -1;
}

int RequestParser::OnMessageBegin(http_parser* p) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    self->current_ = Request{};
    self->field_.clear();
    self->last_was_value_ = false;
    self->header_bytes_ = 0;
    self->in_request_ = true;
    self->awaiting_continue_ = false;
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

int RequestParser::OnUrl(http_parser* p, const char* at, size_t len) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    self->header_bytes_ += len;
    if (self->header_bytes_ > self->limits_.max_header_bytes)
      return self->Fail(431, "request header too large");
    self->current_.target.append(at, len);
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

int RequestParser::OnHeaderField(http_parser* p, const char* at, size_t len) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    self->header_bytes_ += len;
    if (self->header_bytes_ > self->limits_.max_header_bytes)
      return self->Fail(431, "request header too large");
    // http_parser (non-strict) keeps a space or tab before the colon in the name; RFC 9112 §5.1
    // requires a 400, since proxies disagree on what such a field means (request smuggling).
    for (size_t i = 0; i < len; ++i) {
      if (at[i] == ' ' || at[i] == '\t')
        return self->Fail(400, "whitespace between a header field name and its colon");
    }
    if (self->last_was_value_ || self->current_.headers.empty()) {
      self->current_.headers.emplace_back();
      self->field_.clear();
    }
    self->field_.append(at, len);
    self->current_.headers.back().first = util::ToLower(self->field_);
    self->last_was_value_ = false;
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

int RequestParser::OnHeaderValue(http_parser* p, const char* at, size_t len) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    self->header_bytes_ += len;
    if (self->header_bytes_ > self->limits_.max_header_bytes)
      return self->Fail(431, "request header too large");
    self->current_.headers.back().second.append(at, len);
    self->last_was_value_ = true;
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

int RequestParser::OnHeadersComplete(http_parser* p) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    if (p->upgrade) {
      // RFC 9110 §7.8 lets a server ignore Upgrade. Java's HttpClient and curl --http2 offer h2c
      // on every request: clearing the flag has http_parser read the body and the next request
      // as HTTP/1.1 instead of handing the rest of the stream to another protocol. A CONNECT
      // tunnel has no such reading.
      if (p->method == HTTP_CONNECT) return self->Fail(400, "CONNECT is not supported");
      p->upgrade = 0;
    }
    auto& r = self->current_;
    r.method = http_method_str(static_cast<http_method>(p->method));
    r.keep_alive = http_should_keep_alive(p) != 0;
    r.http10 = p->http_major == 1 && p->http_minor == 0;
    http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(r.target.data(), r.target.size(), 0, &u) != 0) {
      return self->Fail(400, "malformed request target");
    }
    if (u.field_set & (1 << UF_PATH)) {
      r.path = util::UrlDecode(
          std::string_view(r.target).substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len),
          false);
    } else {
      r.path = "/";
    }
    if (u.field_set & (1 << UF_QUERY)) {
      r.query = r.target.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > self->limits_.max_body_bytes) {
      return self->Fail(413, "request body too large");
    }
    if (const auto* expect = r.Header("expect")) {
      if (util::ToLower(util::Trim(*expect)) != "100-continue")
        return self->Fail(417, "only the expectation 100-continue is supported");
      // The client waits for our word before it sends the body: stop here so the server can
      // answer 100 Continue, or the final status at once.
      if (r.Header("content-length") != nullptr || r.Header("transfer-encoding") != nullptr) {
        self->awaiting_continue_ = true;
        http_parser_pause(p, 1);
      }
    }
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

int RequestParser::OnBody(http_parser* p, const char* at, size_t len) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    if (self->current_.body.size() + len > self->limits_.max_body_bytes) {
      return self->Fail(413, "request body too large");
    }
    self->current_.body.append(at, len);
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

int RequestParser::OnMessageComplete(http_parser* p) noexcept {
  try {
    auto* self = static_cast<RequestParser*>(p->data);
    self->complete_ = true;
    self->in_request_ = false;
    http_parser_pause(p, 1);  // one request at a time: the rest waits in the buffer
    return 0;
  } catch (...) {
    // Nothing may unwind through http_parser's C frames (a failed allocation, say).
    return static_cast<RequestParser*>(p->data)->Fail(500, "internal error");
  }
}

RequestParser::State RequestParser::Feed(const char* data, size_t len, size_t* consumed) {
  *consumed = 0;
  if (error_status_ != 0) return State::kError;
  if (awaiting_continue_) return State::kAwaitingContinue;
  if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) http_parser_pause(&parser_, 0);
  if (len == 0) return State::kNeedMore;
  size_t n = http_parser_execute(&parser_, &settings_, data, len);
  *consumed = n;
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (awaiting_continue_ && !complete_ && error_status_ == 0) return State::kAwaitingContinue;
  if (complete_) {
    // A paused parser stops right after the message; count the byte it paused on.
    return State::kComplete;
  }
  if (err != HPE_OK && err != HPE_PAUSED) {
    if (error_status_ == 0) {
      error_status_ = 400;
      error_text_ = std::string("malformed request: ") + http_errno_description(err);
    }
    return State::kError;
  }
  return State::kNeedMore;
}

void RequestParser::Continue() { awaiting_continue_ = false; }

Request RequestParser::Take() {
  complete_ = false;
  return std::move(current_);
}

}  // namespace lambda::http
