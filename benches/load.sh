#!/usr/bin/env bash
# HTTP load on 127.0.0.1 with wrk (Debian: apt-get install -y wrk) against
# tools/src/bin/load_target.rs (axum + OktaOidcLayer, mock Okta embedded). Every run is bounded
# (DURATION, default 10s). Prints requests/s, p50 and p99 per scenario, and the ratios that
# BENCHMARKS.md reports; raw wrk outputs are kept in target/load/.
#
#   benches/load.sh                  # all scenarios
#   DURATION=5s CONNECTIONS=32 benches/load.sh
#
# The server runs one worker thread pinned to CPU 0 and wrk one thread pinned to CPU 1 (when
# taskset exists), so on a 2-core machine they do not share a core.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3999}
DIR=target/load
BASE="http://127.0.0.1:$PORT"
mkdir -p "$DIR"
export TOKENS_FILE="$DIR/tokens.txt"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -c 0) PIN_LOAD=(taskset -c 1)
fi

cargo build --release -p okta-oidc-tools --bin load_target

PID=
stop_target() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
trap stop_target EXIT

start_target() {
  stop_target
  "${PIN_SERVER[@]}" target/release/load_target --port "$PORT" --dir "$DIR" "$@" \
    >"$DIR/target.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do
    grep -q "listening on" "$DIR/target.log" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$DIR/target.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "load_target did not start" >&2; exit 1
}

# to_ms VALUE (wrk units: us, ms, s)
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

declare -A RPS P99
# run NAME [wrk args...] URL
run() {
  local name=$1; shift
  "${PIN_LOAD[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency "$@" >"$DIR/$name.txt"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$DIR/$name.txt")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$DIR/$name.txt")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$DIR/$name.txt")")
  non2xx=$(awk '/Non-2xx/ { print $5 }' "$DIR/$name.txt")
  RPS[$name]=$rps P99[$name]=$p99
  printf '%-34s %12s req/s   p50 %9s ms   p99 %9s ms   non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== wrk -t1 -c$CONNECTIONS -d$DURATION --latency"

start_target
TOKEN=$(head -n1 "$DIR/token.txt")
AUTH="Authorization: Bearer $TOKEN"
curl -fsS -H "$AUTH" "$BASE/auth" >/dev/null   # warm: key set loaded, token cached
# The layer row: the same request (same header) to a route without and with the layer,
# alternated three times so drifting background load hits both alike; ratio of the sums.
for i in 1 2 3; do
  run "open_same_header_$i" -H "$AUTH" "$BASE/open"
  run "auth_one_token_$i"   -H "$AUTH" "$BASE/auth"
done
run auth_1000_tokens -s benches/load_tokens.lua "$BASE/auth"
run auth_one_token_steady   -H "$AUTH" "$BASE/auth"
curl -fsS -X POST "$BASE/admin/slow-rotation"
run auth_one_token_slow_keys -H "$AUTH" "$BASE/auth"

echo "== token cache off (every request checks a signature)"
start_target --no-cache
TOKEN=$(head -n1 "$DIR/token.txt")
AUTH="Authorization: Bearer $TOKEN"
curl -fsS -H "$AUTH" "$BASE/auth" >/dev/null
run nocache_auth_one_token  -H "$AUTH" "$BASE/auth"
run nocache_auth_1000_tokens -s benches/load_tokens.lua "$BASE/auth"
stop_target

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "== ratios"
OPEN=$(awk -v a="${RPS[open_same_header_1]}" -v b="${RPS[open_same_header_2]}" -v c="${RPS[open_same_header_3]}" 'BEGIN { print a + b + c }')
AUTHD=$(awk -v a="${RPS[auth_one_token_1]}" -v b="${RPS[auth_one_token_2]}" -v c="${RPS[auth_one_token_3]}" 'BEGIN { print a + b + c }')
echo "auth_one_token / open_same_header (req/s, sum of 3 alternated runs; target >= 0.9): $(ratio "$AUTHD" "$OPEN")"
echo "p99 slow_keys / p99 steady (target <= 1.2): $(ratio "${P99[auth_one_token_slow_keys]}" "${P99[auth_one_token_steady]}")"
