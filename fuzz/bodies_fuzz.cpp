// Every body decoder: the first byte picks one. JSON bodies go through the same parse and
// schema as the create route; the outputs of the UTF-8 repair must always be valid.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lambda/http/message.h"
#include "lambda/json/json.h"
#include "lambda/util/util.h"
#include "routes/body.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: {  // the create body: parse, validate, write back
      static const lambda::json::Schema kCreate(lambda::json::CreateRequestSchemaText());
      rapidjson::Document doc;
      if (!lambda::json::Parse(text, &doc)) return 0;
      (void)kCreate.Validate(doc);
      rapidjson::StringBuffer sb;
      lambda::json::Writer w(sb);
      doc.Accept(w);
      rapidjson::Document again;
      Check(lambda::json::Parse(lambda::json::View(sb), &again).ok());
      break;
    }
    case 1: {  // urlencoded action body
      (void)lambda::routes::FormField(text, "action");
      break;
    }
    case 2: {  // multipart: the first line is the boundary
      auto nl = text.find('\n');
      std::string boundary = text.substr(0, nl == std::string::npos ? 0 : nl);
      (void)lambda::routes::MultipartField(text, boundary, "action");
      lambda::http::Request r;
      r.headers.emplace_back("content-type", "multipart/form-data; boundary=" + boundary);
      r.body = text;
      (void)lambda::routes::DecodeActionField(r);
      break;
    }
    case 3: {  // a JSON action body
      lambda::http::Request r;
      r.headers.emplace_back("content-type", "application/json");
      r.body = text;
      (void)lambda::routes::DecodeActionField(r);
      break;
    }
    case 4: {  // the Zenlayer batch and describe bodies
      (void)lambda::routes::DecodeZenlayerBody(text, 100);
      (void)lambda::routes::DecodeZenlayerBody(text, 1000);
      break;
    }
    default: {  // encodings: whatever comes in, what we write is valid UTF-8
      Check(lambda::util::IsValidUtf8(lambda::util::ToValidUtf8(text)));
      Check(lambda::util::IsValidUtf8(lambda::util::JsonEscape(text)));
      if (lambda::util::IsValidUtf8(text)) Check(lambda::util::ToValidUtf8(text) == text);
      (void)lambda::util::UrlDecode(text);
      break;
    }
  }
  return 0;
}
