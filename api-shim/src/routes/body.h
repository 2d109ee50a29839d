#pragma once
/// Decoding of request bodies and headers that routes share; pure functions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/domain/tags.h"
#include "lambda/http/message.h"
#include "lambda/result.h"

namespace lambda::routes {

/// The `action` field of an action body: urlencoded, multipart/form-data or JSON.
/// nullopt when the body has no readable `action` field; an error (naming the problem) when a
/// JSON body is not valid JSON (too deep, invalid UTF-8, a syntax error).
Result<std::optional<std::string>> DecodeActionField(const http::Request& req);

/// The largest page size, offset or page number a list takes: positions in a tenant's index are
/// far below it, and it keeps (offset + limit) and (page - 1) * size inside what Redis (and the
/// Lua numbers, doubles) take as integers. Larger values are a 400, never a Redis error.
inline constexpr int64_t kMaxListPosition = 2147483647;

/// A Zenlayer `POST /api/v2/vm` body (SPEC §4.3): instanceIds de-duplicated in order, paging.
struct ZenlayerBody {
  std::vector<std::string> ids;
  int64_t page_size = 20;
  int64_t page_num = 1;
};
/// An empty body is `{}`. An error's message is the INVALID_PARAMETER text for the client.
Result<ZenlayerBody> DecodeZenlayerBody(std::string_view text, size_t max_ids);

/// A batch body (SPEC §4.4): `{"action":"start|stop|destroy","ids":[…],"atomic":false}`.
struct BatchBody {
  std::string action;
  std::vector<std::string> ids;  ///< de-duplicated, in order
  bool atomic = false;
};
/// An error's message names the problem (for a 400).
Result<BatchBody> DecodeBatchBody(std::string_view text, size_t max_ids);

/// A tags body (SPEC §4.5): `{"tags":{…}}`, the instance's whole new tag set. An error's message
/// names the problem and the tag (for a 400).
Result<domain::Tags> DecodeTagsBody(std::string_view text);

/// True when UTF-8 text holds a control character: C0 (U+0000-U+001F), DEL (U+007F) or C1
/// (U+0080-U+009F, such as U+009B, a terminal's CSI). Names with them break libvirt and a
/// terminal that prints them.
bool HasControlCharacter(std::string_view utf8);

/// The API key of SPEC §3, from the first header form present; empty when none.
std::string ExtractApiKey(const http::Request& req);

/// A safe request id: the client's X-Request-Id when well-formed, else nullopt.
std::optional<std::string> ClientRequestId(const http::Request& req);

/// Value of `name` in a urlencoded form body.
std::optional<std::string> FormField(std::string_view body, std::string_view name);
/// Value of the part named `name` in a multipart/form-data body with `boundary`.
std::optional<std::string> MultipartField(std::string_view body, std::string_view boundary,
                                          std::string_view name);

}  // namespace lambda::routes
