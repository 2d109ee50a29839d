#pragma once
/// The dashboard (`/ui/`): its three static files, embedded in the binary at build time.
#include <optional>
#include <string_view>

#include "lambda/http/message.h"

namespace lambda::shim {

/// The answer for a GET under /ui: the page, its script or its style sheet; nullopt for any
/// other file (404). Strict Content-Security-Policy: nothing but this origin.
std::optional<http::Response> UiFile(std::string_view path);

}  // namespace lambda::shim
