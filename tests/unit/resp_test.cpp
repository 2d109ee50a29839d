// Our RESP command formatting gives byte for byte what hiredis's own formatter gives.
#include "lambda/redis/resp.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

namespace lambda::redis {
namespace {

std::string HiredisFormat(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* out = nullptr;
  int n = redisFormatCommandArgv(&out, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  std::string s(out, static_cast<size_t>(n));
  redisFreeCommand(out);
  return s;
}

TEST(Resp, CommandsAreFormattedAsHiredisFormatsThem) {
  const std::vector<std::vector<std::string>> cases = {
      {"PING"},
      {"SET", "k", "v"},
      {"SET", "", ""},
      {"EVALSHA", "0123456789abcdef", "2", "lambda:i:{x}", "lambda:h:{x}", "1700000000000"},
      {"SET", std::string("a\0b\r\nc", 6), std::string(100000, 'x')},
  };
  for (const auto& argv : cases) EXPECT_EQ(FormatCommand(argv), HiredisFormat(argv));
  // Lengths and counts on each side of a digit boundary (the output is sized before it is written).
  std::vector<std::string> many;
  for (size_t len : {0u, 1u, 9u, 10u, 11u, 99u, 100u, 101u, 999u, 1000u, 9999u, 10000u}) {
    many.push_back(std::string(len, 'a'));
    EXPECT_EQ(FormatCommand(many), HiredisFormat(many)) << many.size() << " arguments";
  }
  while (many.size() < 101) many.push_back(std::to_string(many.size()));
  EXPECT_EQ(FormatCommand(many), HiredisFormat(many));
  EXPECT_EQ(FormatCommand({"GET", "key"}), "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
  EXPECT_EQ(FormatCommand({}), "*0\r\n");
}

}  // namespace
}  // namespace lambda::redis
