#pragma once
/// The audit trail (SPEC §4.5): every admitted action is appended, after its admission, to its
/// tenant's capped stream (keys.h TenantAudit) with who admitted it (key id and name), from where
/// (the client's address), the request id and the dialect; the same fields are in the instance's
/// history entry, written atomically by the admission script. `GET /api/audit/` reads the
/// tenant's own stream, oldest first, a page at a time. The pure part: query parsing, the
/// XADD, the page's JSON. No I/O.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/http/message.h"
#include "lambda/redis/async_client.h"
#include "lambda/redis/script_args.h"
#include "lambda/result.h"
#include "routes/table.h"

namespace lambda::shim::audit {

/// Entries kept per tenant (older ones are trimmed, `MAXLEN ~`).
inline constexpr int64_t kMaxEntries = 10000;
inline constexpr int64_t kDefaultLimit = 100;
inline constexpr int64_t kMaxLimit = 1000;

/// "service", "legacy", "zenlayer", "feldera" (and "public" for the routes without a key).
std::string_view DialectName(routes::Dialect d);

/// RFC 3339 date-time (`2026-12-07T20:03:24Z`, fractions and offsets allowed) → Unix ms.
Result<int64_t> ParseRfc3339(std::string_view text);

/// `?since=RFC3339&after=ENTRY_ID&limit=N`: where the page starts and how long it is.
struct Query {
  std::string start;  ///< XRANGE start: "-", "<ms>-0" (since) or "(<id>" (after)
  int64_t limit = kDefaultLimit;
};
/// From the request's query; a bad since, after or limit is an error (400) naming it.
Result<Query> ParseQuery(const http::Request& req);

/// The XADD of one admitted action on `instance_id` to the tenant's trail.
std::vector<std::string> RecordCommand(std::string_view prefix, std::string_view tenant,
                                       const redis::args::Audit& who, std::string_view action,
                                       std::string_view instance_id, std::string_view request_id,
                                       int64_t at_ms);

/// 200 body: {"entries":[…], "next": the id to pass as `after` for the next page, or null}.
std::string PageBody(const redis::Value& xrange, int64_t limit);

}  // namespace lambda::shim::audit
