#pragma once
/// The one place that decides how an error looks: by the API its path belongs to (SPEC §4.1–4.3),
/// for the answers of the routes and for those the HTTP server gives itself (malformed request,
/// 408, 413, ...). Pure.
#include <string>
#include <string_view>

namespace lambda::routes {

enum class ErrorShape {
  kService,   ///< {"errors":[{"status":S,"detail":TEXT}]}
  kLegacy,    ///< /backend: {"errors":[{"message":TEXT,"code":S,"details":WORD}]}
  kZenlayer,  ///< /api/v2/vm: {"requestId":R,"code":C,"message":TEXT}
  kFeldera,   ///< /v0: {"message":TEXT,"error_code":C,"details":null}
};

/// By whole leading segments: /v0 → Feldera, /api/v2/vm → Zenlayer, /backend → legacy, anything
/// else (and an empty path) → service.
ErrorShape ErrorShapeOf(std::string_view path);

/// The code a Zenlayer or Feldera error carries for `status` when the caller has no more precise
/// one (e.g. Zenlayer AUTHENTICATION_FAILED, Feldera "Unauthorized"); empty for the others.
std::string_view DefaultErrorCode(ErrorShape shape, int status);

/// The error body for a request to `path`. `request_id` is the Zenlayer requestId (the caller
/// gives a fresh one when the request has none); `code`, when not empty, replaces the default
/// code of a Zenlayer or Feldera error.
std::string ErrorResponse(std::string_view path, int status, std::string_view text,
                          std::string_view request_id, std::string_view code = {});

}  // namespace lambda::routes
