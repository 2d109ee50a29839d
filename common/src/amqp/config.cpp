#include "lambda/amqp/config.h"

#include <amqp.h>

#include <algorithm>
#include <string>

#include "lambda/util/util.h"

namespace lambda::amqp {

namespace {

constexpr size_t kMaxEndpoints = 16;

Result<Endpoint> ParseOne(std::string_view url) {
  // amqp_parse_url decodes in place and points into the buffer it is given.
  std::string buffer(url);
  amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (url.substr(0, 8) == "amqps://") {
    return Error{Code::kInvalidArgument, "amqps:// is not supported (use amqp://)"};
  }
  if (int rc = amqp_parse_url(buffer.data(), &info); rc != AMQP_STATUS_OK) {
    return Error{Code::kInvalidArgument, std::string("amqp url: ") + amqp_error_string2(rc)};
  }
  if (info.port <= 0 || info.port > 65535)
    return Error{Code::kInvalidArgument, "amqp url: bad port"};
  Endpoint e;
  if (info.host[0] != '\0') e.host = info.host;
  e.port = info.port;
  e.user = info.user;
  e.password = info.password;
  e.vhost = info.vhost[0] == '\0' ? "/" : info.vhost;
  return e;
}

}  // namespace

Result<Config> ParseUrl(std::string_view url, Config c) {
  c.endpoints.clear();
  for (std::string_view part : util::Split(url, ',')) {
    if (c.endpoints.size() == kMaxEndpoints) {
      return Error{Code::kInvalidArgument, "amqp url: more than 16 nodes"};
    }
    auto e = ParseOne(util::Trim(part));
    if (!e) return e.error();
    c.endpoints.push_back(std::move(*e));
  }
  return c;
}

Topology::Topology(const std::string& prefix)
    : actions_exchange(prefix + ".actions"),
      actions_queue(prefix + ".actions"),
      retry_exchange(prefix + ".retry"),
      dead_exchange(prefix + ".dead"),
      dead_queue(prefix + ".dead") {}

Topology::RetryRoute Topology::RetryRouteFor(uint64_t delay_ms) {
  delay_ms = std::max<uint64_t>(delay_ms, 1);
  for (uint64_t tier : kRetryTiersMs) {
    if (delay_ms <= tier) return {std::to_string(tier), delay_ms, tier};
  }
  return {std::to_string(kRetryTiersMs.back()), kRetryTiersMs.back(), kRetryTiersMs.back()};
}

}  // namespace lambda::amqp
