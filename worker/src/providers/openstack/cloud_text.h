#pragma once
/// The cloud's text, read and written the same way by every part of the OpenStack provider:
/// JSON string fields, the message of an error body, UUID-shaped ids and URL query values.
#include <string>

#include "lambda/json/json.h"
#include "providers/openstack/http_client.h"

namespace lambda::worker::openstack {

/// The string member `k` of `v`, or "" (absent, not a string, or `v` not an object).
std::string Get(const rapidjson::Value& v, const char* k);
/// The message of an OpenStack error body ({"itemNotFound":{"message":…}} and the like).
std::string ErrorText(const HttpReply& r);
bool LooksLikeUuid(const std::string& s);
/// Percent-encodes all but RFC 3986's unreserved characters (a name in a query string).
std::string UrlEncode(const std::string& s);

}  // namespace lambda::worker::openstack
