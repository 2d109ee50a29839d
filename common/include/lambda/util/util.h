#pragma once
/// Small pure helpers: ids, time, hashing, encodings.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lambda::util {

/// A random UUID v4, lowercase. Not for secrets.
std::string NewUuid();
bool IsUuid(std::string_view s);
/// `n` bytes from the OpenSSL CSPRNG, base64url without padding. For secrets.
std::string RandomToken(size_t n_bytes);
std::string Sha256Hex(std::string_view data);
std::string Sha1Hex(std::string_view data);
/// Constant-time equality of two strings of equal length; false when the lengths differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

int64_t NowMs();

/// Exponential back-off with "equal jitter": attempt 1 waits about `first_ms`, each later attempt
/// twice as long up to `cap_ms`, and the wait is drawn from [base/2, base] so that many clients
/// failing together do not retry together. `unit` in [0, 1] is the random draw (pure form).
uint64_t BackoffMs(uint64_t first_ms, uint64_t cap_ms, int attempt, double unit);
/// The same with a draw from a per-thread generator.
uint64_t BackoffMs(uint64_t first_ms, uint64_t cap_ms, int attempt);
/// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T05:14:19.123Z.
std::string Rfc3339(int64_t unix_ms);

std::optional<int64_t> ParseInt(std::string_view s);
std::string UrlDecode(std::string_view s, bool plus_is_space = true);
/// The body of a JSON string literal for `s` (no quotes); invalid UTF-8 becomes U+FFFD.
std::string JsonEscape(std::string_view s);
/// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);
/// `s` with each maximal invalid subsequence replaced by U+FFFD.
std::string ToValidUtf8(std::string_view s);
std::string ToLower(std::string_view s);
std::string_view Trim(std::string_view s);
/// The pieces of `s` between `sep`s (an empty `s` is one empty piece).
std::vector<std::string_view> Split(std::string_view s, char sep);

}  // namespace lambda::util
