#!/usr/bin/env bash
# Runs every fuzz target (cargo-fuzz / libFuzzer, AddressSanitizer, debug assertions) for the
# given number of seconds each, two at a time, and prints a table of executions, coverage and
# crashes. CI runs it with a short time (.ci/run: FUZZ_SMOKE=1 scripts/fuzz.sh 20) so that a
# target that no longer builds, or crashes on its seeds, fails the run.
#
#   scripts/fuzz.sh [seconds]        # default 300 per target
#   FUZZ_JOBS=1 FUZZ_TARGETS="bearer jwks" scripts/fuzz.sh 60
#   FUZZ_NICE=19 scripts/fuzz.sh 600 # on a shared machine
#   FUZZ_NO_BUILD=1 FUZZ_WORK=fuzz/target/run-2 scripts/fuzz.sh 600  # the binaries built last,
#                                    # in another work directory (two runs side by side)
#   FUZZ_DEV=1 scripts/fuzz.sh 20    # unoptimized build (compiles faster, runs slower): CI's smoke
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer); on a stable toolchain this script sets
# RUSTC_BOOTSTRAP=1, which lets stable rustc accept them, and installs cargo-fuzz
# (`cargo install cargo-fuzz --locked`) when it is missing.
#
# The targets are built once, and the binaries copied aside before any run starts, so that
# editing the crate while a long run goes on never rebuilds a target under a running fuzzer.
# Working corpora and crash artifacts go to fuzz/target/ (git-ignored); the committed seeds in
# fuzz/corpus/<target>/ are read, never written. Each target gets the dictionaries of
# fuzz/dicts/ that fit it (JOSE and URL tokens). A crash leaves its input in
# fuzz/target/artifacts/<target>/: fix the bug, copy the input to fuzz/regressions/<target>/
# (tests/it/fuzz_regressions.rs replays it) and commit both. For the structure-aware targets,
# `OKTA_FUZZ_RENDER=1 fuzz/target/fuzz-run/bin/<target> <crash file>` prints the input in the
# text form the harness (and the regression test) reads: commit that.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-300}"
jobs="${FUZZ_JOBS:-2}"
niceness="${FUZZ_NICE:-0}"
all_targets="bearer jwks discovery introspection session_cookie login_cookie callback \
dpop htu universal_logout backchannel_logout revocation_wire resource_metadata"
targets="${FUZZ_TARGETS:-$all_targets}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

triple="$(rustc -vV | sed -n 's/^host: //p')"
if [ -n "${FUZZ_DEV:-}" ]; then
    profile=debug build_flags="--dev"
else
    profile=release build_flags="--release"
fi
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    echo "== building fuzz targets ($profile, ASan, debug assertions, $triple)"
    (cd fuzz && nice -n "$niceness" cargo fuzz build $build_flags --debug-assertions)
fi

work="${FUZZ_WORK:-fuzz/target/fuzz-run}"
rm -rf "$work/bin" "$work/logs"
mkdir -p "$work/logs" "$work/bin"
for t in $targets; do
    cp "fuzz/target/$triple/$profile/$t" "$work/bin/$t"
done
touch "$work/started"

# The dictionaries of a target: JOSE tokens for what carries a JWS or JSON claims, URL tokens
# for what carries a URI or a path, both for the endpoints that take both.
dicts_of() {
    case "$1" in
        htu | resource_metadata | discovery) echo "url" ;;
        dpop | callback) echo "jose url" ;;
        revocation_wire) echo "jose" ;;
        *) echo "jose" ;;
    esac
}

run_one() {
    local t="$1"
    local corpus="$work/corpus/$t" artifacts="fuzz/target/artifacts/$t/"
    local dict="$work/$t.dict"
    mkdir -p "$corpus" "$artifacts"
    : >"$dict"
    for d in $(dicts_of "$t"); do
        cat "fuzz/dicts/$d.dict" >>"$dict"
    done
    # libFuzzer adds new inputs to the first directory only: the committed seeds stay as they are.
    nice -n "$niceness" "$work/bin/$t" "$corpus" "fuzz/corpus/$t" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -dict="$dict" -artifact_prefix="$artifacts" -print_final_stats=1 \
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
    echo "| target | seconds | executions | exec/s | edges (cov) | features (ft) | corpus | crashes |"
    echo "|---|---|---|---|---|---|---|---|"
    for t in $targets; do
        log="$work/logs/$t.log"
        execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
        rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
        last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
        cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
        ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
        corp=$(echo "$last" | grep -o 'corp: [0-9]*' | grep -o '[0-9]*' || true)
        crashes=$(find "fuzz/target/artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) -newer "$work/started" 2>/dev/null | wc -l)
        # A target that never got to its first status line did not run (a crash on a seed, or
        # a binary that does not start): that fails too.
        [ -n "$last" ] || crashes=$((crashes + 1))
        echo "| $t | $secs | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
    done
} >"$report"
cat "$report"
if grep -qE '\| [1-9][0-9]* \|$' "$report"; then
    echo "crashes found (or a target did not run): see fuzz/target/artifacts/ and $work/logs/" >&2
    exit 1
fi
