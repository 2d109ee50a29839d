#pragma once
/// The worker's own HTTP surface (/healthz, /readyz, /metrics): its route table on the shared
/// `http::Router` and the pure shaping of each answer.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lambda/http/message.h"

namespace lambda::worker {

/// What the health endpoints report, read from the worker's parts at request time.
struct HealthView {
  bool redis_up = false;
  bool amqp_up = false;
  size_t in_flight = 0;
  /// The /metrics text (read only for that route).
  std::function<std::string()> metrics_text;
};

/// 404 and 405 (+ Allow) like the shim; OPTIONS answers 204 with Allow.
http::Response HealthResponse(std::string_view method, std::string_view path,
                              const HealthView& view);

}  // namespace lambda::worker
