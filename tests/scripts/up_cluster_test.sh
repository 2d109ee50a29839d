#!/usr/bin/env bash
# scripts/up --cluster starts a Redis Cluster of 3 masters with 2 replicas each and a three-node RabbitMQ
# cluster, runs the shim and a worker on them (a create reaches STARTED), and scripts/down stops
# every node it started.   up_cluster_test.sh BUILD_DIR   (its preset is the build's own)
set -uo pipefail
source "$(dirname "$0")/up_lib.sh"
unset LAMBDA_REDIS_URL LAMBDA_AMQP_URL

# A port taken between its pick and its node's start: a listener holds the first of the nine
# ports saved for the cluster, and up forms the cluster on fresh ones.
taken=$(free_cluster_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(600)' "$taken" &
holder=$!
ports="$taken"
for _ in 1 2 3 4 5 6 7 8; do ports+=" $(free_cluster_port)"; done
echo "$ports" >"$state/redis-cluster-ports"
"$LAMBDA_ROOT/scripts/up" --cluster >"$state/up.log" 2>&1
check "scripts/up --cluster succeeded (see $state/up.log)" test $? -eq 0 || cat "$state/up.log" >&2
kill "$holder" 2>/dev/null
check "a taken port was noticed and the cluster formed on fresh ports" \
  grep -q "node 1 (port $taken) did not start" "$state/up.log"
read -r -a rports <"$state/redis-cluster-ports"
check "the taken port is not the cluster's" test "${rports[0]}" != "$taken"
read -r -a aports <"$state/cluster-ports"
check "nine redis nodes" test "${#rports[@]}" = 9
check "three rabbitmq nodes" test "${#aports[@]}" = 3
masters=$(redis-cli -p "${rports[0]}" cluster nodes | grep -c master)
replicas=$(redis-cli -p "${rports[0]}" cluster nodes | grep -c slave)
check "three masters and six replicas ($masters, $replicas)" test "$masters" = 3 -a "$replicas" = 6
check "env names the cluster" grep -q '^LAMBDA_REDIS_URL=redis+cluster://' "$state/env"
key="$(sed -n 's/^LAMBDA_API_KEY=//p' "$state/env")"
url="http://127.0.0.1:$LAMBDA_HTTP_PORT"
body='{"instance_name":"clustered","master_name":"m","slaves":1,"vcpus_master":1,"vcpus_slave":1,"ram_master":1024,"ram_slave":1024,"disk_master":10,"disk_slave":10,"ip_allocation":"master","network_request":1,"project_name":"p"}'
code=$(curl -s -o "$state/create.json" -w '%{http_code}' -X POST -H "X-API-Key: $key" \
  -H 'Content-Type: application/json' -d "$body" "$url/api/lambda-instances/")
check "a create is accepted ($code)" test "$code" = 202
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$state/create.json")
started=0
for _ in $(seq 1 200); do
  curl -s -H "X-API-Key: $key" "$url/api/lambda-instances/$id/status/" | grep -q STARTED && { started=1; break; }
  sleep 0.1
done
check "it reaches STARTED on the clusters" test "$started" = 1

"$LAMBDA_ROOT/scripts/down" >/dev/null 2>&1
left=0
for p in "${rports[@]}"; do redis_answers "$p" && left=$((left + 1)); done
for p in "${aports[@]}"; do amqp_answers "$p" && left=$((left + 1)); done
check "scripts/down stopped every node ($left left)" test "$left" = 0
summary
