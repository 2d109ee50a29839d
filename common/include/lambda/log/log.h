#pragma once
/// Structured logs: one JSON object per line on stderr, with ids as fields.
/// Thread: any; each line is written with one write(2).
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace lambda::log {

enum class Level { kDebug, kInfo, kWarn, kError };

/// A field of a log line: a view of a string (written as a JSON string) or a number. It copies
/// nothing: a line below the minimum level costs no allocation, and the viewed strings live
/// until the end of the call (fields are only ever built in a call's argument list).
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), text(v) {}
  Field(std::string_view k, const char* v) : key(k), text(v) {}
  Field(std::string_view k, const std::string& v) : key(k), text(v) {}
  Field(std::string_view k, long long v) : key(k), number(v), kind(Kind::kSigned) {}
  Field(std::string_view k, int v) : Field(k, static_cast<long long>(v)) {}
  Field(std::string_view k, long v) : Field(k, static_cast<long long>(v)) {}
  Field(std::string_view k, unsigned long long v)
      : key(k), unsigned_number(v), kind(Kind::kUnsigned) {}
  Field(std::string_view k, unsigned long v) : Field(k, static_cast<unsigned long long>(v)) {}
  enum class Kind { kText, kSigned, kUnsigned };
  std::string_view key;
  std::string_view text;
  long long number = 0;
  unsigned long long unsigned_number = 0;
  Kind kind = Kind::kText;
};

void SetComponent(std::string_view component);
void SetMinLevel(Level level);
/// Whether a line of `level` would be written (to skip building costly fields).
bool Enabled(Level level);
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
