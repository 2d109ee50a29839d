#pragma once
/// API keys' scopes and lifetimes (SPEC §3): the pure rules, shared by the CLI (which stores a
/// key's scope and expiry) and the shim (which enforces them). No I/O.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lambda/result.h"

namespace lambda::domain {

/// What a key may do; each scope includes the ones before it.
enum class KeyScope {
  kRead,     ///< GET and HEAD, and requests that only read whatever their method
  kOperate,  ///< also act on instances: create, start, stop, destroy, batches, operations
  kAdmin,    ///< also manage the tenant's webhooks, schedules and keys
};

/// What a route touches: each route declares one (api-shim `auth/scope.h`); the scope a request
/// needs then follows from its method alone.
enum class RouteKind {
  kInstances,  ///< instances, batches, operations, the audit trail: a read needs read, else operate
  kManagement,  ///< the tenant's webhooks, schedules and keys: a read needs read, else admin
  kQuery,       ///< only reads whatever its method (Zenlayer's Describe*): read
};

/// "read", "operate", "admin" (exactly); nullopt for anything else.
std::optional<KeyScope> ParseScope(std::string_view text);
std::string_view ScopeName(KeyScope scope);
/// The scope of a stored key: a key stored without one (made before scopes existed) keeps the
/// full access it always had (admin); a value no release writes grants the least (read).
KeyScope StoredScope(std::string_view stored);
/// The least scope a request with `method` on a route of `kind` needs.
KeyScope RequiredScope(std::string_view method, RouteKind kind);
inline bool Permits(KeyScope have, KeyScope need) { return have >= need; }

/// `--expires`: a whole number (1..) followed by s, m, h or d, at most 3650 days; in milliseconds.
Result<int64_t> ParseDurationMs(std::string_view text);

}  // namespace lambda::domain
