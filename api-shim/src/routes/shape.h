#pragma once
/// Response bodies of the service API (SPEC §4.1); pure functions of plain values.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/domain/status.h"
#include "lambda/domain/tags.h"
#include "lambda/json/json.h"

namespace lambda::routes {

/// An instance as stored in Redis (one hash).
struct InstanceRecord {
  std::string id;
  int64_t seq = 0;
  std::string name;
  std::string owner;
  domain::InstanceStatus status = domain::InstanceStatus::kPending;
  std::string failure_message;
  std::string info_json = "{}";
  std::string servers_json = "[]";
  std::string master_node_id;
  std::string created_at;
  std::string updated_at;
  std::string mode = "running";  ///< start mode recorded by the Feldera dialect
  std::string pending_action;    ///< p_action: the admitted command not yet finished, or ""
  std::optional<domain::Tags> tags = {};  ///< shown in the full details when read (SPEC §4.5)
};

/// From HGETALL's flat field/value list; nullopt when empty (no such instance).
std::optional<InstanceRecord> RecordFromHash(
    const std::vector<std::pair<std::string, std::string>>& kv);

struct ListRow {
  std::string id;
  std::string name;
  domain::InstanceStatus status;
  std::string failure_message;
  int64_t seq = 0;
  std::optional<domain::Tags> tags = {};  ///< shown when read (the service API's list)
};

struct Pagination {
  int64_t count = 0;
  std::optional<std::string> next;
  std::optional<std::string> previous;
};

/// {"message","code","detail"[,"failure_message"]}: a status as every answer shows it.
void StatusObject(json::Writer& w, domain::InstanceStatus s, std::string_view failure = {});

std::string ErrorBody(int status, std::string_view detail);
std::string ValidationErrorBody(int status, const std::vector<std::string>& details);
std::string CreateAccepted(std::string_view id, std::string_view self_url);
std::string ActionAccepted();
std::string DestroyAccepted();
std::string AuthenticateOk();
std::string CountBody(int64_t n);
std::string ListBody(const std::vector<ListRow>& rows, const std::optional<Pagination>& page);

enum class DetailsFilter { kAll, kStatus, kInfo };
std::string DetailsBody(const InstanceRecord& r, DetailsFilter filter);

/// Writes stored JSON text as a value; `fallback` (valid JSON) when the text does not parse.
void EmbedJson(json::Writer& w, std::string_view text, std::string_view fallback);

/// instance_info with master_node_id merged in once provisioned.
std::string InstanceInfo(const InstanceRecord& r);

/// 200 to a tags replace (SPEC §4.5): `{"status":{…},"data":[{"id","tags"}]}`.
std::string TagsBody(std::string_view id, const domain::Tags& tags);

}  // namespace lambda::routes
