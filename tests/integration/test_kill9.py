#!/usr/bin/env python3
"""kill -9 mid-sync (TESTING A2, on real processes): a worker with about 5,000 unsynced entries
syncs to an office, both running outpostd. Each round, once the worker is connected, one side
(seeded choice) gets SIGKILL at a seeded random instant (0-600 ms later); its store files are
copied as the kill left them and must pass `PRAGMA integrity_check`. While it is down the
worker records a check-in (acknowledged: `outpost checkin` exit 0) and gains more entries to
forward (300 a round; 100 above 20 rounds), so every round has a sync in flight; then the
victim restarts on the same port (its stale control socket left by the kill).

Resume from checkpoint (TESTING A2): what each interruption makes the other side send again is
at most one batch, 1 MiB. (1) Entries the receiver already held: <= 1 MiB per kill. Each
agent logs every such re-delivery ("received N entries of A from P again (B bytes): held
already", from the session's io.already); the lines of both agents' logs from one kill to
the next (to the end, for the last) are that kill's. (2) Entries lost in flight when the
office (the receiver) is killed, sent again after its restart: what the worker's log says it
sent on the cut link minus what the office stored from it, in bytes at the link's mean wire
bytes per entry sent (overheads included, so an over-estimate): <= 1 MiB (the session's window,
AGENT_SESSION_WINDOW_BYTES; in this two-node run nothing else makes a sent entry go unstored:
no WANT, no refusal). The test prints the max and mean of both.

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
import base64
import os
import re
import shutil
import sqlite3
import time

import net

KILLS = int(os.environ.get("INTEG_KILLS") or (1000 if net.LONG else 100))
MORE = 300 if KILLS <= 20 else 100  # entries to forward added per round
# One batch (TESTING A2): the most one interruption may make a peer send again.
BATCH_BYTES = 1 << 20
AGAIN = re.compile(r"received (\d+) entries of \S+ from \S+ again \((\d+) bytes\)")


def resent(node, start, end=None):
    """(entries, bytes) node's agents logged receiving again, held already, between byte
    offsets start and end (None: the end) of its agent log (one file across restarts)."""
    with open(os.path.join(node.t.tmp, "%s.agent.log" % node.name), "rb") as f:
        f.seek(start)
        text = f.read(-1 if end is None else max(0, end - start)).decode("utf-8", "replace")
    found = [(int(m.group(1)), int(m.group(2))) for m in AGAIN.finditer(text)]
    return sum(n for n, _ in found), sum(b for _, b in found)


# The entries a node holds that are not the office's (key ?)
OTHERS = "SELECT count(*) FROM entries WHERE author IS NOT (SELECT id FROM authors WHERE key = ?)"


def snapshot_integrity(node, where, office):
    """Copies outpost.db and its WAL (not the SHM: rebuilt, as after a reboot) and runs
    PRAGMA integrity_check on the copy. Returns its rows, the entries held, and those not the
    office's."""
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
        others = con.execute(OTHERS, (base64.b64decode(office.key),)).fetchone()[0]
    finally:
        con.close()
    shutil.rmtree(where, ignore_errors=True)
    return rows, n, others


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

        okey = base64.b64decode(office.key)
        held_before = office.sql(OTHERS, okey)[0][0]
        office.start()
        w.start()
        kills = {"office": 0, "w1": 0}
        t0 = time.monotonic()
        mark = None  # where the worker's log lines of this round begin (None: its last start)
        cuts = []  # per kill, each agent log's size just before it
        held, victims = [], []  # per kill: entries not the office's that it holds; who died
        for rnd in range(KILLS):
            # The worker dials the office (at once when asked: `outpost sync`).
            w.run("sync")
            w.agent.wait_log(r"connected to %s" % re.escape(office.key[:8]), 40,
                             "round %d: the worker connected" % rnd, since=mark)
            victim = self.rng.choice([office, w])
            delay = self.rng.uniform(0, 0.6)
            time.sleep(delay)   # the kill instant (not an assertion)
            cuts.append({n.name: n.agent.offset() for n in (office, w)})
            victim.agent.kill9()
            kills[victim.name] += 1
            rows, n, others = snapshot_integrity(victim, os.path.join(self.tmp, "snap"), office)
            victims.append(victim)
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
            # what the office holds of the worker's now, no link up (for the in-flight figure)
            held.append(others if victim is office else office.sql(OTHERS, okey)[0][0])
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
        # What each interruption made the other side send again (see the top).
        again = []
        for k, cut in enumerate(cuts):
            nxt = cuts[k + 1] if k + 1 < len(cuts) else {}
            per = [resent(n, cut[n.name], nxt.get(n.name)) for n in (office, w)]
            again.append((sum(e for e, _ in per), sum(b for _, b in per)))
        first = [resent(n, 0, cuts[0][n.name]) for n in (office, w)] if cuts else []
        net.log("re-sent per interruption (entries held already): max %d entries / %d bytes, "
                "mean %.1f entries / %.0f bytes over %d kills, %d kills with any; before the "
                "first kill %d" % (
                    max(e for e, _ in again), max(b for _, b in again),
                    sum(e for e, _ in again) / len(again), sum(b for _, b in again) / len(again),
                    len(again), sum(1 for e, _ in again if e), sum(e for e, _ in first)))
        # Entries lost in flight, sent again after the restart (not "held already", so not
        # counted above): when the office is killed, what the worker sent on the cut link (its
        # "carried" line) minus what the office stored from it (held after this kill minus
        # after the one before). The session's window (AGENT_SESSION_WINDOW_BYTES) bounds it
        # by one batch.
        carried = re.compile(r"link to %s carried: sent (\d+) entries.*?; (\d+) bytes out" %
                             re.escape(office.key[:8]))
        lost = []
        for k, victim in enumerate(victims):
            if victim is not office:
                continue
            nxt = cuts[k + 1]["w1"] if k + 1 < len(cuts) else None
            with open(os.path.join(self.tmp, "w1.agent.log"), "rb") as f:
                f.seek(cuts[k]["w1"])
                text = f.read(-1 if nxt is None else nxt - cuts[k]["w1"]).decode("utf-8",
                                                                                   "replace")
            links = [(int(m.group(1)), int(m.group(2))) for m in carried.finditer(text)]
            sent, wire = sum(e for e, _ in links), sum(b for _, b in links)
            n = sent - (held[k] - (held[k - 1] if k else held_before))
            lost.append((n, n * wire // sent if sent else 0))
        if lost:
            net.log("sent on a link cut by killing the office but not stored there: max %d "
                    "entries / %d bytes, mean %.1f entries over %d kills" % (
                        max(e for e, _ in lost), max(b for _, b in lost),
                        sum(e for e, _ in lost) / len(lost), len(lost)))
            self.assertLessEqual(max(b for _, b in lost), BATCH_BYTES,
                                 "killing the office lost %d bytes in flight (sent again after "
                                 "its restart): more than a batch" % max(b for _, b in lost))
        worst = max(range(len(again)), key=lambda k: again[k][1])
        self.assertLessEqual(again[worst][1], BATCH_BYTES,
                             "kill %d made %d entries (%d bytes) be sent again: more than a "
                             "batch" % (worst, again[worst][0], again[worst][1]))
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
