#include "routes/body.h"

#include <rapidjson/document.h>

#include <set>

#include "lambda/json/json.h"
#include "lambda/util/util.h"

namespace lambda::routes {
namespace {

// Parameter `key` of a header value such as `multipart/form-data; boundary=xyz`.
std::optional<std::string> HeaderParam(std::string_view value, std::string_view key) {
  while (!value.empty()) {
    auto semi = value.find(';');
    std::string_view part = util::Trim(value.substr(0, semi));
    value = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (util::ToLower(util::Trim(part.substr(0, eq))) != key) continue;
    std::string_view v = util::Trim(part.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> FormField(std::string_view body, std::string_view name) {
  body = util::Trim(body);
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    auto eq = pair.find('=');
    if (util::UrlDecode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : util::UrlDecode(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

std::optional<std::string> MultipartField(std::string_view body, std::string_view boundary,
                                          std::string_view name) {
  if (boundary.empty()) return std::nullopt;
  std::string delim = "--" + std::string(boundary);
  size_t pos = body.find(delim);
  while (pos != std::string_view::npos) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") break;  // closing delimiter
    size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) break;
    std::string_view headers = body.substr(pos, headers_end - pos);
    size_t content_begin = headers_end + 4;
    size_t next = body.find("\r\n" + delim, content_begin);
    if (next == std::string_view::npos) break;
    std::string_view content = body.substr(content_begin, next - content_begin);
    // Find the Content-Disposition line of this part.
    while (!headers.empty()) {
      auto eol = headers.find("\r\n");
      std::string_view line = util::Trim(headers.substr(0, eol));
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      if (util::ToLower(util::Trim(line.substr(0, colon))) != "content-disposition") continue;
      if (auto n = HeaderParam(line.substr(colon + 1), "name"); n && *n == name) {
        return std::string(content);
      }
    }
    pos = next + 2;
  }
  return std::nullopt;
}

Result<std::optional<std::string>> DecodeActionField(const http::Request& req) {
  const std::string* ct = req.Header("content-type");
  std::string type =
      ct ? util::ToLower(util::Trim(std::string_view(*ct).substr(0, ct->find(';')))) : "";
  if (type == "application/json") {
    json::Document doc;
    if (auto st = json::Parse(req.body, &doc); !st) return st.error();
    if (!doc.IsObject()) return std::optional<std::string>{};
    auto it = doc.FindMember("action");
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::optional<std::string>{};
    return std::optional<std::string>(
        std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  if (type == "multipart/form-data") {
    auto boundary = HeaderParam(*ct, "boundary");
    if (!boundary) return std::optional<std::string>{};
    return MultipartField(req.body, *boundary, "action");
  }
  if (auto v = FormField(req.body, "action")) return v;
  // curl -d "" with ?action=start also works: the query is the last place to look.
  std::string q;
  if (req.QueryParam("action", &q)) return std::optional<std::string>(q);
  return std::optional<std::string>{};
}

Result<ZenlayerBody> DecodeZenlayerBody(std::string_view text, size_t max_ids) {
  auto bad = [](std::string message) { return Error{Code::kInvalidArgument, std::move(message)}; };
  text = util::Trim(text);
  json::Document doc;
  if (auto st = json::Parse(text.empty() ? std::string_view("{}") : text, &doc); !st)
    return bad("The request body must be a JSON object (" + st.error().message + ").");
  if (!doc.IsObject()) return bad("The request body must be a JSON object.");
  ZenlayerBody out;
  if (auto it = doc.FindMember("instanceIds"); it != doc.MemberEnd()) {
    if (!it->value.IsArray()) return bad("instanceIds must be an array of strings.");
    std::set<std::string> seen;
    for (const auto& v : it->value.GetArray()) {
      if (!v.IsString()) return bad("instanceIds must be an array of strings.");
      std::string id(v.GetString(), v.GetStringLength());
      if (seen.insert(id).second) out.ids.push_back(std::move(id));
    }
    if (out.ids.size() > max_ids)
      return bad("instanceIds accepts at most " + std::to_string(max_ids) + " ids.");
  }
  if (auto it = doc.FindMember("pageSize"); it != doc.MemberEnd()) {
    if (!it->value.IsInt64() || it->value.GetInt64() < 1 || it->value.GetInt64() > 1000)
      return bad("pageSize must be an integer from 1 to 1000.");
    out.page_size = it->value.GetInt64();
  }
  if (auto it = doc.FindMember("pageNum"); it != doc.MemberEnd()) {
    if (!it->value.IsInt64() || it->value.GetInt64() < 1 || it->value.GetInt64() > kMaxListPosition)
      return bad("pageNum must be an integer from 1 to " + std::to_string(kMaxListPosition) + ".");
    out.page_num = it->value.GetInt64();
  }
  return out;
}

Result<domain::Tags> DecodeTagsBody(std::string_view text) {
  auto bad = [](std::string message) { return Error{Code::kInvalidArgument, std::move(message)}; };
  json::Document doc;
  if (auto st = json::Parse(text, &doc); !st) return bad(st.error().message);
  if (!doc.IsObject()) return bad("the body must be a JSON object");
  const rapidjson::Value* tags = nullptr;
  for (const auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name != "tags") {
      return bad("unknown field '" + util::ToValidUtf8(name.substr(0, 64)) + "' (allowed: tags)");
    }
    tags = &m.value;
  }
  if (!tags) return bad("tags: required (an object, {} for none)");
  return domain::ParseTags(*tags);
}

Result<BatchBody> DecodeBatchBody(std::string_view text, size_t max_ids) {
  auto bad = [](std::string message) { return Error{Code::kInvalidArgument, std::move(message)}; };
  json::Document doc;
  if (auto st = json::Parse(text, &doc); !st) return bad(st.error().message);
  if (!doc.IsObject()) return bad("the body must be a JSON object");
  BatchBody out;
  bool has_action = false, has_ids = false;
  for (const auto& m : doc.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (name == "action") {
      if (!m.value.IsString()) return bad("action: must be one of start, stop, destroy, cancel");
      out.action.assign(m.value.GetString(), m.value.GetStringLength());
      if (out.action != "start" && out.action != "stop" && out.action != "destroy" &&
          out.action != "cancel")
        return bad("action: must be one of start, stop, destroy, cancel");
      has_action = true;
    } else if (name == "ids") {
      if (!m.value.IsArray()) return bad("ids: must be an array of instance ids");
      if (m.value.Size() > max_ids)
        return bad("ids: at most " + std::to_string(max_ids) + " instance ids per batch");
      std::set<std::string> seen;
      for (const auto& v : m.value.GetArray()) {
        if (!v.IsString()) return bad("ids: must be an array of instance ids (strings)");
        std::string id(v.GetString(), v.GetStringLength());
        if (seen.insert(id).second) out.ids.push_back(std::move(id));
      }
      has_ids = true;
    } else if (name == "atomic") {
      if (!m.value.IsBool()) return bad("atomic: must be true or false");
      out.atomic = m.value.GetBool();
    } else {
      return bad("unknown field '" + util::ToValidUtf8(name.substr(0, 64)) +
                 "' (allowed: action, ids, atomic)");
    }
  }
  if (!has_action) return bad("action: required (start, stop, destroy or cancel)");
  if (!has_ids || out.ids.empty()) return bad("ids: at least one instance id is required");
  if (out.ids.size() > max_ids)
    return bad("ids: at most " + std::to_string(max_ids) + " instance ids per batch");
  return out;
}

bool HasControlCharacter(std::string_view utf8) {
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x20 || c == 0x7f) return true;
    // U+0080..U+009F are C2 80..C2 9F in UTF-8 (the text is valid UTF-8 by now).
    if (c == 0xc2 && i + 1 < utf8.size()) {
      const auto next = static_cast<unsigned char>(utf8[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

std::string ExtractApiKey(const http::Request& req) {
  auto scheme_value = [](const std::string* h) -> std::string {
    if (h == nullptr) return {};
    std::string_view v = util::Trim(*h);
    auto space = v.find(' ');
    if (space == std::string_view::npos) return {};
    std::string scheme = util::ToLower(v.substr(0, space));
    if (scheme != "token" && scheme != "bearer") return {};
    return std::string(util::Trim(v.substr(space + 1)));
  };
  if (auto k = scheme_value(req.Header("authorization")); !k.empty()) return k;
  if (auto k = scheme_value(req.Header("authentication")); !k.empty()) return k;
  if (const auto* h = req.Header("x-api-key")) return std::string(util::Trim(*h));
  return {};
}

std::optional<std::string> ClientRequestId(const http::Request& req) {
  const auto* h = req.Header("x-request-id");
  if (h == nullptr || h->empty() || h->size() > 128) return std::nullopt;
  for (char c : *h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return std::nullopt;
  }
  return *h;
}

}  // namespace lambda::routes
