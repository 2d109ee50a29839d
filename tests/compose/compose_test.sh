#!/usr/bin/env bash
# The compose tier: docker-compose.yml run for real on a private Docker engine. It builds every
# image from Debian packages (the base image too, with debootstrap, when the engine has none),
# brings the stack up with three workers, waits until every service is healthy, creates a key
# with `docker-compose exec`, runs create -> STARTED -> stop -> STOPPED through the published
# port while the worker holding the create is killed, then `down -v`, runs the same image under
# deploy/kubernetes with podman (tests/kubernetes/kube_play_test.sh), stops its engine and
# checks that the host's interfaces, iptables rules and ip_forward are as they were.
# The engine runs with --bridge=none --iptables=false --ip-forward=false, so it never touches
# them (builds use the host's network; the stack's own bridge goes with `down`). Its data root
# (images, build cache) and the debootstrap tarball are kept in ~/.cache/lambda/docker, as apt
# keeps its downloads, so a later run is warm; LAMBDA_DOCKER_CACHE moves it.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib/common.sh"
ensure_deps "${LAMBDA_COMPOSE_PACKAGES[@]}" || exit 1

cache="${LAMBDA_DOCKER_CACHE:-${HOME:-/root}/.cache/lambda/docker}"
work="$(mktemp -d /tmp/lambda-compose.XXXXXX)"
mkdir -p "$cache"
export DOCKER_HOST="unix://$work/docker.sock"
# A short lease, so the worker that takes over from the killed one waits seconds, not 30.
export COMPOSE_PROJECT_NAME="lambdacompose$$" LAMBDA_HTTP_PORT LAMBDA_LEASE_MS=5000
LAMBDA_HTTP_PORT=$(free_port)
compose() { docker-compose -f "$LAMBDA_ROOT/docker-compose.yml" --project-directory "$LAMBDA_ROOT" "$@"; }
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
step() { printf '%s +%ss %s\n' "$(date +%T)" "$SECONDS" "$*"; }

host_state() {
  ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort
  iptables-save 2>/dev/null | grep -v '^#'
  ip6tables-save 2>/dev/null | grep -v '^#'
  cat /proc/sys/net/ipv4/ip_forward
  grep -c . /proc/mounts
}
host_state >"$work/host-before"

stop_engine() {
  [ -s "$work/dockerd.pid" ] || return 0
  local pid; pid=$(cat "$work/dockerd.pid")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  # containerd, started by dockerd, goes with it; a shim left behind would keep the mounts.
  pkill -f "containerd.*$work" 2>/dev/null
  rm -f "$work/dockerd.pid"
  # The engine leaves its namespace bind mount (exec-root/netns/default) behind.
  awk -v w="$work" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
}
cleanup() {
  if [ -S "$work/docker.sock" ]; then compose down -v --remove-orphans >/dev/null 2>&1; fi
  stop_engine
  rm -rf "$work"
}
trap cleanup EXIT

step "starting a private dockerd"
dockerd --data-root "$cache/data" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
  --host "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false --ip-forward=false \
  --ip-masq=false >"$work/dockerd.log" 2>&1 &
for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
docker info >/dev/null 2>&1 || { fail "dockerd did not start"; tail -20 "$work/dockerd.log" >&2; exit 1; }

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  tar_file="$cache/bookworm-minbase.tar"
  if [ ! -s "$tar_file" ]; then
    mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    mirror="${mirror:-http://deb.debian.org/debian}"
    step "debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { fail "debootstrap failed"; tail -20 "$work/debootstrap.log" >&2; exit 1; }
    # What Debian's own images do: no service starts inside a build, no package cache kept.
    printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d"
    chmod +x "$work/rootfs/usr/sbin/policy-rc.d"
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" -cf "$tar_file.tmp" . && mv "$tar_file.tmp" "$tar_file"
    rm -rf "$work/rootfs"
  fi
  step "docker import debian:bookworm-slim"
  docker import "$tar_file" debian:bookworm-slim >/dev/null || { fail "docker import failed"; exit 1; }
fi

# The engine's data persists between runs: a build that failed before left its stopped
# container, which is not this run's and must not count as one down left behind.
docker container prune -f >/dev/null 2>&1 || true
step "docker-compose build"
compose build >"$work/build.log" 2>&1 || { fail "build failed"; tail -40 "$work/build.log" >&2; exit 1; }
step "docker-compose up --scale worker=3"
compose up -d --scale worker=3 >"$work/up.log" 2>&1 || { fail "up failed"; tail -40 "$work/up.log" >&2; }

