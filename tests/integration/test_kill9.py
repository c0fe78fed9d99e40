#!/usr/bin/env python3
"""kill -9 mid-sync (TESTING A2, on real processes): a worker with about 5,000 unsynced entries
syncs to an office, both running outpostd. Each round, once the worker is connected, one side
(seeded choice) gets SIGKILL at a seeded random instant (0-600 ms later); its store files are
copied as the kill left them and must pass `PRAGMA integrity_check`. While it is down the
worker records a check-in (acknowledged: `outpost checkin` exit 0) and gains more entries to
forward (300 a round; 100 above 20 rounds), so every round has a sync in flight; then the
victim restarts on the same port (its stale control socket left by the kill).

After the last round: the two converge (deadline 120 s; `outpost sync` asks the agents to dial
at once every 3 s, as a user would, instead of waiting out the backoff), every entry either
side held or acknowledged is on both, byte for byte (same hashes), none is listed twice nor
projected twice, `outpost verify` is clean on both, and `PRAGMA integrity_check` is ok.

Rounds: INTEG_KILLS (default 100, about a second each; 1,000 with INTEG_LONG=1). Long mode,
directly:
  INTEG_KILLS=2000 SEED=1 OUTPOST_BIN=BUILD/outpost python3 tests/integration/test_kill9.py
or through ctest after `cmake -DOP_INTEG_KILL9_TIMEOUT=7200 BUILD` (ctest's --timeout does not
override a test's TIMEOUT):
  INTEG_KILLS=2000 SEED=1 ctest --test-dir BUILD -R integration.kill9 --output-on-failure
"""
import os
import re
import shutil
import sqlite3
import time

import net

KILLS = int(os.environ.get("INTEG_KILLS") or (1000 if net.LONG else 100))
MORE = 300 if KILLS <= 20 else 100  # entries to forward added per round


def snapshot_integrity(node, where):
    """Copies outpost.db and its WAL (not the SHM: rebuilt, as after a reboot) and runs
    PRAGMA integrity_check on the copy."""
    shutil.rmtree(where, ignore_errors=True)
    os.makedirs(where)
    for name in ("outpost.db", "outpost.db-wal"):
        src = os.path.join(node.dir, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(where, name))
    con = sqlite3.connect(os.path.join(where, "outpost.db"))
    try:
        rows = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
        n = con.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        con.close()
    shutil.rmtree(where, ignore_errors=True)
    return rows, n


class Kill9(net.IntegTest):

    def test_kill9_during_sync(self):
        office, (w,) = self.team(1)
        for i in range(3):
            office.checkin(note="office %d" % i)
        w.gen(4990, 5, seed=self.rng.randrange(1, 1 << 30), office=office)
        for i in range(5):
            w.checkin(note="before %d" % i)
        expected = set(w.pairs()) | set(office.pairs())
        net.log("%d entries to sync, %d kill rounds" % (len(expected), KILLS))

        office.start()
        w.start()
        kills = {"office": 0, "w1": 0}
        t0 = time.monotonic()
        mark = None  # where the worker's log lines of this round begin (None: its last start)
        for rnd in range(KILLS):
            # The worker dials the office (at once when asked: `outpost sync`).
            w.run("sync")
            w.agent.wait_log(r"connected to %s" % re.escape(office.key[:8]), 40,
                             "round %d: the worker connected" % rnd, since=mark)
            victim = self.rng.choice([office, w])
            delay = self.rng.uniform(0, 0.6)
            time.sleep(delay)   # the kill instant (not an assertion)
            victim.agent.kill9()
            kills[victim.name] += 1
            rows, n = snapshot_integrity(victim, os.path.join(self.tmp, "snap"))
            self.assertEqual(rows, ["ok"], "round %d: %s's store after kill -9" % (
                rnd, victim.name))
            net.log("round %d: kill -9 %s %.0f ms after the link came up; %d entries there; "
                    "integrity ok" % (rnd, victim.name, delay * 1000, n))
            # While the victim is down: an acknowledged check-in, and more to forward.
            w.checkin(note="round %d" % rnd)
            st = w.status()
            expected.add((w.key, st["entries"]["own"]))
            before = set(w.pairs())
            w.gen(MORE, 1, seed=self.rng.randrange(1, 1 << 30), office=office)
            expected |= set(w.pairs()) - before
            mark = w.agent.offset() if victim is office else None
            victim.start()
        net.log("%d kills (office %d, worker %d) in %.1f s" % (
            KILLS, kills["office"], kills["w1"], time.monotonic() - t0))

        pairs, secs = self.wait_converged([office, w], 120, nudge_every=3)
        net.log("converged: %d entries %.1f s after the last restart" % (len(pairs), secs))
        missing = expected - set(pairs)
        self.assertEqual(missing, set(), "lost: %d entries, e.g. %s" % (
            len(missing), sorted(missing)[:5]))
        extra = [p for p in set(pairs) - expected if p[0] != office.key]
        self.assertEqual(extra, [], "entries nobody wrote")
        self.settle(office, [office, w], 60)
        office.stop()
        w.stop()
        self.assert_same_hashes([office, w])
        pairs = office.pairs()
        for n in (office, w):
            doc = n.verify()
            self.assertEqual(doc["entries"], len(pairs), n.name)
            self.assertEqual(n.integrity(), ["ok"], n.name)
            self.assertEqual(n.projection_duplicates(), [], "%s projected an entry twice" %
                             n.name)
        if self.membership():  # a worker must know the office's key
            self.assertEqual(w.status()["pending"], 0,
                             "the office acknowledged all of w's entries")


if __name__ == "__main__":
    net.main()
