#!/usr/bin/env bash
# Runs every fuzz target (cargo-fuzz / libFuzzer, AddressSanitizer, debug assertions) for the
# given number of seconds each, two at a time, and prints a table of executions, coverage and
# crashes. Not part of CI.
#
#   scripts/fuzz.sh [seconds]        # default 300 per target
#   FUZZ_JOBS=1 FUZZ_TARGETS="bearer jwks" scripts/fuzz.sh 60
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); on a stable toolchain this script sets
# RUSTC_BOOTSTRAP=1, which lets stable rustc accept them. Working corpora and crash artifacts
# go to fuzz/target/ (git-ignored); the committed seeds in fuzz/corpus/<target>/ are read, never
# written. A crash leaves its input in fuzz/target/artifacts/<target>/: fix the bug, copy the
# input to fuzz/regressions/<target>/ (tests/it/fuzz_regressions.rs replays it) and commit both.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-300}"
jobs="${FUZZ_JOBS:-2}"
all_targets="bearer jwks discovery introspection session_cookie login_cookie callback"
targets="${FUZZ_TARGETS:-$all_targets}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== building fuzz targets (release, ASan, debug assertions)"
(cd fuzz && cargo fuzz build --debug-assertions)

work=fuzz/target/fuzz-run
mkdir -p "$work/logs"
touch "$work/started"
run_one() {
    local t="$1"
    local corpus="$work/corpus/$t" artifacts="fuzz/target/artifacts/$t/"
    mkdir -p "$corpus" "$artifacts"
    # libFuzzer adds new inputs to the first directory only: the committed seeds stay as they are.
    (cd fuzz && cargo fuzz run --debug-assertions "$t" "../$corpus" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -artifact_prefix="../$artifacts" -print_final_stats=1) \
        >"$work/logs/$t.log" 2>&1 || true
}

running=0
for t in $targets; do
    echo "== fuzzing $t for ${secs}s"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

report="$work/report.md"
{
    echo "| target | seconds | executions | exec/s | coverage (cov) | features (ft) | corpus | crashes |"
    echo "|---|---|---|---|---|---|---|---|"
    for t in $targets; do
        log="$work/logs/$t.log"
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
        rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
        last=$(grep -E '^#[0-9]+' "$log" | tail -1)
        cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
        ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
        corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*')
        crashes=$(find "fuzz/target/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) -newer "$work/started" 2>/dev/null | wc -l)
        echo "| $t | $secs | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
    done
} >"$report"
cat "$report"
if grep -qE '\| [1-9][0-9]* \|$' "$report"; then
    echo "crashes found: see fuzz/target/artifacts/ and fuzz/target/fuzz-run/logs/" >&2
    exit 1
fi
