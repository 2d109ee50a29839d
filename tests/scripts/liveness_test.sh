#!/usr/bin/env bash
# scripts/up decides "running" by the process state and the service answering, never by
# `kill -0` alone (true for a zombie). Checks the helpers it uses against a real zombie, a real
# Redis (answering, then frozen) and a real RabbitMQ (from tests/with_servers.sh).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib/common.sh"
export -f proc_running redis_answers amqp_answers
fails=0 passes=0
check() {  # description, then the command that must succeed
  local what="$1"; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
tmp="$(mktemp -d)"
trap 'kill -KILL $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# A zombie: the child's parent execs into a program that never reaps it.
bash -c 'sleep 60 & echo $! >"$0"; exec sleep 30' "$tmp/zombie.pid" &
for _ in $(seq 1 50); do [ -s "$tmp/zombie.pid" ] && break; sleep 0.05; done
kill -KILL "$(cat "$tmp/zombie.pid")"
for _ in $(seq 1 50); do grep -q ' Z ' "/proc/$(cat "$tmp/zombie.pid")/stat" 2>/dev/null && break; sleep 0.05; done
check "the fault happened: the process is a zombie" grep -q ') Z ' "/proc/$(cat "$tmp/zombie.pid")/stat"
check "kill -0 is fooled by the zombie (why it is not used)" kill -0 "$(cat "$tmp/zombie.pid")"
check "proc_running is not fooled by a zombie" bash -c "! proc_running $tmp/zombie.pid"
sleep 30 & echo $! >"$tmp/live.pid"
check "proc_running sees a live process" proc_running "$tmp/live.pid"
check "proc_running: no pid file" bash -c "! proc_running $tmp/none.pid"

port=$(free_port)
check "redis_answers: nothing listening" bash -c "! redis_answers $port"
start_redis "$tmp/redis" "$port" "$tmp/redis.pid" >/dev/null
check "redis_answers: a live Redis" redis_answers "$port"
kill -STOP "$(cat "$tmp/redis.pid")"
check "redis_answers: a frozen Redis does not answer" bash -c "! redis_answers $port"
kill -CONT "$(cat "$tmp/redis.pid")"
stop_pidfile "$tmp/redis.pid"

check "amqp_answers: nothing listening" bash -c "! amqp_answers $(free_port)"
check "amqp_answers: the test's RabbitMQ" amqp_answers "$LAMBDA_TEST_AMQP_PORT"
check "amqp_answers: Redis is not a broker" bash -c "! amqp_answers $LAMBDA_TEST_REDIS_PORT"
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
