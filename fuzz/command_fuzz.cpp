// A message as it arrives from the queue: one command or a batch of them, parsed and checked;
// what parses must survive its own round trip, and a single command must parse the same both ways.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lambda/domain/command.h"

namespace {
bool Same(const lambda::domain::Command& a, const lambda::domain::Command& b) {
  return a.instance_id == b.instance_id && a.request_id == b.request_id && a.gen == b.gen &&
         a.action == b.action && a.attempt == b.attempt && a.op_attempt == b.op_attempt &&
         a.issued_at == b.issued_at;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto one = lambda::domain::ParseCommand(body);
  auto batch = lambda::domain::ParseCommands(body);
  if (one && (!batch || batch->size() != 1 || !Same(batch->front(), *one))) std::abort();
  if (!batch) return 0;
  auto again = lambda::domain::ParseCommands(lambda::domain::ToJson(*batch));
  if (!again || again->size() != batch->size()) std::abort();
  for (size_t i = 0; i < batch->size(); ++i) {
    if (!Same((*again)[i], (*batch)[i])) std::abort();
  }
  return 0;
}
