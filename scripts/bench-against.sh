#!/usr/bin/env bash
# Compares the validation rows of this checkout with those of an older commit, alternating the
# two binaries round by round so that the machine's drift hits both alike.
#
#   scripts/bench-against.sh [REV] [ROUNDS] [FILTER]
#
# REV defaults to 1d4f3d6 (the first wave, before the verification pipeline), ROUNDS to 3,
# FILTER to the rows both versions have: validation/{raw,uncached,cached} and layer/*.
# The old commit is built in a temporary worktree with its own target dir (removed at the end).
# Prints one line per row and round ("old r1 validation/uncached [low median high]").
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-1d4f3d6}
rounds=${2:-3}
filter=${3:-'^(validation/(uncached|cached|raw)|layer/)'}
work=$(mktemp -d)
cleanup() {
  git worktree remove --force "$work/old" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add -q --detach "$work/old" "$rev"
echo "building $rev and this checkout (release)..." >&2
(cd "$work/old" && CARGO_TARGET_DIR="$work/target" cargo bench --quiet --bench validation --no-run) >&2
cargo bench --quiet --bench validation --no-run >&2
newest() { ls -t "$1"/release/deps/validation-* | grep -v '\.d$' | head -1; }
old_bin=$(newest "$work/target")
new_bin=$(newest target)
for round in $(seq 1 "$rounds"); do
  for which in old new; do
    if [ "$which" = old ]; then bin=$old_bin dir=$work/old; else bin=$new_bin dir=.; fi
    # criterion prints a row's name and its time on separate lines when the name is long.
    (cd "$dir" && "$bin" --bench "$filter" --warm-up-time 1 --measurement-time 3 --noplot 2>/dev/null) |
      awk -v tag="$which r$round" '
        /^(validation|layer)\// { name = $1; if ($2 == "time:") { print tag, name, $3, $4, $5, $6, $7, $8; name = "" }; next }
        $1 == "time:" && name != "" { print tag, name, $2, $3, $4, $5, $6, $7; name = "" }'
  done
done
