#!/bin/sh
# test.sh — builds outpost twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs the whole ctest suite in each (the bad-network tests, label net, in the plain build
# only: they wait on the network, not on the code); then 60 s of fuzzing per libFuzzer target
# (tools/fuzz.sh) and the coverage report with its floor (tools/coverage.sh). Extra arguments
# go to ctest (e.g. -R unit.proto), and then only the two ctest runs happen.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
status=0
for kind in plain sanitize; do
    dir=build-test-$kind
    flags="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
    [ $kind = sanitize ] && flags="-DCMAKE_BUILD_TYPE=Debug -DOP_SANITIZE=address,undefined"
    echo "== $kind build ($dir)"
    # shellcheck disable=SC2086
    cmake -S . -B "$dir" $flags >/dev/null
    cmake --build "$dir" -j "$jobs" >/dev/null
    echo "== $kind tests"
    skip=""
    [ $kind = sanitize ] && skip="-LE net"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$dir" -j "$jobs" --output-on-failure $skip "$@" || status=1
done
[ $# -gt 0 ] && exit $status
echo "== fuzzing"
tools/fuzz.sh || status=1
# TESTING §E: 90 % lines and 80 % branches in each of agent/ proto/ store/.
COVERAGE_MIN_LINES=${COVERAGE_MIN_LINES:-90} COVERAGE_MIN_BRANCHES=${COVERAGE_MIN_BRANCHES:-80} \
    tools/coverage.sh -LE net || status=1
exit $status
