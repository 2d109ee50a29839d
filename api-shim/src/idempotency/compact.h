#pragma once
/// A kept answer as a template over the request it answered (SPEC §8: idempotency records have a
/// size cap). Answers echo what they were asked about — a batch of 1,000 ids answers 1,000 items
/// naming them — and a replay carries the same body (the fingerprint covers it), so the kept form
/// need not hold those bytes: every string of the answer that is also a string of the request
/// (`"…"`, at least kMinShared bytes between the quotes) is kept as a reference to it, the text
/// between references as a table of distinct pieces, and a run of items that differ only in the
/// id they name as one entry. Pure functions; Expand(request, Compact(request, a)) == a.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lambda::idempotency {

/// Strings shorter than this stay in the text: not worth a reference.
inline constexpr size_t kMinShared = 8;

/// The kept form of `answer` (a JSON document of its own; any text works, JSON or not).
std::string Compact(std::string_view request_body, std::string_view answer);
/// The answer back from the kept form and the same request body; nullopt when `compact` is not
/// a kept form or does not fit `request_body`.
std::optional<std::string> Expand(std::string_view request_body, std::string_view compact);

}  // namespace lambda::idempotency
