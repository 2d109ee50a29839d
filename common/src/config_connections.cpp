#include "lambda/config/connections.h"

namespace lambda::config {

redis::Config ReadRedis(Source& src) {
  auto redis = redis::ParseUrl(src.String("redis-url", "redis://127.0.0.1:6379"));
  auto command_timeout_ms =
      static_cast<uint64_t>(src.Int("redis-command-timeout-ms", 5000, 50, 600000));
  if (redis) {
    redis->command_timeout_ms = command_timeout_ms;
    return *redis;
  }
  src.AddError("--redis-url: " + redis.error().message);
  return {};
}

amqp::Config ReadAmqp(Source& src, amqp::Config base) {
  base.prefix = src.String("amqp-prefix", base.prefix);
  base.queue_type = src.OneOf("queue-type", base.queue_type, {"quorum", "classic"});
  base.publish_timeout_ms = static_cast<uint64_t>(src.Int("publish-timeout-ms", 5000, 50, 600000));
  auto amqp = amqp::ParseUrl(src.String("amqp-url", "amqp://guest:guest@127.0.0.1:5672/"), base);
  if (amqp) return *amqp;
  src.AddError("--amqp-url: " + amqp.error().message);
  return base;
}

}  // namespace lambda::config
