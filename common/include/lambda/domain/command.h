#pragma once
/// The action command carried by RabbitMQ (schemas/command.v1.schema.json).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

/// The most commands one message carries (the shim packs the admissions of one loop turn).
inline constexpr size_t kMaxCommandsPerMessage = 256;

std::string ToJson(const Command& c);
/// One command as its object; several as a JSON array of those objects (a batch message).
std::string ToJson(const std::vector<Command>& batch);
/// Parses one command object and checks it as the command schema does; the error names the
/// field and the problem (the dead-letter reason).
Result<Command> ParseCommand(std::string_view body);
/// A message body: one command object, or an array of 1..kMaxCommandsPerMessage of them (each
/// checked as ParseCommand checks one; any bad element refuses the whole message).
Result<std::vector<Command>> ParseCommands(std::string_view body);

}  // namespace lambda::domain
