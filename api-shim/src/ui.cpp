#include "ui.h"

namespace lambda::ui {
extern const std::string_view k_index;
extern const std::string_view k_script;
extern const std::string_view k_style;
}  // namespace lambda::ui

namespace lambda::shim {

std::optional<http::Response> UiFile(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  http::Response r;
  if (path == "/ui" || path == "/ui/index.html") {
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(ui::k_index);
  } else if (path == "/ui/script.js") {
    r.content_type = "text/javascript; charset=utf-8";
    r.body = std::string(ui::k_script);
  } else if (path == "/ui/style.css") {
    r.content_type = "text/css; charset=utf-8";
    r.body = std::string(ui::k_style);
  } else {
    return std::nullopt;
  }
  r.headers = {{"Content-Security-Policy",
                "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                "frame-ancestors 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"}};
  return r;
}

}  // namespace lambda::shim
