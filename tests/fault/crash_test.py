#!/usr/bin/env python3
"""kill -9 during local writes (TESTING A1).

    crash_test.py PATH/TO/crash_writer

Starts crash_writer on one store directory again and again and SIGKILLs it at a random instant,
uniform 0-30 ms after start. The writer prints "ack <note>" only after store_log_append
returned, that is after COMMIT. After every kill a copy of the store files must pass
SQLite's integrity_check; every CHECK_EVERY kills, and at the end, `crash_writer --check` on the
copy must show every acknowledged note exactly once, no duplicates, no hole in any run's sequence of notes, a
projection that agrees with the log, and store_verify with 0 problems.

Environment: SEED (default: random; printed, re-run with it), CRASH_KILLS (default 200; the
gate runs 2000), CRASH_CHECK_EVERY (default 5, or 20 above 500 kills), CRASH_KEEP=1 keeps the
directory.
"""
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

NOTE = re.compile(r"^w([0-9a-z]+)-(\d+)$")


class Failed(Exception):
    pass


def snapshot(node, snap):
    """Copies the store files as the killed writer left them into snap (a fresh directory).

    The checks then run on the copy: opening the store checkpoints its WAL on close, and the
    next writer must meet the WAL exactly as the kill left it. The -shm file is not copied, so
    the checks also cover rebuilding the WAL index from the log file alone (as after a reboot).
    """
    shutil.rmtree(snap, ignore_errors=True)
    os.makedirs(snap)
    for name in ("outpost.db", "outpost.db-wal"):
        src = os.path.join(node, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(snap, name))
    return os.path.exists(os.path.join(snap, "outpost.db"))


def integrity(snap):
    """PRAGMA integrity_check of the snapshot ("ok" or SQLite's text)."""
    con = sqlite3.connect(os.path.join(snap, "outpost.db"))
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as e:
        rows = [("cannot check: %s" % e,)]
    finally:
        con.close()
    return "ok" if rows == [("ok",)] else "; ".join(r[0] for r in rows)


