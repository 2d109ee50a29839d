#!/usr/bin/env bash
# Private servers for the tests, on free loopback ports with throwaway data directories; they
# export LAMBDA_TEST_REDIS_URL / LAMBDA_TEST_AMQP_URL (and their ports and dirs, so tests can
# kill and restart them). Stopped by pid, whatever happens.
#   with_servers.sh [redis] [redis-cluster] [rabbitmq] [rabbitmq-cluster] [libvirt] -- COMMAND...
#                                                                 start, run, stop
#   with_servers.sh --up STATE [redis] [rabbitmq] [libvirt]       start, leave them running
#   with_servers.sh --in STATE -- COMMAND...                      run COMMAND against them
#   with_servers.sh --down STATE                                  stop them, remove STATE
# The last three are a CTest fixture: one set of servers per test binary, each gtest case its
# own CTest entry (and process) in between.
set -uo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"

mode=run state=""
case "${1:-}" in
  --up | --in | --down) mode="${1#--}" state="$2"; shift 2 ;;
esac

if [ "$mode" = in ]; then
  shift  # --
  # What the build wrote (the binaries under test), then what --up wrote (the servers; absent
  # for tests without servers, and at discovery time: gtest --gtest_list_tests at build time).
  if [ -f "$state.build-env" ]; then source "$state.build-env"; fi
  if [ -f "$state/env" ]; then source "$state/env"; fi
  exec "$@"
fi

stop_all() {
  if [ "$want_rabbit" = 1 ]; then stop_rabbitmq "$TMP/rabbitmq" "$LAMBDA_TEST_AMQP_PORT"; fi
  if [ "$want_rabbit_cluster" = 1 ]; then
    stop_rabbitmq_cluster "$TMP/rabbitmq-cluster" $LAMBDA_TEST_AMQP_PORTS
  fi
  if [ "$want_redis" = 1 ]; then stop_pidfile "$TMP/redis/redis.pid"; fi
  if [ "$want_redis_cluster" = 1 ]; then stop_redis_cluster "$TMP/redis-cluster" "$LAMBDA_TEST_REDIS_NODES"; fi
  if [ "$want_libvirt" = 1 ]; then stop_libvirt "$TMP/libvirt"; fi
  rm -rf "$TMP"
}

if [ "$mode" = down ]; then
  [ -f "$state/env" ] || exit 0
  source "$state/env"
  want_redis=$LAMBDA_TEST_WANT_REDIS want_rabbit=$LAMBDA_TEST_WANT_RABBIT
  want_libvirt=$LAMBDA_TEST_WANT_LIBVIRT TMP=$LAMBDA_TEST_TMP
  want_rabbit_cluster=$LAMBDA_TEST_WANT_RABBIT_CLUSTER
  want_redis_cluster=${LAMBDA_TEST_WANT_REDIS_CLUSTER:-0}
  stop_all
  rm -rf "$state"
  exit 0
fi

want_redis=0 want_rabbit=0 want_libvirt=0 want_rabbit_cluster=0 want_redis_cluster=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    redis) want_redis=1 ;;
    redis-cluster) want_redis_cluster=1 ;;
    rabbitmq) want_rabbit=1 ;;
    rabbitmq-cluster) want_rabbit_cluster=1 ;;
    libvirt) want_libvirt=1 ;;
    *) echo "with_servers.sh: unknown server $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$mode" = run ] && shift  # --

TMP="$(mktemp -d /tmp/lambda-test.XXXXXX)"
if [ "$mode" = run ]; then
  trap stop_all EXIT INT TERM
else
  # --up: a failed start leaves nothing behind; a good one is stopped by --down.
  trap 'rc=$?; [ $rc -ne 0 ] && stop_all; exit $rc' EXIT
fi

if [ "$want_redis" = 1 ]; then
  export LAMBDA_TEST_REDIS_PORT; LAMBDA_TEST_REDIS_PORT=$(free_port)
  export LAMBDA_TEST_REDIS_DIR="$TMP/redis"
  start_redis "$LAMBDA_TEST_REDIS_DIR" "$LAMBDA_TEST_REDIS_PORT" || exit 1
  export LAMBDA_TEST_REDIS_URL="redis://127.0.0.1:$LAMBDA_TEST_REDIS_PORT"
fi
if [ "$want_redis_cluster" = 1 ]; then
  # Three masters with two replicas each (a failover leaves the promoted master a replica, so
  # admissions that WAIT for one go on at once): LAMBDA_TEST_REDIS_URL is redis+cluster:// with
  # all nine as seeds; node N is LAMBDA_TEST_REDIS_PORT_N in LAMBDA_TEST_REDIS_DIR_N (its pid
  # file there), N up to LAMBDA_TEST_REDIS_NODES.
  export LAMBDA_TEST_REDIS_NODES=9 LAMBDA_TEST_REDIS_PORTS=""
  export LAMBDA_TEST_REDIS_CLUSTER_DIR="$TMP/redis-cluster"
  seeds=""
  for i in $(seq 1 "$LAMBDA_TEST_REDIS_NODES"); do
    port=$(free_cluster_port)
    while [[ " $LAMBDA_TEST_REDIS_PORTS " == *" $port "* ]]; do port=$(free_cluster_port); done
    LAMBDA_TEST_REDIS_PORTS+="${LAMBDA_TEST_REDIS_PORTS:+ }$port"
    seeds+="${seeds:+,}127.0.0.1:$port"
    export "LAMBDA_TEST_REDIS_PORT_$i=$port" "LAMBDA_TEST_REDIS_DIR_$i=$TMP/redis-cluster/node$i"
  done
  export LAMBDA_TEST_REDIS_URL="redis+cluster://$seeds"
  # shellcheck disable=SC2086  # the list of ports
  start_redis_cluster "$LAMBDA_TEST_REDIS_CLUSTER_DIR" $LAMBDA_TEST_REDIS_PORTS || exit 1
  export LAMBDA_TEST_SCRIPTS="$LAMBDA_ROOT/scripts/lib/common.sh"
