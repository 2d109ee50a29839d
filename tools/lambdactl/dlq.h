#pragma once
// lambdactl dlq list|replay|purge (SPEC §5): the dead-lettered commands, over a blocking
// rabbitmq-c connection of the CLI's own (one channel, publisher confirms on).
#include <cstdint>
#include <string>

namespace lambda::ctl {

struct DlqArgs {
  std::string verb;         ///< list, replay or purge
  std::string amqp_url;     ///< --amqp-url / LAMBDA_AMQP_URL (a comma-separated node list)
  std::string amqp_prefix;  ///< --amqp-prefix / LAMBDA_AMQP_PREFIX
  int64_t max = 1000;       ///< --max: at most this many messages (list, replay)
};

/// Runs one dlq verb; returns the exit code (2: a bad URL, 1: failed).
int RunDlq(const DlqArgs& args);

}  // namespace lambda::ctl
