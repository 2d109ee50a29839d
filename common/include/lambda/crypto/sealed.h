#pragma once
/// Secrets the server must read back (access key secrets, SPEC §3), kept at rest only sealed
/// with AES-256-GCM under a server key; and the HMAC the Zenlayer signature uses. Everything here
/// is OpenSSL underneath; nothing is hand-written crypto. Pure and thread-safe: no shared state.
#include <array>
#include <string>
#include <string_view>

#include "lambda/result.h"

namespace lambda::crypto {

/// The 256-bit server key. Its bytes are wiped when it dies.
class ServerKey {
 public:
  static constexpr size_t kBytes = 32;
  explicit ServerKey(const std::array<unsigned char, kBytes>& bytes) : bytes_(bytes) {}
  ~ServerKey();
  ServerKey(const ServerKey&) = default;
  ServerKey& operator=(const ServerKey&) = default;

  /// Reads a file of exactly 32 random bytes that only its owner may read or write (no group or
  /// other permission bits): anything else is an error naming the file and what is wrong.
  static Result<ServerKey> Load(const std::string& path);
  const unsigned char* data() const { return bytes_.data(); }

 private:
  std::array<unsigned char, kBytes> bytes_;
};

/// `plain` sealed under `key`: "v1:" + hex(nonce[12] | ciphertext | tag[16]), with a fresh random
/// nonce each call. `context` (e.g. the access key id) is authenticated as associated data, so a
/// sealed value opens only for the context it was sealed for.
Result<std::string> Seal(const ServerKey& key, std::string_view plain, std::string_view context);
/// The plaintext of a Seal() output; an error when it was altered, sealed under another key or
/// for another context, or is not in that format.
Result<std::string> Open(const ServerKey& key, std::string_view sealed, std::string_view context);

/// Lowercase hex HMAC-SHA256 of `message` under `key`.
std::string HmacSha256Hex(std::string_view key, std::string_view message);
/// Lowercase hex of `bytes`.
std::string ToHex(std::string_view bytes);

}  // namespace lambda::crypto
