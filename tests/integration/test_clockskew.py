#!/usr/bin/env python3
"""Clock skew (TESTING B7, threat T6): real outpostd and outpost processes on 127.0.0.1 whose
wall clocks are shifted with OUTPOST_CLOCK_OFFSET (seconds; the agent's and the CLI's wall clock
only, timeouts run on the monotonic clock).

test_skewed_team_converges
  An office (clock right) and five workers at -24 h, -10 min, +10 min, +24 h and 0 write
  check-ins offline, then their agents start in a seeded order. During the run, Jepsen-style
  bumps: an agent is stopped and restarted with its offset changed by -288 s or +288 s (or put
  back), and its node writes on under the new clock (so some logs carry timestamps that go
  backwards). The office is bumped too, and finally restarted with its clock right, so every
  link is judged again. Then:
    - all six nodes converge: identical (author, seq) sets, identical entry hashes, `verify`
      clean; every log runs 1..head without a gap;
    - order by (author, seq) is intact: each worker's check-ins, read by the office in seq
      order, are exactly the notes it wrote, in the order it wrote them, although at least one
      log has a timestamp that goes backwards;
    - no entry was refused: no refusal line in any agent's log, no row in `refusals` or
      `forks` anywhere;
    - the office's `alerts --json` lists clock_skew for the four skewed members (24 h and
      10 min either way, bumps of 288 s included) and not for the worker at 0 +- 288 s;
    - `status` on the office shows the clock warning with a line per skewed member and none
      for the unskewed one; on the +24 h and -24 h workers it says this node's own clock is
      ahead / behind its peers'; the `--json` fields agree (clock.*, peers[].clock_skewed);
    - absence: the unskewed worker (within 288 s, under the 5 min tolerance) shows no warning.
test_retry_after_clock_set_back
  A running agent whose retry was scheduled by a clock 24 h ahead (the peers row as such a
  clock leaves it, written into its store) still dials within seconds once the office is up:
  a retry further ahead than any backoff (plus the 10 min tolerance) is due at once. With one
  peer each (the worker's clock 1 h ahead): the worker's status blames its own clock (its
  office decides), the office's only warns about the worker (one other clock alone cannot say
  which of the two is wrong).

Run: ctest --test-dir BUILD -R integration.clockskew --output-on-failure
Long mode (more bump rounds): INTEG_LONG=1 SEED=N ctest --test-dir BUILD -R integration.clockskew
"""
import base64
import re
import sqlite3
import time

import net

DAY = 86400
BUMP = 288            # TESTING B7: bumps of +-288 s, under the 5 min warning threshold
WARN_S = 300          # PROTO_TIME_SKEW_WARN_MS
# name: base offset in seconds (the office's is 0)
WORKERS = {"m24h": -DAY, "m10m": -600, "p10m": 600, "p24h": DAY, "zero": 0}
SKEWED = {"m24h", "m10m", "p10m", "p24h"}
REFUSAL = r"refused a run|refused: |\((REVOKED|FORK|CHAIN|GAP|SEQ|AUTH|QUOTA|TOOBIG|BODYHASH)\)"


def offset_env(secs):
    return {"OUTPOST_CLOCK_OFFSET": "%+d" % secs}


