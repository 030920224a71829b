#!/usr/bin/env bash
# Soak run (not part of CI): the api and the web app in one process under steady loopback load,
# against the mock Okta org while it rotates keys and drops its key endpoint periodically.
# Bounded in time (default 10 minutes, at most 240). Prints the report and keeps it in
# target/soak/report.txt; exits non-zero when a target is missed (spurious failures, false
# accepts, key fetches over the policy bound, failed logins).
#
#   scripts/soak.sh [minutes]          # SOAK_WORKERS=4 bearer workers by default
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-10}"
workers="${SOAK_WORKERS:-4}"
limit=$(awk -v m="$minutes" 'BEGIN { if (m > 240) m = 240; printf "%d", m * 60 + 120 }')

cargo build --release -p okta-oidc-tools --bin soak
mkdir -p target/soak
timeout "$limit" ./target/release/soak "$minutes" "$workers" 2>&1 | tee target/soak/report.txt
exit "${PIPESTATUS[0]}"
