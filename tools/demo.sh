#!/bin/sh
# demo.sh — the main job so far, on this machine: two field consultants record check-ins and
# KPI values with no link at all; each node shows what it holds; `outpost verify` catches a
# byte flipped in a database. Usage: tools/demo.sh [BUILD_DIR] (default: build).
set -eu
build=${1:-build}
bin=$(cd "$build" && pwd)/outpost
[ -x "$bin" ] || { echo "demo: $bin not found; build first (see README)" >&2; exit 3; }
work=$(mktemp -d /tmp/outpost-demo.XXXXXX)
ann=$work/ann ben=$work/ben
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ outpost %s\n' "$*"; "$bin" "$@"; }

step "Two field consultants set up their laptops (no network is used at any point)"
export OUTPOST_NOW=2026-11-23T08:00:00Z
run --dir "$ann" init --name "Ann Larsen" --site "Client A, Aarhus"
run --dir "$ben" init --name "Ben Olsen" --site "Client B, Bergen"

step "Each records the team's KPI (the office will define it too; offline, each node keeps its own)"
run --dir "$ann" kpi define articles --target 3 --unit articles --period week --title "Articles a week"
run --dir "$ben" kpi define replies --target 4 --unit hours --direction at_most --period week \
    --title "Answer customer e-mails within 4 hours"

step "Monday to Wednesday at the client's site: check-ins and KPI values, all offline"
OUTPOST_NOW=2026-11-23T16:30:00Z run --dir "$ann" checkin --delivering yes --thriving yes --support yes --energy 4 --wins "kick-off went well"
OUTPOST_NOW=2026-11-24T16:45:00Z run --dir "$ann" kpi record articles 2 --at 2026-11-24
OUTPOST_NOW=2026-11-25T17:00:00Z run --dir "$ann" checkin --delivering yes --thriving no --support no --energy 2 \
    --blockers "no access to the client's test system" --note "long days; would like a call"
OUTPOST_NOW=2026-11-25T17:05:00Z run --dir "$ann" kpi record articles 1
OUTPOST_NOW=2026-11-24T15:00:00Z run --dir "$ben" checkin --delivering yes --thriving yes --support yes --energy 5
OUTPOST_NOW=2026-11-25T15:10:00Z run --dir "$ben" kpi record replies 3.5 --note "median reply time"

export OUTPOST_NOW=2026-11-25T18:00:00Z
step "What Ann's laptop holds: status, log and this week's KPI report"
run --dir "$ann" status
run --dir "$ann" log
run --dir "$ann" kpi report

step "Ben's laptop, and the same for scripts (--json)"
run --dir "$ben" status
run --dir "$ben" kpi report --json

step "What travels to colleagues and the office is ciphertext: no log body contains the note"
python3 - "$ann/outpost.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bodies = [b for (b,) in db.execute("SELECT body FROM entries WHERE kind != 8")]
assert bodies and not any(b"would like a call" in b for b in bodies), "plaintext in a log body"
print(f"{len(bodies)} bodies checked: each is XChaCha20-Poly1305 ciphertext; only Ann's node"
      " (and, once it joins, the office) holds the key")
PY

step "Every chain, signature and body verifies"
run --dir "$ann" verify

step "Someone flips one byte of a stored entry; verify notices (exit status 1)"
python3 - "$ann/outpost.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rowid, env = db.execute("SELECT id, envelope FROM entries ORDER BY id LIMIT 1 OFFSET 1").fetchone()
env = bytearray(env); env[40] ^= 0x01
db.execute("UPDATE entries SET envelope = ? WHERE id = ?", (bytes(env), rowid)); db.commit()
print("flipped one bit in the envelope of entry", rowid & 0xffffffff)
PY
set +e
run --dir "$ann" verify
echo "(exit status $?)"
set -e
echo
echo "The nodes are in $work; try: $bin --dir $ben log"
