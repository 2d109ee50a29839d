#pragma once
/// The connection settings the shim and the worker share, read the same way by both.
#include "lambda/amqp/config.h"
#include "lambda/config/source.h"
#include "lambda/redis/async_client.h"

namespace lambda::config {

/// --redis-url (redis://[:password@]host:port/db); a bad URL is recorded as an error.
redis::Config ReadRedis(Source& src);
/// --amqp-url, --amqp-prefix, --queue-type and --publish-timeout-ms over `base`, which carries
/// what only one binary sets (prefetch, the in-flight bound).
amqp::Config ReadAmqp(Source& src, amqp::Config base);

}  // namespace lambda::config
