#!/usr/bin/env bash
# HTTP load on 127.0.0.1 with wrk (Debian: apt-get install -y wrk) against
# tools/src/bin/load_target.rs (axum + OktaOidcLayer, mock Okta embedded). Every run is bounded
# (DURATION, default 10s). Prints requests/s, p50 and p99 per scenario, the server's CPU time
# per request, and the ratios that BENCHMARKS.md reports; raw wrk outputs are kept in
# target/load/.
#
#   benches/load.sh                  # all scenarios
#   DURATION=5s CONNECTIONS=32 FRESH=60000 benches/load.sh
#
# Server CPU per request is measured black box: the CPU time of the server process (every
# thread, /proc/<pid>/task/*/schedstat) over a run, divided by the requests wrk completed.
#
# The server runs one worker thread pinned to CPU 0 and wrk one thread pinned to CPU 1 (when
# taskset exists), so on a 2-core machine they do not share a core. The server signs its token
# files on both cores first, and is pinned once it listens.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3999}
# Never-seen tokens, each sent once (the run stops when they are used up).
FRESH=${FRESH:-60000}
# Distinct cached tokens in rotation.
WORKING_SET=${WORKING_SET:-20000}
DIR=target/load
BASE="http://127.0.0.1:$PORT"
mkdir -p "$DIR"

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  PIN_SERVER=(taskset -a -p -c 0) PIN_LOAD=(taskset -c 1)
fi

cargo build --release -p okta-oidc-tools --bin load_target

PID=
stop_target() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi; }
trap stop_target EXIT

