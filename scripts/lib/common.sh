# Shared shell functions for scripts/ and the test harness. Source it; it defines, never runs.
# shellcheck shell=bash

LAMBDA_ROOT="${LAMBDA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

LAMBDA_DEBIAN_PACKAGES=(
  build-essential cmake pkg-config ccache
  libuv1-dev rapidjson-dev libhiredis-dev librabbitmq-dev libhttp-parser-dev libjemalloc-dev
  libgtest-dev libgmock-dev libcurl4-openssl-dev libssl-dev libvirt-dev libyaml-cpp-dev
  prometheus-cpp-dev libsystemd-dev prometheus chromium python3-websocket
  redis-server rabbitmq-server redis-tools nodejs npm
  wrk docker-compose curl procps python3
  clang-format clang-tidy clang-14 libfuzzer-14-dev
  nodejs npm
)

# Each step with the time of day and the seconds since the script started (CI's breakdown).
log_step() { printf '==> [%s +%ss] %s\n' "$(date +%T)" "$SECONDS" "$*" >&2; }

# The Flask + gunicorn + Celery peer of bench/peer/ (only `scripts/bench --peer` needs them).
LAMBDA_PEER_PACKAGES=(python3-celery python3-flask gunicorn python3-redis python3-gevent)
# The compose tier (tests/compose/compose_test.sh): a Docker engine, compose v1, and debootstrap
# for the base image when no registry can give one.
LAMBDA_COMPOSE_PACKAGES=(docker.io docker-compose debootstrap)
# deploy/kubernetes under `podman kube play` (tests/kubernetes/kube_play_test.sh, run by the
# compose tier); kubectl (for `kubectl kustomize`) is any the machine has, else Debian's.
LAMBDA_KUBE_PACKAGES=(podman catatonit python3-yaml)
# scripts/package and its test (tests/package/): Debian's packaging tools, and a Debian 12 root
# booted with systemd-nspawn to install the package into.
LAMBDA_PACKAGE_PACKAGES=(debhelper dpkg-dev lintian debootstrap systemd-container)
# package_version: the Debian version of this checkout: the newest v* tag as `git describe`
# gives it (1.2.0, or 1.2.0+3.gabc1234 after it), or before any tag the project version, the
# commit count and hash (0.1.0~git212.gabc1234, sorting before 0.1.0 itself).
package_version() {
  local d
  if d="$(git -C "$LAMBDA_ROOT" describe --tags --match 'v[0-9]*' 2>/dev/null)"; then
    d="${d#v}"
    echo "$d" | sed 's/-\([0-9]*\)-g\([0-9a-f]*\)$/+\1.g\2/'
  else
    printf '%s~git%s.g%s\n' \
      "$(sed -n 's/^project(lambda .*VERSION \([0-9.]*\)).*/\1/p' "$LAMBDA_ROOT/CMakeLists.txt")" \
      "$(git -C "$LAMBDA_ROOT" rev-list --count HEAD)" "$(git -C "$LAMBDA_ROOT" rev-parse --short HEAD)"
  fi
}
# Real clients the tests run as users do: Java 17's default HttpClient (it offers h2c).
LAMBDA_CLIENT_PACKAGES=(openjdk-17-jdk-headless)

# Installs the Debian packages that are missing (apt-get update once, then install), those of
# LAMBDA_DEBIAN_PACKAGES and any named as arguments.
ensure_deps() {
  local missing=() provided
  # What installed packages provide counts too: NodeSource's nodejs provides (and conflicts with)
  # npm, and installing Debian's npm there would replace that nodejs.
  provided="$(dpkg-query -W -f='${db:Status-Abbrev}|${Provides}\n' 2>/dev/null |
    sed -n 's/^ii *|//p' | tr ',' '\n' | sed 's/ *(.*//; s/^ *//')"
  for p in "${LAMBDA_DEBIAN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      grep -qxF "$p" <<<"$provided" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  if [ -n "${LAMBDA_NO_INSTALL:-}" ]; then
    echo "missing Debian packages: ${missing[*]} (LAMBDA_NO_INSTALL is set)" >&2
    return 1
  fi
  log_step "installing missing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  # Package scripts must not start services: we run our own servers on our own ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    local cleanup_policy=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "${cleanup_policy:-0}" = 1 ]; then $sudo rm -f /usr/sbin/policy-rc.d; fi
}

