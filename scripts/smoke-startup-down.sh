#!/usr/bin/env bash
# Black-box check that an app starts while its Okta org is down, and recovers when the org comes
# up: `cargo run --example api` with OKTA_ISSUER on a loopback port where nothing listens.
#
#   1. while the org is down: /health 200, /api/me (bearer token of that issuer) 503 with
#      Retry-After;
#   2. the org comes up at that issuer (`mock_okta --bind 127.0.0.1:P`, tools/ crate);
#   3. /api/me with the access token mock_okta prints turns 200, within 60 s (the app may first
#      wait out its 30 s refetch cooldown).
#
# Not in CI yet: today the api example exits at start-up when its org is unreachable (the key
# cache warm-up of `OktaOidcBuilder::build` fails), so this script fails at step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --example api
cargo build --quiet -p okta-oidc-tools --bin mock_okta

# A loopback port where nothing listens (connection refused), other than the ones in "$@".
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    [[ " $* " == *" $port "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
# status URL [curl args...]: the HTTP status, 000 when nothing answered.
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" || true; }

org_port=$(free_port)
app_port=$(free_port "$org_port")
issuer="http://127.0.0.1:$org_port"
base="http://127.0.0.1:$app_port"
tmp=$(mktemp -d)
app_pid= org_pid=
cleanup() {
  for pid in $app_pid $org_pid; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$tmp"/*.log; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

echo "org (down) at $issuer, app at $base"
OKTA_ISSUER="$issuer" OKTA_AUDIENCE=api://default BIND_ADDR="127.0.0.1:$app_port" RUST_LOG=info NO_COLOR=1 \
  target/debug/examples/api >"$tmp/app.log" 2>&1 &
app_pid=$!

# Step 1. Bounded wait for start-up (at most 30 s).
for _ in $(seq 1 300); do
  [ "$(status "$base/health")" = 200 ] && break
  kill -0 "$app_pid" 2>/dev/null || fail "the api example exited at start-up while its org was down"
  sleep 0.1
done
health=$(status "$base/health")
[ "$health" = 200 ] || fail "/health answered $health, expected 200 while the org is down"

# A token of that issuer (the signature cannot be checked without the org's keys).
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"RS256","kid":"mock-rsa-1"}' | b64url)
claims=$(printf '{"iss":"%s","aud":"api://default","sub":"down@example.com","iat":%d,"exp":%d}' \
  "$issuer" "$(date +%s)" "$(($(date +%s) + 3600))" | b64url)
down_token="$header.$claims.c2lnbmF0dXJl"
headers=$(curl -s -o /dev/null -D - --max-time 5 -H "Authorization: Bearer $down_token" "$base/api/me" || true)
me=$(awk 'NR == 1 { print $2 }' <<<"$headers")
retry_after=$(grep -i '^retry-after:' <<<"$headers" | tr -d '\r' || true)
echo "org down: /health $health, /api/me $me, ${retry_after:-no Retry-After}"
[ "$me" = 503 ] && [ -n "$retry_after" ] ||
  fail "/api/me answered $me (${retry_after:-no Retry-After}), expected 503 with Retry-After while the org is down"

# Step 2. The org comes up at the issuer the app already has.
target/debug/mock_okta --bind "127.0.0.1:$org_port" >"$tmp/org.out" 2>"$tmp/org.log" &
org_pid=$!
for _ in $(seq 1 300); do
  grep -q '^access_token=' "$tmp/org.out" 2>/dev/null && break
  kill -0 "$org_pid" 2>/dev/null || fail "mock_okta exited"
  sleep 0.1
done
grep -qx "issuer=$issuer" "$tmp/org.out" || fail "mock_okta did not print issuer=$issuer"
token=$(sed -n 's/^access_token=//p' "$tmp/org.out")
[ -n "$token" ] || fail "mock_okta printed no access_token"

# Step 3. Bounded poll (at most 60 s) until the app accepts the org's token.
start=$SECONDS
while :; do
  me=$(status -H "Authorization: Bearer $token" "$base/api/me")
  [ "$me" = 200 ] && break
  [ $((SECONDS - start)) -ge 60 ] && fail "/api/me still $me 60 s after the org came up"
  kill -0 "$app_pid" 2>/dev/null || fail "the api example exited"
  sleep 1
done
echo "org up: /api/me 200 after $((SECONDS - start)) s"
echo "start-up with the org down: smoke test passed"
