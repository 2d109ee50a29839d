#pragma once
// A Redis client for unit tests that records each call and answers only when the test says so,
// oldest first: the test sees exactly what was sent, in order, and steps the protocol by hand.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "lambda/redis/async_client.h"

namespace lambda::testing {

class RecordingRedis : public redis::Client {
 public:
  struct Call {
    std::vector<std::string> argv;  ///< a script call as {"EVALSHA", name, keys..., args...}
    redis::Callback cb;
  };

  bool connected() const override { return true; }
  void Command(const std::vector<std::string>& argv, redis::Callback cb) override {
    calls.push_back({argv, std::move(cb)});
  }
  void EvalSha(const redis::Script& script, const std::vector<std::string>& keys,
               std::vector<std::string> args, redis::Callback cb) override {
    std::vector<std::string> argv{"EVALSHA", std::string(script.name)};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    calls.push_back({std::move(argv), std::move(cb)});
  }
  /// Answers the oldest call (moved out first: answering may queue another).
  void Answer(Result<redis::Value> v) {
    ASSERT_FALSE(calls.empty());
    auto c = std::move(calls.front());
    calls.erase(calls.begin());
    c.cb(std::move(v));
  }

  std::vector<Call> calls;
};

}  // namespace lambda::testing
