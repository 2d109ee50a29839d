#pragma once
/// The action command carried by RabbitMQ (schemas/command.v1.schema.json).
#include <cstdint>
#include <string>
#include <string_view>

#include "lambda/domain/status.h"
#include "lambda/result.h"

namespace lambda::domain {

struct Command {
  int v = 1;
  std::string request_id;
  std::string instance_id;
  Action action = Action::kStart;
  int64_t gen = 0;
  int64_t issued_at = 0;  ///< unix ms
  int attempt = 1;        ///< deliveries through the retry path (busy instance, Redis down)
  /// Transient provider errors: which attempt the next run makes. It travels with the command
  /// through the delayed-retry queue, so the count holds whichever worker runs the retry.
  int op_attempt = 1;
};

std::string ToJson(const Command& c);
/// Parses and validates against the command schema; the error names the problem (dead-letter
/// reason).
Result<Command> ParseCommand(std::string_view body);

}  // namespace lambda::domain
