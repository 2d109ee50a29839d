#!/usr/bin/env bash
# scripts/up with LAMBDA_REDIS_URL / LAMBDA_AMQP_URL (the servers of tests/with_servers.sh) starts
# neither server, runs the shim and a worker against the given ones, and scripts/down leaves
# them running.   up_given_servers_test.sh BUILD_DIR   (its preset is the build's own)
set -uo pipefail
source "$(dirname "$0")/up_lib.sh"

LAMBDA_REDIS_URL="$LAMBDA_TEST_REDIS_URL" LAMBDA_AMQP_URL="$LAMBDA_TEST_AMQP_URL" \
  "$LAMBDA_ROOT/scripts/up" >"$state/up.log" 2>&1
check "scripts/up succeeded (see $state/up.log)" test $? -eq 0 || cat "$state/up.log" >&2
check "no Redis of its own" test ! -e "$state/run/redis.pid" -a ! -e "$state/redis"
check "no RabbitMQ of its own" test ! -e "$state/run/rabbitmq.pid" -a ! -e "$state/rabbitmq"
check "env names the given Redis" grep -qxF "LAMBDA_REDIS_URL=$LAMBDA_TEST_REDIS_URL" "$state/env"
check "env names the given RabbitMQ" grep -qxF "LAMBDA_AMQP_URL=$LAMBDA_TEST_AMQP_URL" "$state/env"
key="$(sed -n 's/^LAMBDA_API_KEY=//p' "$state/env")"
url="http://127.0.0.1:$LAMBDA_HTTP_PORT"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" "$url/api/authenticate/")
check "the key works ($code)" test "$code" = 200
body='{"instance_name":"given","master_name":"m","slaves":1,"vcpus_master":1,"vcpus_slave":1,"ram_master":1024,"ram_slave":1024,"disk_master":10,"disk_slave":10,"ip_allocation":"master","network_request":1,"project_name":"p"}'
code=$(curl -s -o "$state/create.json" -w '%{http_code}' -X POST -H "X-API-Key: $key" \
  -H 'Content-Type: application/json' -d "$body" "$url/api/lambda-instances/")
check "a create is accepted ($code)" test "$code" = 202
check "the instance is in the given Redis" bash -c \
  "redis-cli -p $LAMBDA_TEST_REDIS_PORT --scan --pattern 'lambda:i:*' | grep -q ."

"$LAMBDA_ROOT/scripts/down" >/dev/null 2>&1
check "scripts/down left the given Redis running" redis_answers "$LAMBDA_TEST_REDIS_PORT"
check "scripts/down left the given RabbitMQ running" amqp_answers "$LAMBDA_TEST_AMQP_PORT"
summary
