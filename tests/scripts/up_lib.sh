# Sourced by the scripts/up tests: check (each a pass or a FAIL line), a private state dir for
# the stack (its preset the build's own: the test's first argument), and scripts/down on exit.
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
fails=0 passes=0
check() {  # description, then the command that must succeed
  local what="$1"; shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: $what" >&2; fails=$((fails + 1)); return 1; fi
}
summary() {
  echo "$passes passed, $fails failed"
  [ "$fails" -eq 0 ]
}
state="$(mktemp -d)"
export LAMBDA_STATE_DIR="$state" LAMBDA_PRESET="${1##*/}" LAMBDA_WORKERS=1
export LAMBDA_HTTP_PORT; LAMBDA_HTTP_PORT=$(free_port)
trap '"$LAMBDA_ROOT/scripts/down" >/dev/null 2>&1; rm -rf "$state"' EXIT
