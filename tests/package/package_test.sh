#!/usr/bin/env bash
# The Debian package as an operator meets it, on a clean Debian 12 root booted by systemd-nspawn
# (systemd as the container's PID 1, its own network namespace): `apt install ./lambda_*.deb`
# resolves the dependencies dh_shlibdeps computed; Redis, RabbitMQ and lambda.target start
# (Type=notify: `systemctl start` returns once both services said READY=1); the installed
# lambdactl makes an API key and an instance reaches STARTED through the installed shim; a
# SIGKILLed worker is restarted by systemd and every instance still reaches STARTED; a wedged
# (SIGSTOPped) shim is killed by the watchdog and restarted; `systemctl stop` is graceful;
# `apt purge` leaves no file behind. Prints the figures (package size, install time, time to
# READY, restart times, exposure scores).
#   package_test.sh [DEB]   (without DEB: scripts/package builds it)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../scripts/lib/common.sh"
source "$here/debian_root.sh"
fails=0 passes=0
check() {  # description, then the command that must succeed
  local what="$1"; shift
  if "$@"; then passes=$((passes + 1)); echo "ok   $what"; else echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}
figure() { echo "FIGURE $*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

deb="${1:-}"
if [ -z "$deb" ]; then
  deb="$("$LAMBDA_ROOT/scripts/package")" || { echo "FAIL: scripts/package" >&2; exit 1; }
fi
figure "package $(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
tarball="$(debian_root_tarball)" || { echo "FAIL: no Debian 12 root" >&2; exit 1; }

root="$(mktemp -d /var/tmp/lambda-pkg.XXXXXX)"
machine="lambda-pkg-$$"
leader=""
nspawn_pid=""
cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid"  # nspawn asks the container's systemd to halt
    for _ in $(seq 1 300); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nspawn_pid" 2>/dev/null
  fi
  rm -rf "$root"
  rm -f "$root".{before,after}
}
trap cleanup EXIT
trap "exit 1" INT TERM
tar -C "$root" -xf "$tarball"
chmod 0755 "$root"  # mktemp's 0700 would keep every service user out of /
# What a clean root holds, to compare with what purge leaves.
files() {
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o -path ./tmp \
    -o -path ./var/tmp -o -path ./var/log -o -path ./var/cache -o -path ./var/lib/apt \
    -o -path ./var/lib/dpkg -o -path ./var/lib/systemd -o -path ./var/lib/redis \
    -o -path ./var/lib/rabbitmq -o -path ./etc/rabbitmq -o -path ./root \) -prune -o -print | sort)
}
files >"$root.before"

# Not booted: apt as on any Debian machine (the host's network, deb.debian.org); .debs cached.
mkdir -p "$CACHE/apt-archives/partial"
# Not /tmp: nspawn mounts a fresh one over it.
cp "$deb" "$root/srv/"
t0=$(now)
systemd-nspawn -q -D "$root" --register=no --keep-unit --bind="$CACHE/apt-archives:/var/cache/apt/archives" \
  sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /srv/$(basename "$deb")" \
  >"$root.install.log" 2>&1
rc=$?
rm -f "$root/srv/$(basename "$deb")"
check "apt install ./$(basename "$deb") (see $root.install.log)" test "$rc" = 0 || tail -20 "$root.install.log" >&2
figure "install (apt-get update + install with its dependencies): $(since "$t0") s"
check "the lambda user exists" grep -q '^lambda:' "$root/etc/passwd"
check "lambda.target is enabled" test -L "$root/etc/systemd/system/multi-user.target.wants/lambda.target"
for f in usr/bin/lambda-shim usr/bin/lambda-worker usr/bin/lambdactl etc/lambda/shim.env \
  etc/lambda/worker.env usr/share/man/man1/lambdactl.1.gz; do
  check "installed /$f" test -e "$root/$f"
done

# Started below by hand, after Redis and RabbitMQ, to time it (the boot would start it too).
rm "$root/etc/systemd/system/multi-user.target.wants/lambda.target"

# Booted: systemd is PID 1 of the container, on a private network (loopback only) so its
# servers' default ports never meet the host's.
systemd-nspawn -q -D "$root" -M "$machine" -b --register=no --keep-unit --private-network \
  --console=pipe >"$root.console.log" 2>&1 </dev/null &
nspawn_pid=$!
for _ in $(seq 1 100); do leader="$(pgrep -P "$nspawn_pid" | head -1)"; [ -n "$leader" ] && break; sleep 0.1; done
in_root() { nsenter -t "$leader" -a -r -w env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
booted=0
t0=$(now)
for _ in $(seq 1 50); do [ -e "/proc/$leader/root/run/systemd/private" ] && break; sleep 0.1; done
state="$(timeout 180 nsenter -t "$leader" -a -r -w systemctl is-system-running --wait 2>/dev/null)"
case "$state" in running|degraded) booted=1 ;; esac
figure "boot of the container: $(since "$t0") s"
check "the root booted with systemd ($state)" test "$booted" = 1 || { cat "$root.console.log" >&2; exit 1; }

for u in lambda-shim.service lambda-worker@.service lambda.target; do
  out="$(in_root systemd-analyze verify --man=no "/lib/systemd/system/$u" 2>&1)"
  check "systemd-analyze verify $u: '${out}'" test -z "$out"
done
for u in lambda-shim.service lambda-worker@1.service; do
  figure "exposure $u: $(in_root systemd-analyze security --no-pager "$u" 2>/dev/null | sed -n 's/^→ Overall exposure level for [^:]*: //p')"
