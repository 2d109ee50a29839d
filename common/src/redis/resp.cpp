#include "lambda/redis/resp.h"

#include <charconv>

namespace lambda::redis {
namespace {

void AppendHeader(std::string& out, char kind, size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.push_back(kind);
  out.append(digits, end);
  out.append("\r\n", 2);
}

}  // namespace

std::string FormatCommand(const std::vector<std::string>& argv) {
  size_t size = 16;
  for (const auto& a : argv) size += a.size() + 16;  // "$<up to 11 digits>\r\n" ... "\r\n"
  std::string out;
  out.reserve(size);
  AppendHeader(out, '*', argv.size());
  for (const auto& a : argv) {
    AppendHeader(out, '$', a.size());
    out.append(a);
    out.append("\r\n", 2);
  }
  return out;
}

}  // namespace lambda::redis
