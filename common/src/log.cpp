#include "lambda/log/log.h"

#include <unistd.h>

#include <atomic>

#include "lambda/util/util.h"

namespace lambda::log {
namespace {

std::string g_component = "lambda";  // set once at start, before threads
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetComponent(std::string_view component) { g_component = component; }
void SetMinLevel(Level level) { g_min_level = static_cast<int>(level); }

bool Enabled(Level level) {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

Level ParseLevel(std::string_view name, bool* ok) {
  *ok = true;
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn") return Level::kWarn;
  if (name == "error") return Level::kError;
  *ok = false;
  return Level::kInfo;
}

void Write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
  std::string line;
  line.reserve(160);
  line += "{\"ts\":\"";
  line += util::Rfc3339(util::NowMs());
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"component\":\"";
  line += g_component;
  line += "\",\"msg\":\"";
  line += util::JsonEscape(message);
  line += '"';
  for (const auto& f : fields) {
    line += ",\"";
    line += f.key;
    line += "\":";
    switch (f.kind) {
      case Field::Kind::kSigned:
        line += std::to_string(f.number);
        break;
      case Field::Kind::kUnsigned:
        line += std::to_string(f.unsigned_number);
        break;
      case Field::Kind::kText:
        line += '"';
        line += util::JsonEscape(f.text);
        line += '"';
        break;
    }
  }
  line += "}\n";
  // One write per line keeps lines whole when processes share a log file.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace lambda::log