healthy() {
  local ids n=0 ok=0
  ids=$(compose ps -q)
  for c in $ids; do
    n=$((n + 1))
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null)" = healthy ] && ok=$((ok + 1))
  done
  [ "$n" -eq 6 ] && [ "$ok" -eq 6 ]
}
for _ in $(seq 1 180); do healthy && break; sleep 1; done
if healthy; then step "all 6 services healthy"; else
  fail "not every service became healthy"; compose ps >&2; compose logs --tail 30 >&2; exit 1
fi

key=$(compose exec -T api-shim lambdactl --redis-url redis://redis:6379/0 apikey create --tenant default | tr -d '\r')
[ -n "$key" ] || { fail "no key from docker-compose exec"; exit 1; }
url="http://127.0.0.1:$LAMBDA_HTTP_PORT"
api() { curl -s -m 10 -H "X-API-Key: $key" "$@"; }
# Build steps of 1.5 s each: the create takes about ten seconds, time to kill its worker.
body='{"instance_name":"compose","master_name":"m","slaves":1,"vcpus_master":1,"vcpus_slave":1,"ram_master":1024,"ram_slave":1024,"disk_master":10,"disk_slave":10,"ip_allocation":"master","network_request":1,"project_name":"p","simulate":{"step_ms":1500}}'
id=$(api -X POST -H 'Content-Type: application/json' -d "$body" "$url/api/lambda-instances/" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])' 2>/dev/null)
[ -n "$id" ] || { fail "create was not accepted"; exit 1; }
step "created $id through the published port"

# The worker that holds the create's lease dies mid-operation; another one finishes it.
redis_c=$(compose ps -q redis)
rcli() { docker exec "$redis_c" redis-cli "$@" | tr -d '\r'; }
holder=""
for _ in $(seq 1 100); do
  holder=$(rcli HGET "lambda:i:{$id}" lease_by)
  [ -n "$holder" ] && break; sleep 0.1
done
victim=""
for c in $(compose ps -q worker); do
  [ "${holder%%-*}" = "$(docker inspect -f '{{.Config.Hostname}}' "$c")" ] && victim="$c"
done
status_of() { api "$url/api/lambda-instances/$id/status/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["status"]["message"])' 2>/dev/null; }
if [ -n "$victim" ]; then
  before=$(status_of)
  docker kill "$victim" >/dev/null && step "killed worker ${victim:0:12} (held the lease as $holder) at $before"
  case "$before" in PENDING | INIT_DONE | *_INSTALLED | *_CREATED | *ING) ;; *) fail "the kill came too late ($before)" ;; esac
else
  fail "no worker container holds the lease ($holder)"
fi

wait_status() {
  local want="$1" s=""
  for _ in $(seq 1 240); do s=$(status_of); [ "$s" = "$want" ] && return 0; sleep 0.5; done
  fail "status $s, not $want"; return 1
}
wait_status STARTED && step "STARTED after the kill"
finisher=$(rcli XREVRANGE "lambda:h:{$id}" + - COUNT 1 | awk 'prev == "worker" { print; exit } { prev = $0 }')
step "the STARTED status was written by $finisher"
[ -n "$finisher" ] && [ "$finisher" != "$holder" ] || fail "STARTED not written by another worker ($finisher)"
code=$(api -o /dev/null -w '%{http_code}' -X POST -d action=stop "$url/api/lambda-instances/$id/")
[ "$code" = 202 ] || fail "stop answered $code"
wait_status STOPPED && step "STOPPED"

step "docker-compose down -v"
compose down -v --remove-orphans >"$work/down.log" 2>&1 || fail "down failed"
# The engine may still be removing a container that was restarting (the killed worker) when
# down returns: give it a few seconds, then name what is left.
for _ in $(seq 1 20); do [ -z "$(docker ps -aq)" ] && break; sleep 0.5; done
[ -z "$(docker ps -aq)" ] || { docker ps -a >&2; fail "containers left after down"; }
# The same image, under deploy/kubernetes (its own test, given the image this run built).
step "deploy/kubernetes under podman kube play"
"$LAMBDA_ROOT/tests/kubernetes/kube_play_test.sh" lambda:latest || fail "deploy/kubernetes under podman kube play"
stop_engine
host_state >"$work/host-after"
if ! diff "$work/host-before" "$work/host-after" >"$work/host-diff"; then
  fail "the host's interfaces, iptables or ip_forward changed:"; cat "$work/host-diff" >&2
fi
step "done: $fails failure(s)"
[ "$fails" -eq 0 ]
