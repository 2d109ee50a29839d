#include "routes/error_shape.h"

#include "routes/dialects.h"
#include "routes/shape.h"

namespace lambda::routes {
namespace {

/// `path` is `prefix` or starts with `prefix` followed by '/'.
bool Under(std::string_view path, std::string_view prefix) {
  return path.substr(0, prefix.size()) == prefix &&
         (path.size() == prefix.size() || path[prefix.size()] == '/');
}

std::string_view ZenlayerCode(int status) {
  switch (status) {
    case 401:
      return "AUTHENTICATION_FAILED";
    case 403:
      return "OPERATION_DENIED";
    case 404:
      return "OPERATION_NOT_FOUND";
    case 405:
      return "OPERATION_NOT_SUPPORTED";
    case 408:
      return "REQUEST_TIMEOUT";
    case 409:
      return "OPERATION_CONFLICT";
    case 413:
    case 431:
      return "REQUEST_TOO_LARGE";
    case 429:
      return "REQUEST_LIMIT_EXCEEDED";
    case 503:
      return "SERVICE_UNAVAILABLE";
    case 504:
      return "OUTCOME_UNKNOWN";
    default:
      return status >= 500 ? "INTERNAL_ERROR" : "INVALID_PARAMETER";
  }
}

std::string_view FelderaCode(int status) {
  switch (status) {
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 408:
      return "RequestTimeout";
    case 409:
      return "Conflict";
    case 413:
      return "PayloadTooLarge";
    case 417:
      return "ExpectationFailed";
    case 429:
      return "TooManyRequests";
    case 431:
      return "RequestHeaderTooLarge";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "OutcomeUnknown";
    default:
      return status >= 500 ? "InternalError" : "InvalidRequest";
  }
}

}  // namespace

ErrorShape ErrorShapeOf(std::string_view path) {
  if (Under(path, "/v0")) return ErrorShape::kFeldera;
  if (Under(path, "/api/v2/vm")) return ErrorShape::kZenlayer;
  if (Under(path, "/backend")) return ErrorShape::kLegacy;
  return ErrorShape::kService;
}

std::string_view DefaultErrorCode(ErrorShape shape, int status) {
  switch (shape) {
    case ErrorShape::kZenlayer:
      return ZenlayerCode(status);
    case ErrorShape::kFeldera:
      return FelderaCode(status);
    default:
      return {};
  }
}

std::string ErrorResponse(std::string_view path, int status, std::string_view text,
                          std::string_view request_id, std::string_view code) {
  const ErrorShape shape = ErrorShapeOf(path);
  if (code.empty()) code = DefaultErrorCode(shape, status);
  switch (shape) {
    case ErrorShape::kLegacy:
      return LegacyError(status, text);
    case ErrorShape::kZenlayer:
      return ZenlayerError(request_id, code, text);
    case ErrorShape::kFeldera:
      return FelderaError(text, code);
    case ErrorShape::kService:
      break;
  }
  return ErrorBody(status, text);
}

}  // namespace lambda::routes
