#pragma once
/// Watching an instance (SPEC §4.4): the pure part. Parsing of the watch parameters and of the
/// status channel's messages, history entries from XRANGE replies, and the answers' shapes
/// (the JSON history and Server-Sent Events frames). No I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/domain/status.h"
#include "lambda/redis/async_client.h"
#include "lambda/result.h"

namespace lambda::watch {

inline constexpr uint64_t kMaxWaitSeconds = 300;

/// `wait_for=STARTED,FAILED`: status names (case-insensitive) or codes; at least one, no unknown.
Result<std::vector<domain::InstanceStatus>> ParseWaitFor(std::string_view text);
/// `timeout=30`: whole seconds, 0..300 (default 30 when absent is the caller's choice).
Result<uint64_t> ParseTimeoutSeconds(std::string_view text);
/// A history stream entry id, "<ms>-<seq>".
bool IsEntryId(std::string_view text);

/// One message of the status channel: "<instance id> <status code> <gen> <entry id> <owner>",
/// the entry being the one the write appended to the instance's history. Scripts of an older
/// release publish the first three only (entry id and owner are then empty).
struct Notification {
  std::string instance_id;
  int status_code = 0;
  int64_t gen = 0;
  std::string entry_id;
  std::string owner;
};
std::optional<Notification> ParseNotification(std::string_view payload);

/// One status change from the instance's history stream.
struct HistoryEntry {
  std::string entry_id;  ///< the stream id, used as the SSE `id:` and for `since`
  domain::InstanceStatus status = domain::InstanceStatus::kPending;
  int64_t gen = 0;
  std::string request_id;
  std::string worker;  ///< empty for the shim's own writes (admissions)
  int64_t at_ms = 0;
  std::string note;    ///< why, for the writes no worker made (an undone admission, the reconciler)
  std::string reason;  ///< "cancelled": an entry of a cancel (SPEC §4.5)
  /// Who admitted it (SPEC §4.5 Audit): set on the entries admissions write since audit exists.
  std::string key_id, key_name, client, dialect;
};
/// From an XRANGE/XREVRANGE reply; entries it cannot read are skipped.
std::vector<HistoryEntry> EntriesFromReply(const redis::Value& reply);

/// 200 body of `GET …/events/`: the entries oldest first.
std::string HistoryBody(std::string_view instance_id, const std::vector<HistoryEntry>& entries);
/// One event's JSON (the `data:` of its SSE frame, an element of the history).
std::string EntryJson(std::string_view instance_id, const HistoryEntry& e);
/// "id: …\nevent: status\ndata: {…}\n\n".
std::string SseFrame(std::string_view instance_id, const HistoryEntry& e);
/// A tenant-wide stream's frame: one instance's change, with `event_id` (its history entry) in
/// the data when known, and `id` (the stream's cursor, watch/cursor.h) unless empty.
std::string TenantFrame(const Notification& n, std::string_view id);
/// "event: reset": the stream cannot send exactly what was missed; the client lists again.
/// With `id`, the point a reconnect resumes from once the client has listed.
std::string ResetFrame(std::string_view reason, std::string_view id = {});
/// A comment line that keeps proxies and clients from timing the stream out.
inline constexpr std::string_view kSseHeartbeat = ": keep-alive\n\n";

}  // namespace lambda::watch
