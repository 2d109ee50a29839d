#pragma once
/// Tags and selectors (SPEC §4.5): pure validation and parsing, no I/O.
/// A tag set is at most kMaxTags entries; a key is 1..kMaxTagKey chars of [a-z0-9_.-], a value at
/// most kMaxTagValue printable characters (UTF-8 code points, no control characters). A selector
/// is `{"tags":{k:v,…},"status":[…]}`: every condition given must hold (an empty one matches all).
#include <rapidjson/document.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/domain/status.h"
#include "lambda/result.h"

namespace lambda::domain {

inline constexpr size_t kMaxTags = 16;
inline constexpr size_t kMaxTagKey = 63;
inline constexpr size_t kMaxTagValue = 255;

/// Ordered by key, so one set always serialises to the same text (the index keys and the CAS of
/// a replace depend on that).
using Tags = std::map<std::string, std::string>;

/// The problem with a tag key, or nullopt when it is valid.
std::optional<std::string> TagKeyProblem(std::string_view key);
/// The problem with a tag value (valid UTF-8 assumed: the JSON parser checked it), or nullopt.
std::optional<std::string> TagValueProblem(std::string_view value);

/// A `tags` member's value: an object of string values within the limits. Errors are
/// kInvalidArgument with a message naming the field and the tag ("tags.env: …").
Result<Tags> ParseTags(const rapidjson::Value& v, std::string_view field = "tags");
/// Stored form: a JSON object with keys in order ("" for no tags).
std::string TagsJson(const Tags& tags);
/// The stored form back (a bad or empty text is no tags).
Tags TagsFromJson(std::string_view text);

struct Selector {
  Tags tags;                             ///< each must be set to exactly this value
  std::vector<InstanceStatus> statuses;  ///< one of these (empty: any)

  bool Matches(const Tags& have, InstanceStatus status) const;
  bool empty() const { return tags.empty() && statuses.empty(); }
  /// Whether a DESTROYED instance can match (if not, the tenant's live index bounds the search).
  bool MayMatchDestroyed() const;
};

/// `{"tags":{…},"status":[…]}`; unknown members, a bad tag or an unknown status name → error.
Result<Selector> ParseSelector(const rapidjson::Value& v);
/// The list filters: each `tag` parameter is `k:v` (split at the first colon), `status` is a
/// comma-separated list of names (nullopt: absent).
Result<Selector> SelectorFromQuery(const std::vector<std::string>& tag_params,
                                   const std::optional<std::string>& status_param);

}  // namespace lambda::domain