fi
if [ "$want_rabbit" = 1 ]; then
  export LAMBDA_TEST_AMQP_PORT LAMBDA_TEST_RABBIT_DIR="$TMP/rabbitmq"
  # Parallel fixtures pick free ports at the same time, so the broker's port (or its
  # distribution port, chosen per directory) can be taken before it binds: one more start in a
  # fresh directory on fresh ports. start_rabbitmq prints a failed start's log tail, since a
  # failed fixture removes $TMP.
  for try in 1 2; do
    LAMBDA_TEST_AMQP_PORT=$(free_port)
    start_rabbitmq "$LAMBDA_TEST_RABBIT_DIR" "$LAMBDA_TEST_AMQP_PORT" && break
    stop_rabbitmq "$LAMBDA_TEST_RABBIT_DIR" "$LAMBDA_TEST_AMQP_PORT"
    [ "$try" = 2 ] && exit 1
    mv "$LAMBDA_TEST_RABBIT_DIR" "$TMP/rabbitmq-failed-start"
    echo "with_servers.sh: starting rabbitmq again on fresh ports" >&2
  done
  export LAMBDA_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$LAMBDA_TEST_AMQP_PORT/"
  export LAMBDA_TEST_SCRIPTS="$LAMBDA_ROOT/scripts/lib/common.sh"
fi
if [ "$want_rabbit_cluster" = 1 ]; then
  # Three nodes joined into one cluster: LAMBDA_TEST_AMQP_URL lists all three (the order the
  # binaries try them in); node N is LAMBDA_TEST_AMQP_PORT_N in LAMBDA_TEST_RABBIT_DIR_N.
  export LAMBDA_TEST_AMQP_PORTS="" LAMBDA_TEST_AMQP_URL="" LAMBDA_TEST_RABBIT_CLUSTER_DIR="$TMP/rabbitmq-cluster"
  for i in 1 2 3; do
    port=$(free_port)
    while [[ " $LAMBDA_TEST_AMQP_PORTS " == *" $port "* ]]; do port=$(free_port); done
    LAMBDA_TEST_AMQP_PORTS+="${LAMBDA_TEST_AMQP_PORTS:+ }$port"
    LAMBDA_TEST_AMQP_URL+="${LAMBDA_TEST_AMQP_URL:+,}amqp://guest:guest@127.0.0.1:$port/"
    export "LAMBDA_TEST_AMQP_PORT_$i=$port" "LAMBDA_TEST_RABBIT_DIR_$i=$TMP/rabbitmq-cluster/node$i"
  done
  # shellcheck disable=SC2086  # the list of ports
  start_rabbitmq_cluster "$LAMBDA_TEST_RABBIT_CLUSTER_DIR" $LAMBDA_TEST_AMQP_PORTS || exit 1
  export LAMBDA_TEST_SCRIPTS="$LAMBDA_ROOT/scripts/lib/common.sh"
fi
if [ "$want_libvirt" = 1 ]; then
  # Real QEMU VMs: the daemons, and the test guest (built once into build/guest).
  (LAMBDA_DEBIAN_PACKAGES=("${LAMBDA_LIBVIRT_PACKAGES[@]}"); ensure_deps) || exit 1
  export LAMBDA_TEST_GUEST_DIR; LAMBDA_TEST_GUEST_DIR=$("$LAMBDA_ROOT/scripts/guest-image") || exit 1
  start_libvirt "$TMP/libvirt" || exit 1
  export LAMBDA_TEST_LIBVIRT_URI=qemu:///system
fi

if [ "$mode" = up ]; then
  mkdir -p "$state"
  {
    echo "export LAMBDA_TEST_TMP=$TMP LAMBDA_TEST_WANT_REDIS=$want_redis"
    echo "export LAMBDA_TEST_WANT_RABBIT=$want_rabbit LAMBDA_TEST_WANT_LIBVIRT=$want_libvirt"
    echo "export LAMBDA_TEST_WANT_RABBIT_CLUSTER=$want_rabbit_cluster"
    echo "export LAMBDA_TEST_WANT_REDIS_CLUSTER=$want_redis_cluster"
    env | grep -E '^LAMBDA_TEST_(REDIS|AMQP|RABBIT|SCRIPTS|GUEST|LIBVIRT)' |
      while IFS='=' read -r k v; do printf 'export %s=%q\n' "$k" "$v"; done
  } >"$state/env.tmp"
  mv "$state/env.tmp" "$state/env"
  exit 0
fi
"$@"
