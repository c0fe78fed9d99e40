#!/bin/sh
# coverage.sh — line and branch coverage of agent/ proto/ store/ (TESTING §E).
#
# Builds outpost with gcc --coverage (-DOP_COVERAGE=ON, Debug, its own build dir), runs the
# whole ctest suite there, and reports with lcov (Debian package `lcov`):
#   - per file and per directory (agent/, proto/, store/): lines and branches covered, in %;
#   - an HTML report in $dir/coverage/html/index.html (genhtml);
#   - the lcov tracefile $dir/coverage/outpost.info.
# Only agent/ proto/ store/ are counted: test code, tools/ and system headers are left out.
#
# Environment:
#   COVERAGE_DIR=build-cov      the build directory
#   COVERAGE_MIN_LINES=90       fail (exit 1) if any of the three directories is below this %
#   COVERAGE_MIN_BRANCHES=80    the same for branches
# Extra arguments go to ctest (e.g. -R unit. for a quick look; the thresholds assume the whole
# suite). Exit status: 0, 1 if a test failed or a threshold was missed, 2 on a usage error.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
dir=${COVERAGE_DIR:-build-cov}
jobs=$(nproc 2>/dev/null || echo 2)
for tool in lcov genhtml; do
    if ! command -v $tool >/dev/null; then
        echo "coverage: $tool not found (apt-get install lcov)" >&2
        exit 2
    fi
done
lrc="--rc lcov_branch_coverage=1"
status=0

echo "== coverage build ($dir)"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DOP_COVERAGE=ON >/dev/null
cmake --build "$dir" -j "$jobs" >/dev/null
# Counters of an earlier run would add up: start from zero.
lcov -q --zerocounters --directory "$dir"

echo "== coverage tests"
ctest --test-dir "$dir" -j "$jobs" --output-on-failure "$@" || status=1

echo "== coverage report"
out=$dir/coverage
rm -rf "$out"
mkdir -p "$out"
# lcov's chatter (Debian's lcov 1.16 warns of redefined subroutines) goes to a log, shown only
# when it fails.
lcov_quiet() {
    "$@" >>"$out/lcov.log" 2>&1 || { cat "$out/lcov.log" >&2; exit 1; }
}
# A zero baseline of everything compiled, so that a file no test ran counts as 0 %, not as
# absent.
lcov_quiet lcov $lrc --capture --initial --directory "$dir" --base-directory "$root" \
    -o "$out/base.info"
lcov_quiet lcov $lrc --capture --directory "$dir" --base-directory "$root" -o "$out/run.info"
lcov_quiet lcov $lrc -a "$out/base.info" -a "$out/run.info" -o "$out/all.info"
lcov_quiet lcov $lrc --extract "$out/all.info" "$root/agent/*" "$root/proto/*" "$root/store/*" \
    -o "$out/outpost.info"
lcov_quiet genhtml $lrc --prefix "$root" -o "$out/html" "$out/outpost.info"

# One row per file, then one summary line per directory; the thresholds apply per directory.
awk -v root="$root/" -v minl="${COVERAGE_MIN_LINES:-}" -v minb="${COVERAGE_MIN_BRANCHES:-}" '
    function pct(h, f) { return f ? sprintf("%6.1f%%", 100 * h / f) : "     -" }
    /^SF:/ { f = substr($0, 4); sub("^" root, "", f); split(f, p, "/"); d = p[1] "/";
             files[f] = d }
    /^LF:/ { lf[f] += substr($0, 4) }
    /^LH:/ { lh[f] += substr($0, 4) }
    /^BRF:/ { bf[f] += substr($0, 5) }
    /^BRH:/ { bh[f] += substr($0, 5) }
    END {
        printf "%-24s %16s %16s\n", "file", "lines", "branches"
        n = 0                                   # sorted by name (mawk has no asorti)
        for (f in files) {
            for (j = ++n; j > 1 && names[j - 1] > f; j--) names[j] = names[j - 1]
            names[j] = f
        }
        for (i = 1; i <= n; i++) {
            f = names[i]; d = files[f]
            printf "%-24s %7s %8s %7s %8s\n", f, pct(lh[f], lf[f]), lh[f] "/" lf[f],
                   pct(bh[f], bf[f]), bh[f] "/" bf[f]
            dlf[d] += lf[f]; dlh[d] += lh[f]; dbf[d] += bf[f]; dbh[d] += bh[f]
        }
        fail = 0
        split("agent/ proto/ store/", dirs, " ")
        for (i = 1; i <= 3; i++) {
            d = dirs[i]
            printf "SUMMARY %-8s lines %s (%d/%d)  branches %s (%d/%d)\n", d,
                   pct(dlh[d], dlf[d]), dlh[d], dlf[d], pct(dbh[d], dbf[d]), dbh[d], dbf[d]
            tl += dlf[d]; th += dlh[d]; tbf += dbf[d]; tbh += dbh[d]
            if (minl != "" && (!dlf[d] || 100 * dlh[d] / dlf[d] < minl)) {
                printf "coverage: %s lines below %s%%\n", d, minl; fail = 1 }
            if (minb != "" && (!dbf[d] || 100 * dbh[d] / dbf[d] < minb)) {
                printf "coverage: %s branches below %s%%\n", d, minb; fail = 1 }
        }
        printf "SUMMARY %-8s lines %s (%d/%d)  branches %s (%d/%d)\n", "total",
               pct(th, tl), th, tl, pct(tbh, tbf), tbh, tbf
        exit fail
    }' "$out/outpost.info" | tee "$out/summary.txt"
# tee hides awk's status: the verdict is in the file.
grep -q '^coverage: ' "$out/summary.txt" && status=1
echo "coverage: HTML report in $dir/coverage/html/index.html"
exit $status
