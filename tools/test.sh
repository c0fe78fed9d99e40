#!/bin/sh
# test.sh — builds outpost twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs the whole ctest suite in each. Extra arguments go to ctest (e.g. -R unit.proto).
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
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir "$dir" -j "$jobs" --output-on-failure "$@" || status=1
done
exit $status
