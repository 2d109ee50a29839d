#!/usr/bin/env bash
# deploy/kubernetes run for real under `podman kube play` (Debian's podman 4.3): the manifests
# as `kubectl kustomize` renders them, on the lambda image given as $1 (taken from the Docker
# engine at $DOCKER_HOST when that is set: tests/compose/compose_test.sh calls this with the
# image it just built; else from podman's own store). Redis and RabbitMQ are this host's, on
# free loopback ports, reached through the lambda-connections Secret as an operator's would be.
#
# What is adapted, and why: the pods share the host's network (podman's bridge would need
# iptables and NAT rules of its own on this host), so the shim and the worker run one replica
# each and listen on free ports instead of 8080/9090, and the Secrets are made with
# `podman secret create` (podman 4.3 stores a Secret document it plays as YAML and then reads
# it as JSON: podman issue #16269). Everything else (probes, init container, read-only root,
# the non-root user, envFrom) is played as written.
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib/common.sh"
ensure_deps "${LAMBDA_KUBE_PACKAGES[@]}" || exit 1
# Any kubectl with kustomize will do (Debian's kubernetes-client when there is none).
command -v kubectl >/dev/null || ensure_deps kubernetes-client || exit 1

image="${1:-lambda:latest}"
work="$(mktemp -d /tmp/lambda-kube.XXXXXX)"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
step() { printf '%s +%ss %s\n' "$(date +%T)" "$SECONDS" "$*"; }
# Podman's default rlimits (nofile, nproc) are above what this sandbox lets a process raise.
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
export CONTAINERS_CONF="$work/containers.conf"
played="$work/played.yaml"

