// The connection URLs every binary and lambdactl read from flags and the environment.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lambda/amqp/config.h"
#include "lambda/redis/async_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view url(reinterpret_cast<const char*>(data), size);
  (void)lambda::redis::ParseUrl(url);
  (void)lambda::amqp::ParseUrl(url);
  return 0;
}
