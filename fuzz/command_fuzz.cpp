// A command as it arrives from the queue: parsed and validated, and what parses must survive
// its own round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lambda/domain/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto c = lambda::domain::ParseCommand(body);
  if (!c) return 0;
  auto again = lambda::domain::ParseCommand(lambda::domain::ToJson(*c));
  if (!again || again->instance_id != c->instance_id || again->gen != c->gen ||
      again->action != c->action || again->attempt != c->attempt)
    std::abort();
  return 0;
}
