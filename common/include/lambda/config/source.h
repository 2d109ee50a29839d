#pragma once
/// Reads typed settings from `--flag=value` / `--flag value` and `LAMBDA_FLAG` environment
/// variables (the flag wins). Every problem is collected; unknown flags are errors.
/// Use once at start; binaries turn a non-empty `errors()` into exit code 2.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lambda::config {

/// The one-sentence description of a setting (empty when it has none).
std::string_view SettingHelp(std::string_view name);

class Source {
 public:
  Source(int argc, char** argv);

  std::string String(const std::string& name, const std::string& fallback);
  int64_t Int(const std::string& name, int64_t fallback, int64_t min, int64_t max);
  bool Bool(const std::string& name, bool fallback);
  std::string OneOf(const std::string& name, const std::string& fallback,
                    const std::vector<std::string>& allowed);
  bool help() const { return help_; }

  /// Call after every setting was read: adds an error for each flag nobody asked for.
  const std::vector<std::string>& Finish();
  void AddError(std::string e) { errors_.push_back(std::move(e)); }
  /// One line per known setting, for --help.
  std::string Usage() const;

 private:
  const std::string* Lookup(const std::string& name);
  std::map<std::string, std::string> flags_;
  std::set<std::string> used_;
  std::vector<std::string> errors_;
  std::vector<std::string> usage_;
  std::string env_value_;
  bool help_ = false;
};

}  // namespace lambda::config