start_target() {
  stop_target
  target/release/load_target --port "$PORT" --dir "$DIR" --working-set "$WORKING_SET" "$@" \
    >"$DIR/target.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 1800); do
    if grep -q "listening on" "$DIR/target.log" 2>/dev/null; then
      if [ ${#PIN_SERVER[@]} -gt 0 ]; then "${PIN_SERVER[@]}" "$PID" >/dev/null; fi
      return 0
    fi
    kill -0 "$PID" 2>/dev/null || { cat "$DIR/target.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "load_target did not start" >&2; exit 1
}

# CPU time of the server so far, in ns (all its threads); and its user-space part, in clock
# ticks (the rest is the kernel: the loopback TCP stack, whose cost per request grows as the
# request rate falls and fewer requests share a wake-up).
cpu_ns() { cat /proc/"$PID"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
user_ticks() { cat /proc/"$PID"/task/*/stat 2>/dev/null | awk '{ s += $14 } END { printf "%.0f", s }'; }
TICK_NS=$((1000000000 / $(getconf CLK_TCK)))

# to_ms VALUE (wrk units: us, ms, s)
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }

declare -A RPS P99 CPU USER
# run NAME [wrk args...] URL
run() {
  local name=$1; shift
  local before after user_before user_after
  before=$(cpu_ns) user_before=$(user_ticks)
  "${PIN_LOAD[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency "$@" >"$DIR/$name.txt"
  after=$(cpu_ns) user_after=$(user_ticks)
  local rps p50 p99 non2xx requests cpu user
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$DIR/$name.txt")
  if [ "${ONCE:-}" = 1 ]; then
    # The run stopped when its tokens were used up, before DURATION: wrk's thread average.
    rps=$(awk '/Req\/Sec/ { v = $2; if (v ~ /k$/) v *= 1000; print v }' "$DIR/$name.txt")
  fi
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$DIR/$name.txt")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$DIR/$name.txt")")
  non2xx=$(awk '/Non-2xx/ { print $5 }' "$DIR/$name.txt")
  requests=$(awk '/requests in/ { print $1 }' "$DIR/$name.txt")
  cpu=$(awk -v a="$before" -v b="$after" -v n="$requests" 'BEGIN { printf "%.2f", (b - a) / n / 1000 }')
  user=$(awk -v a="$user_before" -v b="$user_after" -v n="$requests" -v t="$TICK_NS" 'BEGIN { printf "%.2f", (b - a) * t / n / 1000 }')
  RPS[$name]=$rps P99[$name]=$p99 CPU[$name]=$cpu USER[$name]=$user
  printf '%-28s %9s req/s  p50 %6s ms  p99 %6s ms  server CPU %6s µs/req (user %6s)  %s requests, non-2xx %s\n' \
    "$name" "$rps" "$p50" "$p99" "$cpu" "$user" "$requests" "${non2xx:-0}"
}

tokens() { TOKENS_FILE="$DIR/$1" run "$2" -s benches/load_tokens.lua "${@:3}" "$BASE/auth"; }
sum3() { awk -v a="${RPS[${1}_1]}" -v b="${RPS[${1}_2]}" -v c="${RPS[${1}_3]}" 'BEGIN { print a + b + c }'; }
mean3() { awk -v a="${CPU[${1}_1]}" -v b="${CPU[${1}_2]}" -v c="${CPU[${1}_3]}" 'BEGIN { printf "%.2f", (a + b + c) / 3 }'; }
user3() { awk -v a="${USER[${1}_1]}" -v b="${USER[${1}_2]}" -v c="${USER[${1}_3]}" 'BEGIN { printf "%.2f", (a + b + c) / 3 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uptime | sed 's/.*load/load/')"
echo "== wrk -t1 -c$CONNECTIONS -d$DURATION --latency"

start_target --fresh "$FRESH"
TOKEN=$(head -n1 "$DIR/token.txt")
AUTH="Authorization: Bearer $TOKEN"
curl -fsS -H "$AUTH" "$BASE/auth" >/dev/null   # warm: key set loaded, token cached
# The layer row: the same handler and the same request (same header) on a route without and
# with the layer, alternated three times so drifting background load hits both alike.
for i in 1 2 3; do
  run "open_same_header_$i" -H "$AUTH" "$BASE/open"
  run "layered_one_token_$i" -H "$AUTH" "$BASE/layered"
  run "auth_one_token_$i"   -H "$AUTH" "$BASE/auth"
done
# The large working set: every token verified once (not reported), then served from the cache,
# alternated with one token sent the same way (through the same wrk script, so that the client,
# which limits these runs, costs the same).
DURATION=3s tokens working_set.txt working_set_warm
for i in 1 2 3; do
  tokens working_set.txt "auth_${WORKING_SET}_tokens_$i"
  tokens token.txt "auth_one_token_script_$i"
done
# Never-seen tokens: each once, until they are used up (then wrk stops).
TOKENS_FILE="$DIR/fresh.txt" ONCE=1 run auth_never_seen -s benches/load_tokens.lua "$BASE/auth"
tokens tokens.txt auth_1000_tokens
run auth_one_token_steady   -H "$AUTH" "$BASE/auth"
curl -fsS -X POST "$BASE/admin/slow-rotation"
run auth_one_token_slow_keys -H "$AUTH" "$BASE/auth"

echo "== token cache off (every request checks a signature)"
start_target --no-cache --working-set 0
TOKEN=$(head -n1 "$DIR/token.txt")
AUTH="Authorization: Bearer $TOKEN"
curl -fsS -H "$AUTH" "$BASE/auth" >/dev/null
run nocache_auth_one_token  -H "$AUTH" "$BASE/auth"
tokens tokens.txt nocache_auth_1000_tokens
stop_target

echo "== ratios"
echo "layered / open, same handler (req/s, sums of 3 alternated runs; target >= 0.95): $(ratio "$(sum3 layered_one_token)" "$(sum3 open_same_header)")"
echo "layered / open, same handler (server CPU per request, means, inverted): $(ratio "$(mean3 open_same_header)" "$(mean3 layered_one_token)")"
echo "auth_one_token / open_same_header (req/s, sums of 3): $(ratio "$(sum3 auth_one_token)" "$(sum3 open_same_header)")"
echo "$WORKING_SET-token working set / one token (server CPU per request, means, inverted; target >= 0.8): $(ratio "$(mean3 auth_one_token_script)" "$(mean3 auth_${WORKING_SET}_tokens)")"
echo "$WORKING_SET-token working set / one token (req/s, sums of 3): $(ratio "$(sum3 auth_${WORKING_SET}_tokens)" "$(sum3 auth_one_token_script)")"
# A never-seen token against a cached one sent the same way (the wrk script).
echo "never seen: server CPU per request minus a cached hit's (µs; target <= 1.2 x uncached): $(awk -v a="${CPU[auth_never_seen]}" -v b="$(mean3 auth_one_token_script)" 'BEGIN { printf "%.2f", a - b }')"
echo "never seen: the same, user space only (µs): $(awk -v a="${USER[auth_never_seen]}" -v b="$(user3 auth_one_token_script)" 'BEGIN { printf "%.2f", a - b }')"
echo "token cache off, 1,000 tokens: server CPU per request minus a cached hit's (µs): $(awk -v a="${CPU[nocache_auth_1000_tokens]}" -v b="$(mean3 auth_one_token_script)" 'BEGIN { printf "%.2f", a - b }') (user $(awk -v a="${USER[nocache_auth_1000_tokens]}" -v b="$(user3 auth_one_token_script)" 'BEGIN { printf "%.2f", a - b }'))"
echo "p99 slow_keys / p99 steady (target <= 1.2): $(ratio "${P99[auth_one_token_slow_keys]}" "${P99[auth_one_token_steady]}")"
