#!/usr/bin/env bash
# with_servers.sh [redis] [rabbitmq] [libvirt] -- COMMAND...
# Starts the named servers on free loopback ports with throwaway data directories, exports
# LAMBDA_TEST_REDIS_URL / LAMBDA_TEST_AMQP_URL (and their ports and dirs, so tests can kill and
# restart them), runs COMMAND, and stops everything whatever happens.
set -uo pipefail
source "$(dirname "$0")/../scripts/lib/common.sh"

want_redis=0 want_rabbit=0 want_libvirt=0
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    redis) want_redis=1 ;;
    rabbitmq) want_rabbit=1 ;;
    libvirt) want_libvirt=1 ;;
    *) echo "with_servers.sh: unknown server $1" >&2; exit 2 ;;
  esac
  shift
done
shift  # --

TMP="$(mktemp -d /tmp/lambda-test.XXXXXX)"
cleanup() {
  if [ "$want_rabbit" = 1 ]; then stop_rabbitmq "$TMP/rabbitmq" "$LAMBDA_TEST_AMQP_PORT"; fi
  if [ "$want_redis" = 1 ]; then stop_pidfile "$TMP/redis/redis.pid"; fi
  if [ "$want_libvirt" = 1 ]; then stop_libvirt "$TMP/libvirt"; fi
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

if [ "$want_redis" = 1 ]; then
  export LAMBDA_TEST_REDIS_PORT; LAMBDA_TEST_REDIS_PORT=$(free_port)
  export LAMBDA_TEST_REDIS_DIR="$TMP/redis"
  start_redis "$LAMBDA_TEST_REDIS_DIR" "$LAMBDA_TEST_REDIS_PORT" || exit 1
  export LAMBDA_TEST_REDIS_URL="redis://127.0.0.1:$LAMBDA_TEST_REDIS_PORT"
fi
if [ "$want_rabbit" = 1 ]; then
  export LAMBDA_TEST_AMQP_PORT; LAMBDA_TEST_AMQP_PORT=$(free_port)
  export LAMBDA_TEST_RABBIT_DIR="$TMP/rabbitmq"
  start_rabbitmq "$LAMBDA_TEST_RABBIT_DIR" "$LAMBDA_TEST_AMQP_PORT" || exit 1
  export LAMBDA_TEST_AMQP_URL="amqp://guest:guest@127.0.0.1:$LAMBDA_TEST_AMQP_PORT/"
  export LAMBDA_TEST_SCRIPTS="$LAMBDA_ROOT/scripts/lib/common.sh"
fi
if [ "$want_libvirt" = 1 ]; then
  # Real QEMU VMs: the daemons, and the test guest (built once into build/guest).
  (LAMBDA_DEBIAN_PACKAGES=("${LAMBDA_LIBVIRT_PACKAGES[@]}"); ensure_deps) || exit 1
  export LAMBDA_TEST_GUEST_DIR; LAMBDA_TEST_GUEST_DIR=$("$LAMBDA_ROOT/scripts/guest-image") || exit 1
  start_libvirt "$TMP/libvirt" || exit 1
  export LAMBDA_TEST_LIBVIRT_URI=qemu:///system
fi
"$@"
