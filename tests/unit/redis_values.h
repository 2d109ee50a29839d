#pragma once
// Building redis::Value replies for the fakes of the unit tests.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lambda/redis/async_client.h"

namespace lambda::testing {

inline redis::Value Str(const std::string& s) {
  redis::Value v;
  v.type = redis::Value::Type::kString;
  v.str = s;
  return v;
}

inline redis::Value Int(int64_t i) {
  redis::Value v;
  v.type = redis::Value::Type::kInteger;
  v.integer = i;
  v.str = std::to_string(i);
  return v;
}

inline redis::Value Array(std::vector<redis::Value> elements) {
  redis::Value v;
  v.type = redis::Value::Type::kArray;
  v.elements = std::move(elements);
  return v;
}

}  // namespace lambda::testing
