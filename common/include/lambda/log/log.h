#pragma once
/// Structured logs: one JSON object per line on stderr, with ids as fields.
/// Thread: any; each line is written with one write(2).
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace lambda::log {

enum class Level { kDebug, kInfo, kWarn, kError };

/// A field of a log line; values are written as JSON strings unless `raw_number`.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, long long v) : key(k), value(std::to_string(v)), raw_number(true) {}
  Field(std::string_view k, int v) : Field(k, static_cast<long long>(v)) {}
  Field(std::string_view k, unsigned long long v)
      : key(k), value(std::to_string(v)), raw_number(true) {}
  Field(std::string_view k, unsigned long v) : Field(k, static_cast<unsigned long long>(v)) {}
  Field(std::string_view k, long v) : Field(k, static_cast<long long>(v)) {}
  std::string_view key;
  std::string value;
  bool raw_number = false;
};

void SetComponent(std::string_view component);
void SetMinLevel(Level level);
Level ParseLevel(std::string_view name, bool* ok);
void Write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

}  // namespace lambda::log
