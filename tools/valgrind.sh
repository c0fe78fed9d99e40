#!/bin/sh
# valgrind.sh — Valgrind memcheck over what the fuzzers found and, on request, the unit tests:
# TESTING §D's release gate ("run the corpus under Valgrind memcheck"; MSan would need every
# library built instrumented) and §E's memcheck of the test binaries. Not run by CI: ASan,
# UBSan and LeakSanitizer run the whole suite there; this is the second opinion, from a tool
# that needs no recompilation of the code under test and sees uninitialised reads.
#
# Builds gcc RelWithDebInfo binaries in its own build dir (DWARF 4, which Debian 12's valgrind
# 3.19 reads), then for every fuzz target replays, under memcheck, the committed seeds
# (tests/fuzz/corpus/<t>), the regressions (tests/fuzz/<t>_regressions) and the corpus the
# fuzzers grew (FUZZ_BUILD/corpus/<t>, from tools/fuzz.sh), if there is one. Any memcheck
# error (invalid read or write, use of uninitialised memory, a leak) fails it.
#
#   tools/valgrind.sh                 the fuzz corpora (minutes; the grown corpora dominate)
#   VALGRIND_UNIT=1 tools/valgrind.sh also every unit test (unit.*; ~30x their normal time)
#
# Environment: VALGRIND_DIR (build-vg), FUZZ_BUILD (build-fuzz: where fuzz.sh keeps what its
# fuzzers grew), VALGRIND_UNIT (0). Exit status: 0 clean, 1 memcheck found something (its
# report is in VALGRIND_DIR/valgrind/<name>.log), 2 usage (valgrind missing).
set -eu
cd "$(dirname "$0")/.."
dir=${VALGRIND_DIR:-build-vg}
grown=${FUZZ_BUILD:-build-fuzz}/corpus
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2
    exit 2
fi
t0=$(date +%s)
echo "== building in $dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS="-gdwarf-4" >/dev/null
cmake --build "$dir" -j2 >/dev/null
logs=$dir/valgrind
rm -rf "$logs"
mkdir -p "$logs"
status=0

# memcheck NAME [VALGRIND-OPTION...] COMMAND...: runs it under memcheck (later options win); a
# memcheck error or a failing command fails.
memcheck() {
    name=$1
    shift
    s=$(date +%s)
    if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --track-origins=yes "$@" >"$logs/$name.log" 2>&1; then
        printf '%-28s ok      %4d s\n' "$name" $(($(date +%s) - s))
    else
        printf '%-28s FAILED  %4d s  (%s)\n' "$name" $(($(date +%s) - s)) "$logs/$name.log"
        status=1
    fi
}

echo "== fuzz corpora under memcheck"
for t in mp envelope body msg hs frame frame_cipher invite ingest; do
    set -- tests/fuzz/corpus/$t tests/fuzz/${t}_regressions
    n=$(ls tests/fuzz/corpus/$t tests/fuzz/${t}_regressions | wc -l)
    if [ -d "$grown/$t" ]; then
        set -- "$@" "$grown/$t"
        n=$((n + $(ls "$grown/$t" | wc -l)))
    fi
    echo "   $t: $n inputs"
    memcheck "fuzz.replay.$t" "$dir/fuzz_replay_$t" "$@"
done

if [ "${VALGRIND_UNIT:-0}" = 1 ]; then
    # Leaks are LeakSanitizer's job here (CI): several unit tests fork children that _exit with
    # the parent's heap still allocated, which memcheck would count as the child's leaks.
    echo "== unit tests under memcheck (leaks: see LeakSanitizer in CI)"
    for exe in "$dir"/*_test; do
        memcheck "$(basename "$exe")" --leak-check=no "$exe"
    done
fi
echo "== valgrind.sh: $(($(date +%s) - t0)) s; $([ $status = 0 ] && echo clean || echo 'memcheck FOUND ERRORS')"
exit $status