class ClockSkew(net.IntegTest):

    def setUp(self):
        super().setUp()
        self.written = {}   # node name -> check-in notes in the order written
        self.offset = {}    # node name -> current offset (s)

    def write(self, n, what):
        note = "%s %s #%d" % (n.name, what, len(self.written.setdefault(n.name, [])))
        n.checkin(note=note)
        self.written[n.name].append(note)

    def restart(self, n, secs):
        """Stops n's agent (if it runs) and starts it again with its clock at offset secs."""
        if n.agent and n.agent.alive():
            n.stop()
        n.env.update(offset_env(secs))
        self.offset[n.name] = secs
        n.start()

    def test_skewed_team_converges(self):
        office = self.node("office", office=True, env=offset_env(0))
        self.offset["office"] = 0
        office.ok("kpi", "define", "articles", "--target", "3", "--unit", "articles")
        workers = {}
        for name, secs in WORKERS.items():
            w = self.node(name, site="Site " + name, env=offset_env(secs))
            w.join(office)
            self.offset[name] = secs
            workers[name] = w
        nodes = [office] + list(workers.values())
        for w in workers.values():  # offline, under each one's clock
            for _ in range(2):
                self.write(w, "offline")
            w.kpi_record("articles", 1 + self.rng.randrange(5))

        office.start()
        order = list(workers.values())
        self.rng.shuffle(order)
        net.log("start order: %s" % " ".join(w.name for w in order))
        for w in order:
            w.start()
        keys = {w.key: w.name for w in workers.values()}

        def admitted():
            rows = office.sql("SELECT key FROM members WHERE role = 'worker'")
            return {base64.b64encode(k).decode() for (k,) in rows} >= set(keys)
        self.wait_until(admitted, 60, "the office admits all five workers",
                        diag=lambda: self.diag_nodes(nodes))
        pairs = self.settle(office, nodes, 90)
        net.log("converged before the bumps: %d entries on %d nodes" % (len(pairs), len(nodes)))

        # Jepsen-style bumps: each worker once by -288 s or +288 s (seeded), then random ones
        # (back to its base, or either bump) and the office's own clock, with writes between.
        rounds = [(w, self.rng.choice((-BUMP, BUMP))) for w in workers.values()]
        for _ in range(30 if net.LONG else 4):
            rounds.append((self.rng.choice(nodes), self.rng.choice((-BUMP, 0, BUMP))))
        self.rng.shuffle(rounds)
        # one bump back for sure, right after writes under the higher clock (timestamps go
        # backwards within the log of a worker at 0)
        rounds.insert(0, (workers["zero"], BUMP))
        rounds.insert(1, (workers["zero"], -BUMP))
        for i, (n, bump) in enumerate(rounds):
            secs = WORKERS.get(n.name, 0) + bump
            net.log("bump %d: %s to %+d s" % (i, n.name, secs))
            self.restart(n, secs)
            for w in self.rng.sample(list(workers.values()), 2) + ([n] if n is not office
                                                                     else []):
                self.write(w, "bump %d" % i)
        # Finally the office's clock right again: every worker connects anew and is judged at
        # that handshake, under the offset it has now.
        self.restart(office, 0)
        for w in workers.values():
            self.write(w, "last")
        net.log("offsets at the end: %s" % ", ".join("%s %+d" % kv for kv in
                                                     sorted(self.offset.items())))

        def judged():
            got = {p["key"]: p for p in office.status()["peers"]}
            for k, name in keys.items():
                p = got.get(k)
                want = self.offset[name] * 1000
                if not p or not p["connected"] or p["clock_skew_ms"] is None or \
                        abs(p["clock_skew_ms"] - want) > 30000:
                    return None
            return got
        self.wait_until(judged, 60, "every worker re-connected and judged by the office",
                        diag=lambda: self.diag_nodes(nodes))
        pairs, secs = self.wait_converged(nodes, 90)
        pairs = self.settle(office, nodes, 90)
        net.log("converged after %d bumps: %d entries on %d nodes" % (
            len(rounds) + 1, len(pairs), len(nodes)))

        # Convergence: same entries byte for byte, every chain and signature verifies, every
        # log from seq 1 without a gap.
        self.assert_same_hashes(nodes)
        heads = {}
        for a, s in pairs:
            heads[a] = max(heads.get(a, 0), s)
        self.assertEqual(sorted(pairs), sorted((a, s) for a in heads for s in
                                               range(1, heads[a] + 1)), "a gap in a log")
        for n in nodes:
            n.verify()
            self.assertEqual(n.sql("SELECT count(*) FROM forks")[0][0], 0, n.name)
            self.assertEqual(n.sql("SELECT count(*) FROM refusals")[0][0], 0, n.name)

        # Order by (author, seq): each worker's check-ins, as the office reads them in seq
        # order, are what it wrote in the order it wrote them, whatever their timestamps.
        backwards = []
        for w in workers.values():
            log = sorted(office.log("--author", w.key), key=lambda e: e["seq"])
            notes = [e["body"]["note"] for e in log if e["kind"] == "checkin"]
            self.assertEqual(notes, self.written[w.name], "%s's log out of order" % w.name)
            ts = [e["ts"] for e in log]
            if any(b < a for a, b in zip(ts, ts[1:])):
                backwards.append(w.name)
        net.log("logs with a timestamp going backwards: %s" % backwards)
        self.assertIn("zero", backwards, "the bump back left no trace: the test proves less")

        # No entry refused anywhere (nothing is judged by its time).
        for n in nodes:
            bad = [l for l in n.agent.lines(0) if re.search(REFUSAL, l)]
            self.assertEqual(bad, [], "%s's agent refused something" % n.name)

        # The office's alerts: clock_skew for the skewed members, not for `zero`.
        r = office.run("alerts", "--json")
        self.assertEqual(r.code, 1, r)
        skew = {keys[a["key"]]: a for a in r.json() if a["kind"] == "clock_skew"}
        self.assertEqual(set(skew), SKEWED, r.json())
        for name in SKEWED:
            word = "behind" if WORKERS[name] < 0 else "ahead"
            self.assertIn(word, skew[name]["detail"], skew[name])
        net.log("alerts: %s" % sorted((n, a["detail"]) for n, a in skew.items()))

        # The office's status: a warning, one line per skewed member, none for `zero`; its own
        # clock is the median of its peers' (0 here): not off.
        st = office.status()
        self.assertEqual(st["clock"]["peers_measured"], len(WORKERS), st["clock"])
        self.assertEqual(st["clock"]["peers_skewed"], len(SKEWED), st["clock"])
        self.assertTrue(st["clock"]["warning"], st["clock"])
        self.assertFalse(st["clock"]["off"], st["clock"])
        self.assertEqual(st["clock"]["tolerance_ms"], WARN_S * 1000)
        for p in st["peers"]:
            if p["key"] in keys:
                self.assertEqual(p["clock_skewed"], keys[p["key"]] in SKEWED, p)
        text = office.ok("status").out
        clock = [l for l in text.splitlines() if l.startswith("clock") or
                 (l.startswith("          ") and "its clock is" in l)]
        net.log("office status:\n      " + "\n      ".join(clock))
        self.assertIn("clock     warning: 4 peers' clocks differ from this node's by over 5 min",
                      text)
        for name in WORKERS:
            line = [l for l in clock if l.lstrip().startswith(name + " (")]
            if name in SKEWED:
                word = "behind" if WORKERS[name] < 0 else "ahead of"
                self.assertEqual(len(line), 1, text)
                self.assertIn("its clock is", line[0])
                self.assertIn(word, line[0])
            else:
                self.assertEqual(line, [], text)
        self.assertRegex(office.agent.text(0), r"clock of %s is 2[34] h \d\d min \d\d s ahead of"
                         % re.escape(workers["p24h"].key[:8]))

        # A skewed worker's status: its own clock is off, the office's looks off from there.
        for name, word in (("p24h", "ahead of"), ("m24h", "behind")):
            w = workers[name]
            st = w.status()
            self.assertTrue(st["clock"]["off"], st["clock"])
            self.assertTrue(st["clock"]["warning"], st["clock"])
            self.assertLess(abs(st["clock"]["offset_ms"] - self.offset[name] * 1000), 30000,
                            st["clock"])
            text = w.ok("status").out
            self.assertRegex(text, r"clock     warning: this node's clock is 2[34] h \d\d min %s"
                             r" its peers'" % word)
            net.log("%s status: %s" % (name, [l for l in text.splitlines()
                                             if l.startswith("clock")]))
        st = workers["p10m"].status()
        self.assertTrue(st["clock"]["off"] and st["clock"]["warning"], st["clock"])

        # Absence: within 5 min (0 +- 288 s) there is no warning, in either form.
        z = workers["zero"]
        st = z.status()
        self.assertGreaterEqual(st["clock"]["peers_measured"], 1, st["clock"])
        self.assertFalse(st["clock"]["warning"], st["clock"])
        self.assertFalse(st["clock"]["off"], st["clock"])
        self.assertEqual(st["clock"]["peers_skewed"], 0, st["clock"])
        self.assertTrue(all(not p["clock_skewed"] for p in st["peers"]), st["peers"])
        text = z.ok("status").out
        self.assertNotIn("warning", text)
        self.assertIn("clock     within 5 min of 1 peer", text)

    def test_retry_after_clock_set_back(self):
        office = self.node("office", office=True)
        w = self.node("w1", env=offset_env(3600))
        w.join(office)
        w.start()
        row = "SELECT fails, next_retry FROM peers WHERE addr = ?"

        def failed():
            r = w.sql(row, office.addr)
            return r and r[0][0] >= 1 and r[0]
        self.wait_until(failed, 30, "w1 fails to reach the office (it is down)")
        # The retry as a clock 24 h ahead would have scheduled it; kept only once the agent
        # has not overwritten it meanwhile (its own retries come every 1, 2, 4 ... s).
        ahead = int(time.time() * 1000) + DAY * 1000
        for _ in range(20):
            fails = w.sql(row, office.addr)[0][0]
            con = sqlite3.connect(w.db_path, timeout=30)
            try:
                with con:
                    con.execute("UPDATE peers SET next_retry = ? WHERE addr = ? AND fails = ?",
                                (ahead, office.addr, fails))
            finally:
                con.close()
            time.sleep(0.5)
            if tuple(w.sql(row, office.addr)[0]) == (fails, ahead):
                break
        else:
            self.fail("could not set the retry time of w1's peer")
        mark = w.agent.offset()
        t0 = time.monotonic()
        office.start()
        # due at once (a tick is 1 s); before, w1 waited for its old clock: 24 h
        w.agent.wait_log(r"connected to %s" % re.escape(office.key[:8]), 30,
                         "w1 dials the office although its retry was set 24 h ahead", since=mark)
        net.log("w1 connected %.1f s after the office started" % (time.monotonic() - t0))

        def measured(n):
            st = n.status()
            return st if st["clock"]["peers_measured"] == 1 else None
        st = self.wait_until(lambda: measured(w), 30, "w1 measured the office's clock")
        self.assertTrue(st["clock"]["off"] and st["clock"]["warning"], st["clock"])
        self.assertLess(abs(st["clock"]["offset_ms"] - 3600 * 1000), 30000, st["clock"])
        self.assertIn("this node's clock is 1 h 00 min ahead of its peers'", w.ok("status").out)
        st = self.wait_until(lambda: measured(office), 30, "the office measured w1's clock")
        self.assertFalse(st["clock"]["off"], st["clock"])
        self.assertEqual((st["clock"]["peers_skewed"], st["clock"]["warning"]), (1, True))
        text = office.ok("status").out
        self.assertIn("clock     warning: 1 peer's clock differs from this node's", text)
        self.assertRegex(text, r"w1 \(.{8}\): its clock is (59 min \d\d s|1 h 00 min) ahead of")
        self.assertNotIn("this node's clock is", text)


if __name__ == "__main__":
    net.main()
