#!/bin/bash
# fuzz.sh — builds the libFuzzer harnesses of tests/fuzz/ with clang (ASan + UBSan, libFuzzer
# coverage, FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION) in its own build directory, and fuzzes
# each target for FUZZ_SECONDS with the limits of TESTING §D:
#   -timeout=25 -rss_limit_mb=2560 -malloc_limit_mb=64 -max_len=65536
# Prints per target: execs, exec/s, CPU-minutes, new corpus units, coverage; fails (exit 1)
# if any target crashed, ran out of memory, timed out or leaked. Each finding is minimised into
# $FUZZ_BUILD/findings/<target>/ with the command that adds it to tests/fuzz/<target>_regressions/.
#
#   tools/fuzz.sh                 every target, FUZZ_SECONDS each (default 60), FUZZ_JOBS at once
#   tools/fuzz.sh msg envelope    only those targets
#   tools/fuzz.sh seeds           rewrite tests/fuzz/corpus/ with the seed generator
#   FUZZ_SECONDS=1800 tools/fuzz.sh     the long mode (30 min a target; TESTING's release gate)
#
# Environment: FUZZ_SECONDS (60), FUZZ_JOBS (2: targets fuzzed at once, one core each),
# FUZZ_BUILD (build-fuzz), FUZZ_CC (clang-14, else clang).
# New corpus units go to $FUZZ_BUILD/corpus/<target>/ (kept between runs, never committed);
# the committed seeds and regressions are read, not written.
set -euo pipefail
cd "$(dirname "$0")/.."

targets_all="mp envelope body msg hs frame frame_cipher invite ingest"
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
build=${FUZZ_BUILD:-build-fuzz}
cc=${FUZZ_CC:-$(command -v clang-14 || command -v clang || true)}
if [ -z "$cc" ]; then
    echo "fuzz.sh: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

mode=fuzz
targets=$targets_all
if [ $# -gt 0 ]; then
    if [ "$1" = seeds ]; then
        mode=seeds
    else
        targets="$*"
        for t in $targets; do
            case " $targets_all " in *" $t "*) ;; *) echo "fuzz.sh: no target $t ($targets_all)" >&2; exit 2 ;; esac
        done
    fi
fi

t0=$(date +%s)
echo "== building fuzz targets with $cc in $build"
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOP_SANITIZE=address,undefined -DOP_FUZZ=ON >/dev/null
if [ $mode = seeds ]; then
    cmake --build "$build" -j "$jobs" --target fuzz_seeds >/dev/null
    rm -rf tests/fuzz/corpus
    ASAN_OPTIONS=detect_leaks=0 "$build/fuzz_seeds" tests/fuzz/corpus
    exit 0
fi
# shellcheck disable=SC2046
cmake --build "$build" -j "$jobs" $(for t in $targets; do printf -- '--target fuzz_%s ' "$t"; done) \
    >"$build/build.log" 2>&1 || { cat "$build/build.log"; exit 1; }
echo "   built in $(($(date +%s) - t0)) s"

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

dict_of() {
    case $1 in
        invite) echo tests/fuzz/invite.dict ;;
        hs | frame_cipher) echo "" ;;
        *) echo tests/fuzz/msgpack.dict ;;
    esac
}

run_one() { # target
    local t=$1 d
    local work=$build/corpus/$t out=$build/findings/$t log=$build/logs/$t.log
    mkdir -p "$work" "$out" "$build/logs"
    rm -f "$out"/crash-* "$out"/oom-* "$out"/timeout-* "$out"/leak-* "$out"/slow-unit-*
    d=$(dict_of "$t")
    set +e
    # The gate counts CPU-minutes, not wall time: the bash time keyword writes user+sys here.
    local TIMEFORMAT='%U %S'
    { time "$build/fuzz_$t" -timeout=25 -rss_limit_mb=2560 -malloc_limit_mb=64 -max_len=65536 \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/" \
        ${d:+-dict="$d"} "$work" "tests/fuzz/corpus/$t" "tests/fuzz/${t}_regressions" \
        >"$log" 2>&1; } 2>"$log.cpu"
    echo $? >"$log.rc"
    set -e
}

echo "== fuzzing: $(echo $targets | wc -w) targets x ${seconds} s, $jobs at a time"
for t in $targets; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_one "$t" &
done
wait

status=0
printf '%-13s %12s %9s %8s %6s %8s %8s  %s\n' target execs exec/s cpu-min new cov ft result
for t in $targets; do
    log=$build/logs/$t.log
    rc=$(cat "$log.rc")
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    execs=$(stat number_of_executed_units)
    rate=$(stat average_exec_per_sec)
    new=$(stat new_units_added)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    cpu=$(awk '{ printf "%.1f", ($1 + $2) / 60 }' "$log.cpu" 2>/dev/null || true)
    found=$(ls "$build/findings/$t" 2>/dev/null | grep -E '^(crash|oom|timeout|leak)-' || true)
    result=ok
    if [ "$rc" != 0 ] || [ -n "$found" ]; then
        result="FAILED (exit $rc)"
        status=1
    fi
    printf '%-13s %12s %9s %8s %6s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cpu:-?}" "${new:-?}" \
        "${cov:-?}" "${ft:-?}" "$result"
done

if [ $status != 0 ]; then
    for t in $targets; do
        for f in $(ls "$build/findings/$t" 2>/dev/null | grep -E '^(crash|oom|timeout|leak)-' || true); do
            a=$build/findings/$t/$f
            echo
            echo "== $t: $f"
            grep -E 'ERROR|SUMMARY|invariant|runtime error' "$build/logs/$t.log" | head -5 || true
            "$build/fuzz_$t" -minimize_crash=1 -runs=20000 -max_total_time=60 -timeout=25 \
                -malloc_limit_mb=64 -rss_limit_mb=2560 -exact_artifact_path="$a.min" "$a" \
                >"$a.min.log" 2>&1 || true
            [ -s "$a.min" ] || cp "$a" "$a.min"
            echo "   minimised: $a.min ($(wc -c <"$a.min") bytes; was $(wc -c <"$a"))"
            echo "   keep it:   cp $a.min tests/fuzz/${t}_regressions/<what-it-is>"
            echo "   replay:    $build/fuzz_$t $a.min"
        done
        [ "$(cat "$build/logs/$t.log.rc")" = 0 ] || echo "   log: $build/logs/$t.log"
    done
fi
echo "== fuzz.sh: $(($(date +%s) - t0)) s in all; $([ $status = 0 ] && echo 'no findings' || echo 'FINDINGS')"
exit $status
