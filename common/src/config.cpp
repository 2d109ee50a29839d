#include <cstdlib>

#include "lambda/config/source.h"
#include "lambda/util/util.h"

namespace lambda::config {
namespace {

std::string EnvName(const std::string& flag) {
  std::string out = "LAMBDA_";
  for (char c : flag)
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Source::Source(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      errors_.push_back("unexpected argument: " + a);
      continue;
    }
    a.erase(0, 2);
    if (auto eq = a.find('='); eq != std::string::npos) {
      flags_[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
      flags_[a] = argv[++i];
    } else {
      flags_[a] = "true";
    }
  }
}

const std::string* Source::Lookup(const std::string& name) {
  used_.insert(name);
  if (auto it = flags_.find(name); it != flags_.end()) return &it->second;
  if (const char* e = std::getenv(EnvName(name).c_str()); e != nullptr) {
    env_value_ = e;
    return &env_value_;
  }
  return nullptr;
}

std::string Source::String(const std::string& name, const std::string& fallback) {
  usage_.push_back("--" + name + " / " + EnvName(name) + " (default: " + fallback + ")");
  const auto* v = Lookup(name);
  return v ? *v : fallback;
}

int64_t Source::Int(const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  usage_.push_back("--" + name + " / " + EnvName(name) + " (integer " + std::to_string(min) + ".." +
                   std::to_string(max) + ", default: " + std::to_string(fallback) + ")");
  const auto* v = Lookup(name);
  if (v == nullptr) return fallback;
  auto parsed = util::ParseInt(*v);
  if (!parsed || *parsed < min || *parsed > max) {
    errors_.push_back("--" + name + ": expected an integer in " + std::to_string(min) + ".." +
                      std::to_string(max) + ", got '" + *v + "'");
    return fallback;
  }
  return *parsed;
}

bool Source::Bool(const std::string& name, bool fallback) {
  usage_.push_back("--" + name + " / " + EnvName(name) +
                   " (true|false, default: " + (fallback ? "true" : "false") + ")");
  const auto* v = Lookup(name);
  if (v == nullptr) return fallback;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  errors_.push_back("--" + name + ": expected true or false, got '" + *v + "'");
  return fallback;
}

std::string Source::OneOf(const std::string& name, const std::string& fallback,
                          const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : "|") + a;
  usage_.push_back("--" + name + " / " + EnvName(name) + " (" + list + ", default: " + fallback +
                   ")");
  const auto* v = Lookup(name);
  if (v == nullptr) return fallback;
  for (const auto& a : allowed) {
    if (*v == a) return a;
  }
  errors_.push_back("--" + name + ": expected one of " + list + ", got '" + *v + "'");
  return fallback;
}

const std::vector<std::string>& Source::Finish() {
  for (const auto& [k, v] : flags_) {
    if (!used_.count(k)) errors_.push_back("unknown flag --" + k);
  }
  return errors_;
}

std::string Source::Usage() const {
  std::string out;
  for (const auto& u : usage_) {
    out += "  " + u + "\n";
    // "--name / ENV (…)": the name is the first word without its dashes.
    auto name = std::string_view(u).substr(2, u.find(' ') - 2);
    if (auto help = SettingHelp(name); !help.empty()) {
      out += "      ";
      out += help;
      out += "\n";
    }
  }
  return out;
}

}  // namespace lambda::config