def run_check(writer, node, acked):
    """Runs `crash_writer --check` on node (a snapshot) and checks its view against the
    acknowledged notes."""
    p = subprocess.run([writer, "--check", node], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    notes, summary, problems = [], None, []
    for line in p.stdout.splitlines():
        if line.startswith("note "):
            notes.append(line[5:])
        elif line.startswith("problem "):
            problems.append(line)
        elif line.startswith("entries "):
            summary = dict(zip(line.split()[0::2], map(int, line.split()[1::2])))
    if p.returncode != 0 or summary is None:
        raise Failed("check exited %d: %s %s" % (p.returncode, p.stderr.strip(),
                                                  " | ".join(problems[:5])))
    if summary["problems"] != 0:
        raise Failed("store_verify found %d problems: %s" % (summary["problems"],
                                                             " | ".join(problems[:5])))
    if summary["checkins"] != summary["checkin_entries"]:
        raise Failed("projection has %d check-ins but the log %d" %
                     (summary["checkins"], summary["checkin_entries"]))
    seen = {}
    for n in notes:
        seen[n] = seen.get(n, 0) + 1
    dups = sorted(n for n, c in seen.items() if c > 1)
    if dups:
        raise Failed("%d duplicated notes, e.g. %s" % (len(dups), dups[:5]))
    lost = sorted(n for n in acked if n not in seen)
    if lost:
        raise Failed("%d acknowledged notes lost, e.g. %s" % (len(lost), lost[:5]))
    # Appends are sequential, each durable before the next begins: a run's notes present in
    # the store are exactly 0..m, never with a hole.
    per_run = {}
    for n in notes:
        m = NOTE.match(n)
        if not m:
            raise Failed("unexpected note %r" % n)
        per_run.setdefault(m.group(1), []).append(int(m.group(2)))
    for run, idx in per_run.items():
        if sorted(idx) != list(range(len(idx))):
            raise Failed("run %s has a hole in its notes: %s" % (run, sorted(idx)[:20]))
    return len(notes), summary


def main():
    if len(sys.argv) != 2:
        print("usage: crash_test.py PATH/TO/crash_writer", file=sys.stderr)
        return 2
    writer = os.path.abspath(sys.argv[1])
    seed = int(os.environ.get("SEED") or random.SystemRandom().randrange(1 << 32))
    kills = int(os.environ.get("CRASH_KILLS") or 200)
    # integrity_check runs after every kill. The full check re-verifies every signature of a
    # growing store (a few thousand entries after 200 kills), so by default it runs after every
    # 5th kill (every 20th in long runs) and at the end; CRASH_CHECK_EVERY=1 checks every one.
    check_every = int(os.environ.get("CRASH_CHECK_EVERY") or (5 if kills <= 500 else 20))
    rng = random.Random(seed)
    print("SEED=%d kills=%d (re-run: SEED=%d CRASH_KILLS=%d %s %s)" %
          (seed, kills, seed, kills, sys.argv[0], writer), flush=True)

    tmp = tempfile.mkdtemp(prefix="outpost-crash-")
    node = os.path.join(tmp, "node")
    snap = os.path.join(tmp, "snapshot")
    acked = set()
    landed = 0  # kills that hit a writer that had acknowledged at least one note
    checks = 0
    started = time.monotonic()
    ok = False
    try:
        for k in range(kills):
            delay = rng.uniform(0.0, 0.030)
            p = subprocess.Popen([writer, node, str(k)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            time.sleep(delay)
            early = p.poll()
            p.send_signal(signal.SIGKILL)
            out, err = p.communicate(timeout=60)
            if early is not None:
                raise Failed("kill %d: writer exited by itself with %d before the kill: %s" %
                             (k, early, err.decode(errors="replace").strip()))
            text = out.decode(errors="replace")
            # Only whole lines: a line cut by the kill was never an acknowledgement.
            lines = text.split("\n")[:-1]
            got = [l[4:] for l in lines if l.startswith("ack ")]
            if got:
                landed += 1
            for n in got:
                if n in acked:
                    raise Failed("note %s acknowledged twice" % n)
                acked.add(n)
            if not snapshot(node, snap):
                if acked:
                    raise Failed("kill %d: the database is gone, with %d acknowledged notes" %
                                 (k, len(acked)))
                continue  # every kill so far came before the store was created
            res = integrity(snap)
            if res != "ok":
                raise Failed("kill %d (after %.1f ms): integrity_check: %s" %
                             (k, delay * 1000, res))
            if check_every > 0 and (k + 1) % check_every == 0:
                run_check(writer, snap, acked)
                checks += 1

        # After the last kill the writer still starts and writes, then everything checks out.
        p = subprocess.run([writer, node, "final", "3"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            raise Failed("writer after the kills exited %d: %s" % (p.returncode, p.stderr.strip()))
        final = [l[4:] for l in p.stdout.splitlines() if l.startswith("ack ")]
        if len(final) != 3:
            raise Failed("writer after the kills acknowledged %d of 3" % len(final))
        acked.update(final)
        if not snapshot(node, snap):
            raise Failed("no database after the final run")
        res = integrity(snap)
        if res != "ok":
            raise Failed("final integrity_check: %s" % res)
        present, summary = run_check(writer, snap, acked)
        checks += 1
        if landed == 0:
            # Nothing was ever acknowledged before a kill: the test would prove nothing.
            raise Failed("no kill landed after an acknowledgement; the writer is too slow to start")
        ok = True
        took = time.monotonic() - started
        print("crash_kill9: %d kills (%d after at least one ack), %d acknowledged, %d present, "
              "%d entries, %d full checks, 0 lost, 0 duplicates, integrity ok, verify 0 problems "
              "in %.1f s" % (kills, landed, len(acked), present, summary["entries"], checks, took))
        print("1 passed, 0 failed")
        return 0
    except (Failed, subprocess.TimeoutExpired) as e:
        print("FAIL (SEED=%d): %s" % (seed, e))
        print("store kept in %s" % tmp)
        print("0 passed, 1 failed")
        return 1
    finally:
        if ok and os.environ.get("CRASH_KEEP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
