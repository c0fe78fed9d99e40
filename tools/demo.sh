#!/bin/sh
# demo.sh — the main job, on this machine: a home office and three field consultants record
# check-ins and KPI values with no link at all; when links appear, their agents converge — one
# of them reaching the office only through a colleague who cannot read what she carries — and
# `outpost status` on each shows pending falling to 0. The leader then sees who needs attention
# (`team`, `alerts`) and answers; the feedback reaches the consultant's laptop at once.
# Usage: tools/demo.sh [BUILD_DIR].
set -eu
build=${1:-build}
bindir=$(cd "$build" && pwd)
out=$bindir/outpost
[ -x "$out" ] && [ -x "$bindir/outpostd" ] || { echo "demo: build first (see README)" >&2; exit 3; }
work=$(mktemp -d /tmp/outpost-demo.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { # shows the command as one would type it, then runs it
    printf '$ outpost'
    for a in "$@"; do
        case $a in *"'"*) printf ' "%s"' "$a" ;; *' '* | '') printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
    done
    printf '\n'
    "$out" "$@"
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P_OFFICE=$(port) P_ANN=$(port)
office=$work/office ann=$work/ann ben=$work/ben cai=$work/cai

step "The home office and three field consultants set up (no network is needed)"
export OUTPOST_NOW=2026-11-23T08:00:00Z
run --dir "$office" init --office --name "Home office" >/dev/null
for w in ann:"Ann Larsen":"Client A, Aarhus" ben:"Ben Olsen":"Client B, Bergen" \
         cai:"Cai Nielsen":"Client A, Aarhus"; do
    dir=$work/${w%%:*} rest=${w#*:}; name=${rest%%:*} site=${rest#*:}
    run --dir "$dir" init --name "$name" --site "$site" >/dev/null
    code=$("$out" --dir "$office" invite --name "$name" --site "$site" --addr 127.0.0.1:$P_OFFICE 2>/dev/null)
    printf '$ outpost invite --name "%s" ...   -> %.24s...\n' "$name" "$code"
    run --dir "$dir" join "$code" >/dev/null
done
run --dir "$office" kpi define articles --target 3 --unit articles --period week --title "Articles a week" >/dev/null

step "Cai works at the same client as Ann: her laptop reaches Ann's, never the office"
run --dir "$cai" peers remove 127.0.0.1:$P_OFFICE
run --dir "$cai" peers add 127.0.0.1:$P_ANN

step "Monday to Wednesday, all offline: check-ins and KPI values"
OUTPOST_NOW=2026-11-24T16:30:00Z run --dir "$ann" checkin --delivering yes --thriving yes --support yes --energy 4 --wins "kick-off went well"
OUTPOST_NOW=2026-11-24T16:45:00Z run --dir "$ann" kpi record articles 2
OUTPOST_NOW=2026-11-25T17:00:00Z run --dir "$ben" checkin --delivering yes --thriving no --support no --energy 2 \
    --blockers "no access to the client's test system" --note "long days; would like a call"
canary=canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
OUTPOST_NOW=2026-11-25T17:10:00Z run --dir "$cai" checkin --delivering no --thriving yes --support yes --energy 3 --note "$canary"
OUTPOST_NOW=2026-11-25T17:15:00Z run --dir "$cai" kpi record articles 1
export OUTPOST_NOW=2026-11-25T18:00:00Z
run --dir "$cai" status

step "Links appear: every laptop starts its agent (outpostd)"
"$bindir/outpostd" --dir "$office" --listen 127.0.0.1:$P_OFFICE 2>"$work/office.log" & pids="$pids $!"
"$bindir/outpostd" --dir "$ann" --listen 127.0.0.1:$P_ANN 2>"$work/ann.log" & pids="$pids $!"
"$bindir/outpostd" --dir "$ben" --no-listen 2>"$work/ben.log" & pids="$pids $!"
"$bindir/outpostd" --dir "$cai" --no-listen 2>"$work/cai.log" & pids="$pids $!"
pending() { "$out" --dir "$1" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])'; }
i=0
while :; do
    a=$(pending "$ann") b=$(pending "$ben") c=$(pending "$cai")
    printf 'pending:  ann %s  ben %s  cai %s\n' "$a" "$b" "$c"
    [ "$a$b$c" = 000 ] && break
    i=$((i + 1)); [ $i -lt 60 ] || { echo "demo: not converged after 30 s; logs in $work" >&2; exit 3; }
    sleep 0.5
done

step "The office reads everyone's records, Cai's included (they came through Ann)"
run --dir "$office" log --kind checkin
run --dir "$office" kpi report
run --dir "$cai" status

step "The leader asks: who needs me this week, and why?"
run --dir "$office" team
set +e
run --dir "$office" alerts
echo "(exit status $?: 1 means there is something to act on)"
set -e

step "The leader answers Ben and books a call; Ben's laptop has it at once (its agent is linked)"
ben_key=$("$out" --dir "$ben" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
run --dir "$office" feedback "$ben_key" "Thanks for flagging the test system: I have asked the client for access. Call on Thursday at 10?"
run --dir "$office" contact "$ben_key" --topic wellbeing --note "long days, blocked on access; call booked"
unread() { "$out" --dir "$ben" inbox --json --peek | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
i=0
until [ "$(unread)" -gt 0 ]; do
    i=$((i + 1)); [ $i -lt 40 ] || { echo "demo: the feedback did not reach Ben; logs in $work" >&2; exit 3; }
    sleep 0.25
done
run --dir "$ben" inbox
run --dir "$ben" log --kind contact

step "Ann's laptop carried Cai's records without being able to read them"
if grep -rq "$canary" "$ann"; then echo "FOUND Cai's note in Ann's files (unexpected)"; exit 3; fi
echo "Cai's note ($canary) occurs nowhere in $ann (database, WAL, keys)"
run --dir "$ann" log --kind checkin --author "$("$out" --dir "$cai" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"

step "Every node re-checks every chain, signature and body"
for d in "$office" "$ann" "$ben" "$cai"; do run --dir "$d" verify; done

step "Someone flips one byte of a stored entry at the office; verify notices (exit status 1)"
python3 - "$office/outpost.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rowid, env = db.execute("SELECT id, envelope FROM entries ORDER BY id LIMIT 1 OFFSET 1").fetchone()
env = bytearray(env); env[40] ^= 0x01
db.execute("UPDATE entries SET envelope = ? WHERE id = ?", (bytes(env), rowid)); db.commit()
PY
set +e
run --dir "$office" verify
echo "(exit status $?)"
set -e
echo
echo "The nodes and the agents' logs are in $work"
