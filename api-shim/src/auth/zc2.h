#pragma once
/// ZC2-HMAC-SHA256, the request signature of the official Zenlayer SDKs' default credential
/// (`Credential(AccessKeyId, AccessKeyPassword)`), checked the way the SDK signs (SPEC §4.3):
///
///   canonical request = METHOD \n / \n (empty query) \n content-type:CT \n host:HOST \n
///                       \n content-type;host \n hex(SHA-256(body))
///   string to sign    = ZC2-HMAC-SHA256 \n X-ZC-Timestamp \n hex(SHA-256(canonical request))
///   signature         = hex(HMAC-SHA256(secret, string to sign))
///   Authorization: ZC2-HMAC-SHA256 Credential=ID, SignedHeaders=content-type;host, Signature=HEX
///
/// Neither the path nor `X-ZC-Action` is signed; RequestDigest names what the signature does
/// not cover, so a seen signature is accepted again only for the same request. Pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lambda/http/message.h"

namespace lambda::shim::zc2 {

inline constexpr std::string_view kAlgorithm = "ZC2-HMAC-SHA256";
inline constexpr std::string_view kSignedHeaders = "content-type;host";
/// How far X-ZC-Timestamp may be from the server's clock, either way.
inline constexpr int64_t kWindowS = 300;

/// The parts of an Authorization header value.
struct Authorization {
  std::string access_key_id;
  std::string signed_headers;
  std::string signature;  ///< lowercase hex, 64 characters
};

/// `ZC2-HMAC-SHA256 Credential=ID, SignedHeaders=H, Signature=HEX` (the three in any order,
/// blanks after commas optional); nullopt for another scheme or anything malformed.
std::optional<Authorization> ParseAuthorization(std::string_view value);

/// Whether the request's Authorization header uses this scheme (whatever else it holds).
bool IsSigned(const http::Request& req);

/// What a signed request offers for checking, read from its headers; nullopt when something the
/// SDK always sends is missing or malformed (the signature method, if sent, must be ours).
/// The views point into the request, which must outlive this.
struct SignedRequest {
  Authorization auth;
  int64_t timestamp = 0;  ///< X-ZC-Timestamp, Unix seconds
  std::string_view method, content_type, host, body;
};
std::optional<SignedRequest> Read(const http::Request& req);

/// The string to sign for `r` (its canonical request hashed inside).
std::string StringToSign(const SignedRequest& r);
/// The signature of `r` under `secret`, as the SDK computes it.
std::string Sign(std::string_view secret, const SignedRequest& r);
/// Whether `signature` (lowercase hex) is the one `secret` gives for `string_to_sign`, compared
/// in constant time.
bool Verify(std::string_view secret, std::string_view string_to_sign, std::string_view signature);
/// Whether `timestamp` lies within kWindowS of `now_s`.
bool Fresh(int64_t timestamp, int64_t now_s);

/// A digest of what the signature does not cover and that changes what a request does: the
/// action header, the request target (path and query), the Idempotency-Key and the body.
std::string RequestDigest(const http::Request& req);

/// How long a seen signature must be remembered: until its timestamp leaves the window on any
/// shim's clock (`skew_s` allowed between them), at least 1 s.
int64_t SeenTtlS(int64_t timestamp, int64_t now_s, int64_t skew_s = 60);

}  // namespace lambda::shim::zc2
