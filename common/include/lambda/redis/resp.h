#pragma once
/// A command in the Redis protocol (RESP): `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument.
/// hiredis formats the same bytes, but through sdscatfmt per argument, which profiling showed as
/// the largest single cost of our Redis client (about 300 instructions per argument, 12 % of a
/// worker's instructions); this is one reserve and plain appends. Thread: any (pure).
#include <string>
#include <vector>

namespace lambda::redis {

std::string FormatCommand(const std::vector<std::string>& argv);

}  // namespace lambda::redis
