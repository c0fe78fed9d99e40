#!/usr/bin/env python3
"""Bad links (TESTING C7-C9, B1 on real processes): a TCP proxy in the test, between a worker
and the office, damages the worker -> office stream once, at a seeded random offset, while
the worker pushes about 2,000 entries (`outpost sync --once --peer PROXY`, no worker agent).
One fault mode per test:

  flip       one byte XORed with a random non-zero mask
  drop       a chunk (1-3,000 bytes) left out
  dup        a chunk (1-3,000 bytes) sent twice
  truncate   the stream cut (both sides closed) mid-transfer

Each must end with: the connection dropped, with a reason in the office's log; the worker's
`sync --once` exit 3 (the sync did not complete); `outpost verify` clean on both sides; no
entry at the office that is not, byte for byte, in the worker's log (or the office's own);
then a clean link (direct, no proxy) completes the sync: both hold the same entries.

The bulk is 1,995 entries of 5 colleagues' logs (`outpost-bench gen`, sealed to the office)
that the worker holds and forwards, plus the worker's own check-ins.
INTEG_LONG=1: 5 seeded offsets per mode instead of 1.
"""
import re

import net

ROUNDS = 5 if net.LONG else 1


class BadLinks(net.IntegTest):

    def setUp(self):
        super().setUp()
        self.office, (self.w,) = self.team(1)
        self.office.checkin(note="office")
        self.w.gen(1995, 5, seed=self.rng.randrange(1, 1 << 30), office=self.office)
        for i in range(3):
            self.w.checkin(note="own %d" % i)
        self.office.start()

    def fault(self, mode):
        for rnd in range(ROUNDS):
            if rnd:
                self.setUp_round()
            self.one_fault(mode)

    def setUp_round(self):
        # Next round: more entries for the worker to push (the office has the rest).
        self.w.gen(1000, 2, seed=self.rng.randrange(1, 1 << 30), office=self.office)

    def one_fault(self, mode):
        w, office = self.w, self.office
        before_office = office.hashes()
        at = self.rng.randrange(1000, 250000)
        length = self.rng.randrange(1, 3001)
        mask = self.rng.randrange(1, 256)
        px = self.proxy(office.addr, mode=mode, at=at, length=length, mask=mask)
        net.log("%s at byte %d (length %d, mask 0x%02x) of the worker -> office stream" % (
            mode, at, length, mask))
        mark = office.agent.offset()
        r = w.run("sync", "--once", "--peer", px.addr)
        net.log("worker's sync --once through the proxy: exit %d in %.2f s; %d bytes sent; "
                "stderr: %s" % (r.code, r.secs, px.bytes_c2s, r.err.strip().replace("\n", " | ")))
        self.assertTrue(px.fired.is_set(), "the stream (%d bytes) ended before the fault at %d"
                        % (px.bytes_c2s, at))
        short = w.key[:8]
        m = office.agent.wait_log(r"(disconnected from %s|no link to [0-9.:]+): (.*)" %
                                  re.escape(short), 40, "the office drops the damaged link",
                                  since=mark)
        net.log("office: %s" % m.group(0))
        self.assertNotRegex(m.group(2), r"^(synced|peer said goodbye|closed)$",
                            "a damaged link must not end as a clean one")
        px.close()

        # Nothing stored that the worker did not write (or the office held before).
        wh, oh = w.hashes(), office.hashes()
        foreign = [k for k in oh if k not in before_office and wh.get(k) != oh[k]
                   and k[0] != office.key]   # the office may admit the worker meanwhile
        self.assertEqual(foreign, [], "the office stored entries not in the worker's log")
        office.verify()
        w.verify()
        got = len([k for k in oh if k not in before_office])
        net.log("the office kept %d of the %d entries it lacked" % (
            got, len(set(wh) - set(before_office))))

        with self.subTest("the damaged sync reports failure", mode=mode, at=at):
            self.assertEqual(r.code, 3, "the damaged sync must not report success: %r; the "
                             "office holds %d of the worker's %d entries" % (
                                 r, len(set(wh) & set(oh)), len(wh)))

        # A clean link completes the sync.
        r2 = w.run("sync", "--once", "--peer", office.addr)
        self.assertEqual(r2.code, 0, r2)
        oh = office.hashes()
        missing = set(w.hashes()) - set(oh)
        self.assertEqual(len(missing), 0, "after a clean sync --once (exit 0) the office lacks "
                         "%d of the worker's entries, e.g. %s; office log:\n%s" % (
                             len(missing), sorted(missing)[:3],
                             "\n".join(office.agent.lines(mark)[-12:])))
        # The same entries byte for byte, but for receipts the office may have written since
        # the sync ended (its own log goes on, every 2 s while heads advance).
        oh, wh = office.hashes(), w.hashes()
        self.assertEqual({k: oh.get(k) for k in wh}, wh, "office and worker differ")
        self.assertEqual([k for k in set(oh) - set(wh) if k[0] != office.key], [],
                         "the office holds entries the worker lacks")
        office.verify()
        w.verify()

    def test_flip(self):
        self.fault("flip")

    def test_drop(self):
        self.fault("drop")

    def test_dup(self):
        self.fault("dup")

    def test_truncate(self):
        self.fault("truncate")


if __name__ == "__main__":
    net.main()