# Ports for servers are picked outside the range the kernel hands out for outgoing connections
# (/proc/sys/net/ipv4/ip_local_port_range): a port from inside it may be taken by any client's
# connection by the time the server it was saved for starts again.
# free_port [SPAN]: prints a free TCP port P on 127.0.0.1 (P..P+SPAN all outside that range).
free_port() {
  python3 - "${1:-0}" <<'PY' 2>/dev/null || free_port_bash
import random, socket, sys
span = int(sys.argv[1])
try:
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
except OSError:
    lo, hi = 32768, 60999
ranges = [(r0, r1 - span) for r0, r1 in ((10000, lo - 1), (hi + 1, 65535)) if r1 - span >= r0]
def free(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
weights = [r1 - r0 + 1 for r0, r1 in ranges]
for _ in range(1000):
    r0, r1 = random.choices(ranges, weights)[0]
    p = random.randint(r0, r1)
    if free(p) and (span == 0 or free(p + span)):
        print(p); break
else:
    sys.exit(1)
PY
}
# free_cluster_port: a free port P whose cluster bus port P+10000 is free too (Redis Cluster
# listens on both).
free_cluster_port() { free_port 10000; }
free_port_bash() {
  local p lo=32768
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  for _ in $(seq 1 200); do
    p=$(( (RANDOM % (lo - 10000)) + 10000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}
# port_free PORT: nothing listens on, or holds, 127.0.0.1:PORT (a saved port is checked before
# it is used again: an outgoing connection may have it now).
port_free() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# Builds with a CMake preset (dev, release, asan).
# ccache (when the build finds it) keys on paths relative to the checkout and ignores the working
# directory, so a fresh clone in another folder reuses what this machine compiled before.
build_preset() {
  local preset="$1"
  export CCACHE_BASEDIR="$LAMBDA_ROOT" CCACHE_NOHASHDIR=1
  (cd "$LAMBDA_ROOT" && cmake --preset "$preset" >/dev/null && cmake --build --preset "$preset" -j"$(nproc)" >/dev/null) || {
    echo "build failed; rerun: cmake --build --preset $preset" >&2; return 1; }
}

# proc_running PIDFILE: its process exists and is not a zombie. `kill -0` is true for a zombie,
# and PID 1 of a container (or of this machine) may reap late or never.
proc_running() {
  local pid state
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null)
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  # Field 3 of /proc/PID/stat, after the parenthesised name (which may hold spaces).
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# redis_answers PORT: Redis answers PING.
redis_answers() { timeout 3 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

# amqp_answers PORT: the broker accepts an AMQP 0-9-1 connection (answers the protocol header
# with a Connection.Start method frame, type 1).
amqp_answers() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "AMQP\x00\x00\x09\x01" >&3
    head -c 1 <&3 | od -An -tx1' "$1" 2>/dev/null | grep -q 01
}

# http_answers URL: the process behind URL answers 200 (its /healthz).
http_answers() { curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; }

# wait_http URL [TRIES]: until the URL answers 200.
wait_http() {
  local url="$1" tries="${2:-100}"
  for _ in $(seq 1 "$tries"); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# start_redis DIR PORT [PIDFILE]: AOF on, daemonized. Every write is on disk before Redis answers
# (appendfsync always), which is what "nothing accepted is lost" across a Redis crash needs.
# LAMBDA_REDIS_FSYNC=everysec is the explicit trade-off: faster, and a crash can lose the last
# second of accepted actions (scripts/bench shows the cost of each).
# stream-node-max-bytes 512: an instance's history and ledger streams hold few entries, and
# Redis's default 4 KB node makes each new one cost 4.7 KB (1.1 KB at 512), zeroed pages that
# show up as page faults and clear_page in a profile of the admissions.
# maxmemory with noeviction (LAMBDA_REDIS_MAXMEMORY, 1gb by default): a full Redis refuses
# writes (the shim answers 503 and changes nothing) instead of growing until the host kills it,
# and never drops a key it holds (an eviction policy would lose accepted actions).
REDIS_STREAM_NODE_BYTES=512
start_redis() {
  local dir="$1" port="$2" pidfile="${3:-$1/redis.pid}"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
    --appendfsync "${LAMBDA_REDIS_FSYNC:-always}" --stream-node-max-bytes "$REDIS_STREAM_NODE_BYTES" \
    --maxmemory "${LAMBDA_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy noeviction \
    --daemonize yes --pidfile "$pidfile" --logfile "$dir/redis.log" --save "" >/dev/null
  for _ in $(seq 1 100); do
    timeout 1 redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.1
  done
  echo "redis did not start on port $port; see $dir/redis.log" >&2
  return 1
}

# start_redis_cluster DIR PORT...: a Redis Cluster of one node per PORT (DIR/nodeN): three
# masters, the other nodes their replicas (six nodes: one each; nine: two each), AOF on as
# start_redis. A master's death is noticed after --cluster-node-timeout (LAMBDA_REDIS_NODE_TIMEOUT_MS,
# 2000 by default) and a replica promoted. With two replicas each, the other one follows the
# promoted master at once, so writes that WAIT for a replica go on within ~0.1 s of the
# promotion; with one, they wait until the dead node is back as a replica.
start_redis_cluster() {
  local dir="$1" i=0 port nodes=() conf replicas; shift
  replicas=$(($# / 3 - 1))
  for port in "$@"; do
    i=$((i + 1))
    start_redis_cluster_node "$dir/node$i" "$port" || return 1
    nodes+=("127.0.0.1:$port")
  done
  i=0
  for port in "$@"; do
    i=$((i + 1))
    for _ in $(seq 1 100); do
      # timeout: whatever took the port may accept and never answer
      timeout 1 redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && continue 2
      grep -q "Could not create server TCP listening socket" "$dir/node$i/redis.log" 2>/dev/null && break
      sleep 0.1
    done
    echo "redis cluster node $i (port $port) did not start:" >&2
    tail -3 "$dir/node$i/redis.log" >&2 2>/dev/null
    return 1
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas "$replicas" --cluster-yes \
    >"$dir/create.log" 2>&1 || { echo "redis cluster create failed:" >&2; tail -5 "$dir/create.log" >&2; return 1; }
  # Formed once every node sees every slot covered and every replica has its master's data.
  for _ in $(seq 1 300); do
    conf=0
    for port in "$@"; do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || continue
      redis-cli -p "$port" info replication 2>/dev/null |
        grep -qE '^(role:master|master_link_status:up)' && conf=$((conf + 1))
    done
    [ "$conf" = $# ] && return 0
    sleep 0.1
  done
  echo "redis cluster did not form; see $dir/node*/redis.log" >&2
  return 1
}

# start_redis_cluster_node DIR PORT: one node of it (also to bring a killed node back: its
# nodes.conf remembers the cluster, and it rejoins as a replica of whoever took its slots).
start_redis_cluster_node() {
  local dir="$1" port="$2"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
    --appendfsync "${LAMBDA_REDIS_FSYNC:-always}" --stream-node-max-bytes "$REDIS_STREAM_NODE_BYTES" \
    --maxmemory "${LAMBDA_REDIS_MAXMEMORY:-1gb}" --maxmemory-policy noeviction \
    --cluster-enabled yes \
    --cluster-config-file "$dir/nodes.conf" \
    --cluster-node-timeout "${LAMBDA_REDIS_NODE_TIMEOUT_MS:-2000}" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" >/dev/null
}

# stop_redis_cluster DIR COUNT: stops the nodes start_redis_cluster started.
stop_redis_cluster() {
  local dir="$1" count="$2" i
  for i in $(seq 1 "$count"); do stop_pidfile "$dir/node$i/redis.pid"; done
}

stop_pidfile() {
  local pidfile="$1" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null)
  if [ -n "$pid" ] && proc_running "$pidfile"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do proc_running "$pidfile" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# rabbit_env DIR PORT: exports the variables that make rabbitmq-server a private plain process.
rabbit_env() {
  local dir="$1" port="$2"
  local node_file="$dir/nodename" dist_file="$dir/distport"
  [ -f "$node_file" ] || echo "lambda$port-$$@localhost" >"$node_file"
  [ -f "$dist_file" ] || free_port >"$dist_file"
  export PATH="/usr/lib/rabbitmq/bin:$PATH"
  export HOME="$dir/home"
  export RABBITMQ_NODENAME; RABBITMQ_NODENAME=$(cat "$node_file")
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$port"
  export RABBITMQ_DIST_PORT; RABBITMQ_DIST_PORT=$(cat "$dist_file")
  export RABBITMQ_MNESIA_BASE="$dir/mnesia"
  export RABBITMQ_LOG_BASE="$dir/log"
  export RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
  export ERL_EPMD_ADDRESS=127.0.0.1
  # Every file the VM (or rabbitmqctl's) writes stays in DIR, never in the caller's directory.
  export ERL_CRASH_DUMP="$dir/erl_crash.dump"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

# start_rabbitmq DIR PORT: starts the broker and waits until it accepts work.
start_rabbitmq() {
  local dir="$1" port="$2"
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  dir="$(cd "$dir" && pwd)"
  # A saved distribution port that something else holds now is replaced (the node name stays).
  if [ -s "$dir/distport" ] && ! port_free "$(cat "$dir/distport")"; then free_port >"$dir/distport"; fi
  (
    cd "$dir" || exit 1
    rabbit_env "$dir" "$port"
    [ -f "$HOME/.erlang.cookie" ] || { head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$HOME/.erlang.cookie"; chmod 400 "$HOME/.erlang.cookie"; }
    # A classic queue (--queue-type classic) is declared as version 2, the store RabbitMQ 3.10+
    # recommends (3.10 still makes version 1 by default); quorum queues ignore the setting.
    cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$port
loopback_users.guest = true
disk_free_limit.absolute = 200MB
classic_queue.default_version = 2
CONF
    echo "[]." >"$dir/enabled_plugins"
    setsid rabbitmq-server >"$dir/server.log" 2>&1 </dev/null &
    # `wait` waits for the pid file, then distribution, then the app; await_startup alone can
    # give up before the node has registered.
    if ! rabbitmqctl -n "$RABBITMQ_NODENAME" wait "$RABBITMQ_PID_FILE" --timeout 120 >/dev/null 2>&1 ||
       ! rabbitmqctl -n "$RABBITMQ_NODENAME" await_startup --timeout 120 >/dev/null 2>&1; then
      echo "rabbitmq did not start on port $port; see $dir/server.log and $dir/log" >&2
      tail -n 15 "$dir/server.log" >&2  # the directory may be a test's, removed when it fails
      exit 1
    fi
  )
}

stop_rabbitmq() {
  local dir="$1" port="$2"
  [ -f "$dir/nodename" ] || return 0
  (
    rabbit_env "$dir" "$port"
    local pid=""
    [ -f "$RABBITMQ_PID_FILE" ] && pid=$(cat "$RABBITMQ_PID_FILE")
    rabbitmqctl -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || true
    if [ -n "$pid" ]; then
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    # epmd was started by this node's VM; leave it only if other nodes still use it.
    rm -f "$RABBITMQ_PID_FILE"
  )
}

# start_rabbitmq_cluster DIR PORT...: one node per PORT (DIR/node1, DIR/node2, ...) with one
# shared Erlang cookie, started together, then every node after the first joined to the first
# (stop_app, join_cluster, start_app). Quorum queues declared afterwards get a member on each.
start_rabbitmq_cluster() {
  local dir="$1"; shift
  local ports=("$@") i=0 pids=() cookie
  cookie=$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')
  for port in "${ports[@]}"; do
    i=$((i + 1))
    mkdir -p "$dir/node$i/home"
    printf '%s' "$cookie" >"$dir/node$i/home/.erlang.cookie"
    chmod 400 "$dir/node$i/home/.erlang.cookie"
    start_rabbitmq "$dir/node$i" "$port" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || return 1; done
  local first; first=$(cat "$dir/node1/nodename")
  for i in $(seq 2 ${#ports[@]}); do
    (
      rabbit_env "$dir/node$i" "${ports[$((i - 1))]}"
      rabbitmqctl -n "$RABBITMQ_NODENAME" stop_app >/dev/null &&
        rabbitmqctl -n "$RABBITMQ_NODENAME" join_cluster "$first" >/dev/null &&
        rabbitmqctl -n "$RABBITMQ_NODENAME" start_app >/dev/null
    ) || { echo "rabbitmq node $i did not join $first; see $dir/node$i/log" >&2; return 1; }
  done
}

# stop_rabbitmq_cluster DIR PORT...: stops the nodes start_rabbitmq_cluster started.
stop_rabbitmq_cluster() {
  local dir="$1"; shift
  local i=0 pids=()
  for port in "$@"; do
    i=$((i + 1))
    stop_rabbitmq "$dir/node$i" "$port" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
}

# What the libvirt provider needs on this host (installed only when it is asked for).
LAMBDA_LIBVIRT_PACKAGES=(libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils genisoimage busybox-static dropbear-bin cpio gzip openssh-client)

# libvirt_answers URI: a libvirt daemon serves URI.
libvirt_answers() { timeout 10 virsh -c "$1" version >/dev/null 2>&1; }

# start_libvirt DIR: makes qemu:///system answer. A daemon already serving it is used as it is
# (DIR/started stays absent); else virtlogd and libvirtd start as plain daemons (no systemd
# here) with their pid files in DIR, and stop_libvirt stops exactly those.
start_libvirt() {
  local dir="$1"
  mkdir -p "$dir"
  if libvirt_answers qemu:///system; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "start_libvirt: qemu:///system does not answer and only root can start libvirtd" >&2
    return 1
  fi
  # A root-only /dev/kvm (as on these machines) makes libvirt's KVM check disagree with its
  # root-run QEMU probe, and libvirt then re-probes QEMU (~40 s) on every define: QEMU runs as
  # root instead, which is what probing assumed.
  if [ -e /dev/kvm ] && [ "$(stat -c %a /dev/kvm)" = 600 ] &&
     ! grep -q '^user = "root"' /etc/libvirt/qemu.conf 2>/dev/null; then
    printf '\n# added by lambda (scripts/lib/common.sh start_libvirt): /dev/kvm is root-only\nuser = "root"\ngroup = "root"\n' >>/etc/libvirt/qemu.conf
  fi
  if ! pgrep -x virtlogd >/dev/null; then
    virtlogd -d -p "$dir/virtlogd.pid" || { echo "virtlogd did not start" >&2; return 1; }
  fi
  libvirtd -d -p "$dir/libvirtd.pid" || { echo "libvirtd did not start" >&2; return 1; }
  touch "$dir/started"
  for _ in $(seq 1 100); do
    libvirt_answers qemu:///system && return 0
    sleep 0.1
  done
  echo "libvirtd started but qemu:///system does not answer" >&2
  return 1
}

stop_libvirt() {
  local dir="$1"
  [ -f "$dir/started" ] || return 0
  stop_pidfile "$dir/libvirtd.pid"
  stop_pidfile "$dir/virtlogd.pid"
  rm -f "$dir/started"
}