cleanup() {
  [ -s "$played" ] && podman kube down "$played" >/dev/null 2>&1
  podman secret rm lambda-connections lambda-server-key >/dev/null 2>&1
  podman volume rm -f key >/dev/null 2>&1
  podman image prune -f >/dev/null 2>&1  # the copies earlier runs loaded
  stop_rabbitmq "$work/rabbitmq" "${amqp_port:-0}"
  stop_pidfile "$work/redis/redis.pid"
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${DOCKER_HOST:-}" ]; then
  step "docker save $image | podman load"
  docker save "$image" | podman load >"$work/load.log" 2>&1 || { fail "podman load failed"; cat "$work/load.log" >&2; exit 1; }
fi
podman image exists "$image" || { fail "podman has no image $image"; exit 1; }

redis_port=$(free_port) amqp_port=$(free_port) http_port=$(free_port) worker_port=$(free_port)
start_redis "$work/redis" "$redis_port" || exit 1
start_rabbitmq "$work/rabbitmq" "$amqp_port" || exit 1
step "redis on :$redis_port, rabbitmq on :$amqp_port"

# The operator's part: the two Secrets the manifests name.
b64() { printf '%s' "$1" | base64 -w0; }
printf '{"LAMBDA_REDIS_URL":"%s","LAMBDA_AMQP_URL":"%s"}' \
  "$(b64 "redis://127.0.0.1:$redis_port")" "$(b64 "amqp://guest:guest@127.0.0.1:$amqp_port/")" |
  podman secret create lambda-connections - >/dev/null || { fail "secret"; exit 1; }
printf '{"LAMBDA_SERVER_KEY_BASE64":"%s"}' "$(b64 "$(head -c 32 /dev/urandom | base64 -w0)")" |
  podman secret create lambda-server-key - >/dev/null || { fail "secret"; exit 1; }

# An overlay of the repository's manifests, as an operator would keep one.
mkdir -p "$work/overlay"
cat >"$work/overlay/kustomization.yaml" <<YAML
resources: ["$(realpath --relative-to="$work/overlay" "$LAMBDA_ROOT/deploy/kubernetes")"]
images: [{name: lambda, newName: ${image%:*}, newTag: ${image##*:}}]
patchesStrategicMerge: [replicas.yaml]
YAML
cat >"$work/overlay/replicas.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: lambda-shim}
spec: {replicas: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: lambda-worker}
spec: {replicas: 1}
YAML
kubectl kustomize "$work/overlay" 2>"$work/kustomize.log" >"$work/rendered.yaml" ||
  { fail "kubectl kustomize failed"; cat "$work/kustomize.log" >&2; exit 1; }
# On the host's network: no port mappings (podman refuses them there), and free ports. And an
# emptyDir on disk: podman mounts a memory one owned by root, where Kubernetes makes it 0777.
python3 - "$work/rendered.yaml" "$played" "$http_port" "$worker_port" <<'PY' || { fail "adapting"; exit 1; }
import re, sys, yaml
src, dst, http_port, worker_port = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
moved = {"8080": http_port, "9090": worker_port}
def move(v):
    if isinstance(v, dict): return {k: move(x) for k, x in v.items() if k not in ("ports", "medium")}
    if isinstance(v, list): return [move(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool): return int(moved.get(str(v), v))
    if isinstance(v, str): return re.sub(r"\b(8080|9090)\b", lambda m: moved[m.group(1)], v)
    return v
docs = [d for d in yaml.safe_load_all(open(src)) if d]
out = [move(d) if d["kind"] == "Deployment" else d for d in docs]
yaml.safe_dump_all(out, open(dst, "w"), sort_keys=False)
PY

step "podman kube play"
started_at=$SECONDS
podman kube play --network host "$played" >"$work/play.log" 2>&1 ||
  { fail "podman kube play failed"; cat "$work/play.log" >&2; exit 1; }
url="http://127.0.0.1:$http_port"
for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && break
  sleep 0.5
done
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; then step "the shim is ready"; else
  fail "the shim never became ready"; podman ps -a >&2
  for c in $(podman ps -a --format '{{.Names}}'); do echo "== $c" >&2; podman logs --tail 20 "$c" >&2; done
  exit 1
fi
shim=$(podman ps --format '{{.Names}}' | grep -- '-api-shim$' | head -1)
worker=$(podman ps --format '{{.Names}}' | grep -- '-worker$' | head -1)
[ -n "$worker" ] || fail "no worker container is running"
[ "$(podman exec "$shim" id -u)" = 65534 ] || fail "the shim does not run as 65534"
podman exec "$shim" sh -c 'touch /x' 2>/dev/null && fail "the shim's root file system is writable"
[ "$(podman exec "$shim" stat -c %a /var/lib/lambda/server.key)" = 600 ] || fail "server key not 0600"
podman exec "$shim" grep -q SERVER_KEY_BASE64 /proc/1/environ && fail "the server key is in the shim's environment"

# A key with the image's own lambdactl, through the pod's environment (the Secret's URL).
key=$(podman exec "$shim" /usr/local/bin/lambdactl apikey create --tenant kube 2>"$work/key.log")
[ -n "$key" ] || { fail "no key: $(cat "$work/key.log")"; exit 1; }
api() { curl -s -m 10 -H "X-API-Key: $key" "$@"; }
body='{"instance_name":"kube","master_name":"m","slaves":1,"vcpus_master":1,"vcpus_slave":1,"ram_master":1024,"ram_slave":1024,"disk_master":10,"disk_slave":10,"ip_allocation":"master","network_request":1,"project_name":"p"}'
id=$(api -X POST -H 'Content-Type: application/json' -d "$body" "$url/api/lambda-instances/" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])' 2>/dev/null)
[ -n "$id" ] || { fail "create was not accepted"; exit 1; }
status=""
for _ in $(seq 1 120); do
  status=$(api "$url/api/lambda-instances/$id/status/?wait_for=STARTED,FAILED&timeout=5" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["status"]["message"])' 2>/dev/null)
  [ "$status" = STARTED ] || [ "$status" = FAILED ] && break
done
if [ "$status" = STARTED ]; then
  step "instance $id STARTED, $((SECONDS - started_at)) s after podman kube play"
else
  fail "instance $id is $status, not STARTED"
fi
# podman runs the probes as healthchecks: both containers must pass theirs.
for c in "$shim" "$worker"; do
  podman healthcheck run "$c" >/dev/null 2>&1 || fail "$c: its liveness probe fails"
done

step "podman kube down"
podman kube down "$played" >"$work/down.log" 2>&1 || fail "podman kube down failed"
[ -z "$(podman ps -aq --filter label=app.kubernetes.io/part-of=lambda)" ] || fail "containers left"
step "done: $fails failure(s)"
[ "$fails" -eq 0 ]
