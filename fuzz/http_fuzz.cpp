// The HTTP request parser with the router and the header decoders, fed in the chunk sizes the
// first byte picks (split reads are where incremental parsers break).
#include <cstddef>
#include <cstdint>
#include <string>

#include "lambda/http/message.h"
#include "lambda/http/parser.h"
#include "routes/body.h"
#include "routes/table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  size_t left = size - 1, off = 0;
  lambda::http::RequestParser parser(lambda::http::ParserLimits{2048, 16 * 1024});
  std::string buf;
  while (off < left || !buf.empty()) {
    size_t n = std::min(chunk, left - off);
    buf.append(bytes + off, n);
    off += n;
    size_t used = 0;
    auto st = parser.Feed(buf.data(), buf.size(), &used);
    buf.erase(0, used);
    using State = lambda::http::RequestParser::State;
    if (st == State::kError) break;
    if (st == State::kAwaitingContinue) {
      auto m = lambda::routes::Match(parser.head().method, parser.head().path);
      (void)m;
      parser.Continue();
      continue;
    }
    if (st == State::kComplete) {
      lambda::http::Request r = parser.Take();
      auto m = lambda::routes::Match(r.method, r.path);
      (void)lambda::routes::ExtractApiKey(r);
      (void)lambda::routes::ClientRequestId(r);
      (void)lambda::routes::DecodeActionField(r);
      std::string v;
      (void)r.QueryParam("limit", &v);
      lambda::http::Response resp;
      resp.status = m.route == lambda::routes::Route::kNotFound ? 404 : 200;
      resp.body = r.path;
      resp.headers.emplace_back("Allow", m.allow);
      (void)lambda::http::Serialize(resp, r.keep_alive, r.method != "HEAD");
      continue;
    }
    if (n == 0 && used == 0) break;  // need more, and there is no more
  }
  return 0;
}
