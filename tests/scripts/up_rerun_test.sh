#!/usr/bin/env bash
# scripts/up run again after scripts/down, with every port it saved (Redis, RabbitMQ and its
# distribution port, the worker's) now held by another process: it picks new ones, comes up, and
# leaves nothing in the directory it was run from (no erl_crash.dump).
#   up_rerun_test.sh BUILD_DIR   (its preset is the build's own)
set -uo pipefail
source "$(dirname "$0")/up_lib.sh"
unset LAMBDA_REDIS_URL LAMBDA_AMQP_URL LAMBDA_REDIS_PORT LAMBDA_AMQP_PORT
cwd="$state/cwd"
mkdir -p "$cwd"
up() { (cd "$cwd" && timeout 300 "$LAMBDA_ROOT/scripts/up") >"$state/up$1.log" 2>&1; }

lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
hi=$(cut -f2 /proc/sys/net/ipv4/ip_local_port_range)
outside() { [ "$1" -lt "$lo" ] || [ "$1" -gt "$hi" ]; }
for _ in 1 2 3 4 5 6 7 8; do
  p=$(free_port)
  check "free_port $p is outside the ephemeral range $lo-$hi" outside "$p"
done

up 1
check "the first scripts/up succeeded (see $state/up1.log)" test $? -eq 0 || cat "$state/up1.log" >&2
"$LAMBDA_ROOT/scripts/down" >/dev/null 2>&1
source "$state/ports"
dist=$(cat "$state/rabbitmq/distport")
wport=$(cat "$state/worker-1.port")
for p in "$REDIS_PORT" "$AMQP_PORT" "$dist" "$wport"; do
  check "saved port $p is outside the ephemeral range" outside "$p"
done

# Hold every saved port, as a client's outgoing connection or another server would.
python3 - "$REDIS_PORT" "$AMQP_PORT" "$dist" "$wport" >"$state/holder.out" 2>&1 <<'PY' &
import socket, sys, time
held = []
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # over the stopped servers' TIME_WAIT
    s.bind(("127.0.0.1", int(p))); s.listen(1); held.append(s)
print("held", flush=True)
time.sleep(600)
PY
holder=$!
for _ in $(seq 1 50); do grep -q held "$state/holder.out" && break; sleep 0.1; done
check "the saved ports are held" grep -q held "$state/holder.out" || cat "$state/holder.out" >&2

old_redis=$REDIS_PORT old_amqp=$AMQP_PORT
up 2
check "scripts/up with its saved ports taken succeeded (see $state/up2.log)" test $? -eq 0 ||
  cat "$state/up2.log" >&2
source "$state/ports"
check "a new Redis port" test "$REDIS_PORT" != "$old_redis"
check "a new RabbitMQ port" test "$AMQP_PORT" != "$old_amqp"
check "redis answers on its new port $REDIS_PORT" redis_answers "$REDIS_PORT"
check "rabbitmq answers on its new port $AMQP_PORT" amqp_answers "$AMQP_PORT"
check "a new distribution port" test "$(cat "$state/rabbitmq/distport")" != "$dist"
key="$(sed -n 's/^LAMBDA_API_KEY=//p' "$state/env")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" "http://127.0.0.1:$LAMBDA_HTTP_PORT/api/authenticate/")
check "the key works ($code)" test "$code" = 200
wport2=$(cat "$state/worker-1.port")
check "the worker answers on its new port $wport2" http_answers "http://127.0.0.1:$wport2/healthz"
kill "$holder" 2>/dev/null
"$LAMBDA_ROOT/scripts/down" >/dev/null 2>&1
leftover=$(ls -A "$cwd")
check "nothing left in the directory scripts/up ran from: '$leftover'" test -z "$leftover"
summary
