#include "auth/zc2.h"

#include <openssl/crypto.h>

#include "lambda/crypto/sealed.h"
#include "lambda/util/util.h"

namespace lambda::shim::zc2 {
namespace {

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::optional<std::string> LowerHex64(std::string_view s) {
  if (s.size() != 64) return std::nullopt;
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

/// The scheme word and what follows it, when the scheme is ours (case-insensitive, as HTTP
/// auth schemes are).
std::optional<std::string_view> AfterScheme(std::string_view value) {
  value = util::Trim(value);
  if (value.size() <= kAlgorithm.size() || value[kAlgorithm.size()] != ' ') return std::nullopt;
  if (util::ToLower(value.substr(0, kAlgorithm.size())) != util::ToLower(kAlgorithm)) {
    return std::nullopt;
  }
  return value.substr(kAlgorithm.size() + 1);
}

}  // namespace

std::optional<Authorization> ParseAuthorization(std::string_view value) {
  auto rest = AfterScheme(value);
  if (!rest) return std::nullopt;
  Authorization a;
  bool have_id = false, have_headers = false, have_sig = false;
  for (std::string_view part : util::Split(*rest, ',')) {
    part = util::Trim(part);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = part.substr(0, eq), v = part.substr(eq + 1);
    if (name == "Credential" && !have_id) {
      if (v.empty() || v.size() > 128) return std::nullopt;
      for (char c : v) {
        if (!IsIdChar(c)) return std::nullopt;
      }
      a.access_key_id = std::string(v);
      have_id = true;
    } else if (name == "SignedHeaders" && !have_headers) {
      a.signed_headers = std::string(v);
      have_headers = true;
    } else if (name == "Signature" && !have_sig) {
      auto hex = LowerHex64(v);
      if (!hex) return std::nullopt;
      a.signature = std::move(*hex);
      have_sig = true;
    } else {
      return std::nullopt;  // unknown or repeated
    }
  }
  if (!have_id || !have_headers || !have_sig) return std::nullopt;
  return a;
}

bool IsSigned(const http::Request& req) {
  const auto* h = req.Header("authorization");
  return h != nullptr && AfterScheme(*h).has_value();
}

std::optional<SignedRequest> Read(const http::Request& req) {
  const auto* auth = req.Header("authorization");
  const auto* ts = req.Header("x-zc-timestamp");
  const auto* ct = req.Header("content-type");
  const auto* host = req.Header("host");
  if (auth == nullptr || ts == nullptr || ct == nullptr || host == nullptr) return std::nullopt;
  if (const auto* m = req.Header("x-zc-signature-method"); m != nullptr && *m != kAlgorithm) {
    return std::nullopt;
  }
  auto parsed = ParseAuthorization(*auth);
  if (!parsed || parsed->signed_headers != kSignedHeaders) return std::nullopt;
  if (ts->empty() || ts->size() > 12) return std::nullopt;
  for (char c : *ts) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  SignedRequest r;
  r.auth = std::move(*parsed);
  r.timestamp = *util::ParseInt(*ts);
  r.method = req.method;
  r.content_type = *ct;
  r.host = *host;
  r.body = req.body;
  return r;
}

std::string StringToSign(const SignedRequest& r) {
  std::string canonical;
  canonical.reserve(r.method.size() + r.content_type.size() + r.host.size() + 128);
  canonical.append(r.method).append("\n/\n\n");
  canonical.append("content-type:").append(r.content_type).append("\n");
  canonical.append("host:").append(r.host).append("\n\n");
  canonical.append(kSignedHeaders).append("\n");
  canonical.append(util::Sha256Hex(r.body));
  std::string out(kAlgorithm);
  out.append("\n").append(std::to_string(r.timestamp)).append("\n");
  out.append(util::Sha256Hex(canonical));
  return out;
}

std::string Sign(std::string_view secret, const SignedRequest& r) {
  return crypto::HmacSha256Hex(secret, StringToSign(r));
}

bool Verify(std::string_view secret, std::string_view string_to_sign, std::string_view signature) {
  std::string expected = crypto::HmacSha256Hex(secret, string_to_sign);
  return expected.size() == signature.size() &&
         CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
}

bool Fresh(int64_t timestamp, int64_t now_s) {
  return timestamp >= now_s - kWindowS && timestamp <= now_s + kWindowS;
}

std::string RequestDigest(const http::Request& req) {
  // Each part with its length first, so no two different requests give the same input.
  std::string in;
  auto add = [&in](std::string_view part) {
    in.append(std::to_string(part.size())).append(":").append(part);
  };
  const auto* action = req.Header("x-zc-action");
  const auto* idem = req.Header("idempotency-key");
  add(action ? std::string_view(*action) : std::string_view());
  add(req.target);
  add(idem ? std::string_view(*idem) : std::string_view());
  add(req.body);
  return util::Sha256Hex(in);
}

int64_t SeenTtlS(int64_t timestamp, int64_t now_s, int64_t skew_s) {
  int64_t ttl = timestamp + kWindowS - now_s + skew_s;
  return ttl < 1 ? 1 : ttl;
}

}  // namespace lambda::shim::zc2
