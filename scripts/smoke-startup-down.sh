#!/usr/bin/env bash
# Black-box check that an app starts while its Okta org is down, and recovers when the org comes
# up: an example (`api` by default, or the one named as $1: `api` or `web_app`) with OKTA_ISSUER
# on a loopback port where nothing listens.
#
#   1. while the org is down: /health 200, /api/me (bearer token of that issuer) 503 with
#      Retry-After;
#   2. the org comes up at that issuer (`mock_okta --bind 127.0.0.1:P`, tools/ crate);
#   3. /api/me with the access token mock_okta prints turns 200, within 60 s (the app may first
#      wait out its 30 s refetch cooldown).
#
# In CI for both examples (.ci/run). Usage: scripts/smoke-startup-down.sh [api|web_app]
set -euo pipefail
cd "$(dirname "$0")/.."
example=${1:-api}
case "$example" in
  api) audience=api://default token_line=access_token ;;
  # web_app's /api/me takes the session or a bearer ID token of its client.
  web_app) audience=0oa1mockclient token_line=id_token ;;
  *) echo "usage: $0 [api|web_app]" >&2; exit 2 ;;
esac
cargo build --quiet --example "$example"
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

echo "$example: org (down) at $issuer, app at $base"
# The org is a local mock (http://127.0.0.1): the example must be told to accept it.
OKTA_ALLOW_LOOPBACK_HTTP=1 OKTA_ISSUER="$issuer" OKTA_AUDIENCE="$audience" OKTA_CLIENT_ID=0oa1mockclient \
  OKTA_CLIENT_SECRET=mock-client-secret APP_BASE_URL="$base" \
  SESSION_SECRET=0123456789abcdef0123456789abcdef BIND_ADDR="127.0.0.1:$app_port" \
  RUST_LOG=info NO_COLOR=1 target/debug/examples/"$example" >"$tmp/app.log" 2>&1 &
app_pid=$!

# Step 1. Bounded wait for start-up (at most 30 s).
for _ in $(seq 1 300); do
  [ "$(status "$base/health")" = 200 ] && break
  kill -0 "$app_pid" 2>/dev/null || fail "the $example example exited at start-up while its org was down"
  sleep 0.1
done
health=$(status "$base/health")
[ "$health" = 200 ] || fail "/health answered $health, expected 200 while the org is down"
# A path that no route serves is 404, never the layer's 401 (the layer sits on the routes).
for unknown in /no-such-page /.well-known/no-such-document; do
  code=$(status "$base$unknown")
  [ "$code" = 404 ] || fail "$unknown answered $code, expected 404"
done

# A token of that issuer (the signature cannot be checked without the org's keys).
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"RS256","kid":"mock-rsa-1"}' | b64url)
claims=$(printf '{"iss":"%s","aud":"%s","sub":"down@example.com","iat":%d,"exp":%d}' \
  "$issuer" "$audience" "$(date +%s)" "$(($(date +%s) + 3600))" | b64url)
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
  grep -q '^id_token=' "$tmp/org.out" 2>/dev/null && break
  kill -0 "$org_pid" 2>/dev/null || fail "mock_okta exited"
  sleep 0.1
done
grep -qx "issuer=$issuer" "$tmp/org.out" || fail "mock_okta did not print issuer=$issuer"
token=$(sed -n "s/^$token_line=//p" "$tmp/org.out")
[ -n "$token" ] || fail "mock_okta printed no $token_line"

# Step 3. Bounded poll (at most 60 s) until the app accepts the org's token.
start=$SECONDS
while :; do
  me=$(status -H "Authorization: Bearer $token" "$base/api/me")
  [ "$me" = 200 ] && break
  [ $((SECONDS - start)) -ge 60 ] && fail "/api/me still $me 60 s after the org came up"
  kill -0 "$app_pid" 2>/dev/null || fail "the $example example exited"
  sleep 1
done
echo "org up: /api/me 200 after $((SECONDS - start)) s"
echo "$example: start-up with the org down: smoke test passed"
