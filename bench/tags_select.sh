#!/usr/bin/env bash
# A one-off figure for SPEC §4.5 (not part of the suite): seeds N instances of one tenant
# directly in a private redis-server (their tag indexes as index_create.lua writes them: team=a
# on all, env=dev on 1 in 100, tier=gold on 1 in 10) and times select.lua answering selectors
# page by page, as redis::SelectAll does for a filtered list.
# Usage: bench/tags_select.sh [N]   (default 100000)
set -euo pipefail
N=${1:-100000}
here=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --dir "$dir" --save '' --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" >/dev/null
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
cli() { redis-cli -p "$port" "$@"; }
until cli ping >/dev/null 2>&1; do sleep 0.05; done

# Keys as keys.h builds them, prefix "b:" and tenant "acme".
t='b:t:{acme}'
cli EVAL "
for i = 1, tonumber(ARGV[1]) do
  local id = string.format('%08d-0000-4000-8000-000000000000', i)
  redis.call('ZADD', KEYS[1], i, id)
  redis.call('ZADD', KEYS[2], i, id)
  redis.call('ZADD', KEYS[3], i, id)
  if i % 100 == 0 then redis.call('ZADD', KEYS[4], i, id) end
  if i % 10 == 0 then redis.call('ZADD', KEYS[5], i, id) end
end
return redis.call('ZCARD', KEYS[1])" 5 "$t:ids" "$t:live" "$t:tag:team=a" "$t:tag:env=dev" \
  "$t:tag:tier=gold" "$N" >/dev/null
sha=$(cli SCRIPT LOAD "$(cat "$here/common/lua/select.lua")")

# select.lua to the end, 4096 entries walked per call (redis::kSelectBudget), as SelectAll does.
run() {
  local label=$1
  shift
  local keys=("$@")
  local start end after=0 calls=0 matched=0
  cli CONFIG RESETSTAT >/dev/null
  start=$(date +%s%N)
  while :; do
    mapfile -t r < <(cli EVALSHA "$sha" "${#keys[@]}" "${keys[@]}" "$after" 4096 4096)
    calls=$((calls + 1))
    matched=$((matched + (${#r[@]} - 1) / 2))
    [[ -z "${r[0]}" ]] && break
    after=${r[0]}
  done
  end=$(date +%s%N)
  local usec
  usec=$(cli INFO commandstats | grep -o 'cmdstat_evalsha:calls=[0-9]*,usec=[0-9]*' | sed 's/.*usec=//')
  printf '%-30s matched %6d in %3d calls: in Redis %8.2f ms, wall (redis-cli) %7.1f ms\n' \
    "$label" "$matched" "$calls" "$(echo "$usec / 1000" | bc -l)" \
    "$(echo "($end - $start) / 1000000" | bc -l)"
}
echo "tenant with $N instances (redis $(cli INFO server | grep -o 'redis_version:[0-9.]*'))"
run "tag=env:dev & tag=team:a" "$t:tag:team=a" "$t:tag:env=dev"
run "tag=env:dev & tag=tier:gold" "$t:tag:tier=gold" "$t:tag:env=dev"
run "tag=tier:gold" "$t:tag:tier=gold"
run "tag=team:a (every instance)" "$t:tag:team=a"