done

t0=$(now)
check "redis-server and rabbitmq-server start" in_root systemctl start redis-server rabbitmq-server
figure "redis + rabbitmq start: $(since "$t0") s"
t0=$(now)
check "systemctl start lambda.target" timeout 150 nsenter -t "$leader" -a -r -w systemctl start lambda.target
figure "systemctl start lambda.target to READY (shim and worker@1): $(since "$t0") s"
shim_state="$(in_root systemctl show -p ActiveState,SubState --value lambda-shim.service | tr '\n' ' ')"
check "lambda-shim is active ($shim_state)" test "$shim_state" = "active running "
check "lambda-worker@1 is active" in_root systemctl is-active -q lambda-worker@1.service
key_mode="$(in_root stat -c '%a %U' /var/lib/lambda/server.key 2>&1)"
check "the server key was made on the first start, 0600, the service's ($key_mode)" test "$key_mode" = "600 lambda"
check "/readyz answers 200" in_root bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /readyz HTTP/1.0\r\n\r\n" >&3 && head -1 <&3 | grep -q " 200 "'

key="$(in_root lambdactl apikey create --tenant pkg 2>&1)"
check "lambdactl apikey create ($key)" test -n "$key" -a "${#key}" -gt 10
ctl() { in_root LAMBDA_URL=http://127.0.0.1:8080 LAMBDA_API_KEY="$key" lambdactl "$@"; }
id="$(ctl create --name pkg --slaves 1 2>&1)"
check "lambdactl create ($id)" test -n "$id"
wait_started() {  # ID: polls its status until STARTED (20 s at most)
  for _ in $(seq 1 100); do
    ctl status "$1" 2>/dev/null | grep -q STARTED && return 0
    sleep 0.2
  done
  return 1
}
wait_started "$id"
check "the instance reached STARTED through the installed shim ($(ctl status "$id" 2>&1))" wait_started "$id"

# A worker killed in the middle of work: systemd starts it again, and nothing is lost (its
# unacked commands go back to the queue).
ids=()
for i in $(seq 1 20); do ids+=("$(ctl create --name "burst$i" --slaves 1 2>/dev/null)"); done
old="$(in_root systemctl show -p MainPID --value lambda-worker@1.service)"
t0=$(now)
in_root kill -KILL "$old"
restarted=0
for _ in $(seq 1 300); do
  new="$(in_root systemctl show -p MainPID --value lambda-worker@1.service)"
  if [ "$new" != "$old" ] && [ "$new" != 0 ] && in_root systemctl is-active -q lambda-worker@1.service; then
    restarted=1; break
  fi
  sleep 0.05
done
check "systemd restarted the killed worker ($old -> $new)" test "$restarted" = 1
figure "killed worker back and READY: $(since "$t0") s"
# A command the killed worker held waits out its lease (LAMBDA_LEASE_MS, 30 s) before another
# claims it: 90 s for all of them.
pending=("${ids[@]}")
for _ in $(seq 1 90); do
  left=()
  for i in "${pending[@]}"; do ctl status "$i" 2>/dev/null | grep -q STARTED || left+=("$i"); done
  pending=("${left[@]}")
  [ ${#pending[@]} -eq 0 ] && break
  sleep 1
done
lost=${#pending[@]}
[ "$lost" = 0 ] && figure "all ${#ids[@]} instances of the burst STARTED: $(since "$t0") s after the kill"
check "all ${#ids[@]} instances started across the kill (not started: $lost)" test "$lost" = 0

# A wedged loop: the shim stopped (SIGSTOP) feeds no watchdog; systemd kills and restarts it.
old="$(in_root systemctl show -p MainPID --value lambda-shim.service)"
t0=$(now)
in_root kill -STOP "$old"
restarted=0
for _ in $(seq 1 400); do
  new="$(in_root systemctl show -p MainPID --value lambda-shim.service)"
  if [ "$new" != "$old" ] && [ "$new" != 0 ] && in_root systemctl is-active -q lambda-shim.service; then
    restarted=1; break
  fi
  sleep 0.1
done
check "the watchdog restarted the wedged shim" test "$restarted" = 1
figure "wedged shim restarted by the watchdog (WatchdogSec=10s): $(since "$t0") s"
check "the instance is still there after the restarts" wait_started "$id"

t0=$(now)
check "systemctl stop lambda.target" in_root systemctl stop lambda.target lambda-shim.service lambda-worker@1.service
figure "graceful stop: $(since "$t0") s"
for u in lambda-shim.service lambda-worker@1.service; do
  result="$(in_root systemctl show -p Result --value "$u")"
  check "$u stopped cleanly (Result=$result)" test "$result" = success
done

check "apt purge lambda" in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --autoremove lambda >/dev/null'
check "the lambda user is gone" sh -c "! grep -q '^lambda:' '$root/etc/passwd'"
kill -TERM "$nspawn_pid"
for _ in $(seq 1 300); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
files >"$root.after"
left="$(comm -13 "$root.before" "$root.after")"
check "apt purge left nothing behind: '${left}'" test -z "$left"
named="$(cd "$root" && find . -xdev -name '*lambda*' ! -path './var/log/*' ! -path './var/cache/*' 2>/dev/null)"
check "no file named lambda anywhere: '${named}'" test -z "$named"
[ "$fails" -eq 0 ] && rm -f "$root".{install.log,console.log}
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
