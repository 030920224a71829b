#!/usr/bin/env bash
# Black-box check of `cargo run --example api`: start it offline (embedded mock Okta), run the
# curl line it prints, and expect 200; without a token expect 401; /health 200.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --example api
log=$(mktemp)
BIND_ADDR=127.0.0.1:0 RUST_LOG=warn target/debug/examples/api >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
# Bounded wait for start-up (at most 30 s).
for _ in $(seq 1 300); do
  grep -q '^curl ' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "api example exited early"; exit 1; }
  sleep 0.1
done
line=$(grep '^curl ' "$log") || { cat "$log"; echo "no curl line printed"; exit 1; }
url=$(grep -o 'http://[^ ]*/api/me' <<<"$line")
token=$(grep -o 'Bearer [^'"'"']*' <<<"$line" | cut -d' ' -f2)
with=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
without=$(curl -s -o /dev/null -w '%{http_code}' "$url")
health=$(curl -s -o /dev/null -w '%{http_code}' "${url%/api/me}/health")
echo "api example: with token $with, without $without, /health $health"
[ "$with" = 200 ] && [ "$without" = 401 ] && [ "$health" = 200 ]
# The printed line itself works as written.
bash -c "$line" | grep -q '"sub"'
echo "api example smoke test passed"
