#!/usr/bin/env bash
# Soak run of three instances sharing revocations through one real Redis (not part of CI):
# tools/src/bin/soak_instances. The driver starts its own redis-server on a free loopback port
# (snapshots only on SAVE, a directory of its own). In announced windows it makes the org's
# introspection answer 429 and 500, cuts one instance off Redis, restarts Redis empty, and
# restarts it from a snapshot while one instance is cold-started. Beside bearer, DPoP,
# introspected and session load and hostile traffic, it sends logout signals of every kind at a
# steady rate and checks that each is enforced on every instance within the bound (nothing
# lost), that valid credentials stay accepted (nothing spurious), that DPoP proofs, login states
# and logout-token jtis are single use across instances, and that no hostile request gets in.
# Bounded in time (default 10 minutes, at most 240). Prints the report and keeps it in
# target/soak/instances-report.txt; exits non-zero when a target is missed.
#
#   scripts/soak-instances.sh [minutes]
#   SOAK_BREAK_PUBLISH=1 scripts/soak-instances.sh 2   # propagation broken on purpose: must FAIL
#   SOAK_BREAK_REPLAY=1  scripts/soak-instances.sh 2   # replays to an instance with its own store
#   SOAK_BREAK_VALID=1   scripts/soak-instances.sh 2   # spoiled tokens counted as valid
#   SOAK_BREAK_HOSTILE=1 scripts/soak-instances.sh 2   # "random issuers" that are the real one
#   SOAK_BREAK_COLD=1    scripts/soak-instances.sh 2   # a cold start that does not fail closed
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:-10}"
limit=$(awk -v m="$minutes" 'BEGIN { if (m > 240) m = 240; printf "%d", m * 60 + 300 }')
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || {
  echo "soak-instances: redis-server is needed (apt-get install redis-server)" >&2
  exit 2
}

cargo build --release -p okta-oidc-tools --bin soak_instances
mkdir -p target/soak
SOAK_REPORT=target/soak/instances-report.txt timeout "$limit" \
  nice -n 5 "${CARGO_TARGET_DIR:-target}/release/soak_instances" "$minutes" 2>&1 |
  tee target/soak/instances-run.txt
exit "${PIPESTATUS[0]}"
