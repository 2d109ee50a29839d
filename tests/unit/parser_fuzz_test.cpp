// Randomised robustness of the parser, router and body decoders: mutated and random requests,
// fed in random splits. Nothing may crash or hang (run under ASan/UBSan in scripts/test).
#include <gtest/gtest.h>

#include <random>

#include "lambda/http/parser.h"
#include "routes/body.h"
#include "routes/table.h"

namespace lambda::http {
namespace {

const std::vector<std::string> kSeeds = {
    "GET /api/lambda-instances/?limit=5&offset=1 HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\n\r\n",
    "POST /api/lambda-instances/9ac8e7ab-57f9-48a6-af18-ef8a749b1e8c/ HTTP/1.1\r\nContent-Type: "
    "multipart/form-data; "
    "boundary=b\r\nContent-Length: 60\r\n\r\n--b\r\nContent-Disposition: form-data; "
    "name=\"action\"\r\n\r\nstart\r\n--b--\r\n",
    "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "DELETE /api/lambda-instances/count HTTP/1.0\r\n\r\n",
};

TEST(ParserFuzz, MutatedRequestsNeverCrash) {
  std::mt19937 rng(12345);
  int complete = 0, errors = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string s = kSeeds[rng() % kSeeds.size()];
    int mutations = 1 + static_cast<int>(rng() % 8);
    for (int m = 0; m < mutations && !s.empty(); ++m) {
      size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          s.erase(pos, 1 + rng() % 4);
          break;
        case 2:
          s.insert(pos, std::string(1 + rng() % 3, static_cast<char>(rng() % 256)));
          break;
        case 3:
          s.insert(pos, s.substr(rng() % s.size(), rng() % 16));
          break;
      }
    }
    RequestParser p(ParserLimits{512, 256});
    size_t off = 0;
    while (off < s.size()) {
      size_t chunk = 1 + rng() % (s.size() - off);
      size_t used = 0;
      auto st = p.Feed(s.data() + off, chunk, &used);
      if (st == RequestParser::State::kError) {
        ++errors;
        EXPECT_TRUE(p.error_status() == 400 || p.error_status() == 413 || p.error_status() == 431);
        break;
      }
      if (st == RequestParser::State::kComplete) {
        ++complete;
        Request r = p.Take();
        auto m = routes::Match(r.method, r.path);
        (void)m;
        (void)routes::DecodeActionField(r);
        (void)routes::ExtractApiKey(r);
        off += used;
        continue;
      }
      ASSERT_EQ(used, chunk);  // need-more consumes everything it was given
      off += chunk;
    }
  }
  EXPECT_GT(complete, 100);
  EXPECT_GT(errors, 100);
}

}  // namespace
}  // namespace lambda::http
