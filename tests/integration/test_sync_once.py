#!/usr/bin/env python3
"""`outpost sync --once` (SPEC §7, §9) with no agent running on the worker.

- A few entries, then about 2,000 (1,995 forwarded for colleagues): exit 0, and at that moment
  the office holds every entry of the worker and the worker every entry the office held
  (exit 0 means synced: no polling), the office's peer entry shows last_sync and no
  last_error, and pending is 0 (the office acknowledged).
- Against a dead address: exit 3, nothing on stdout, one line on stderr naming the address;
  `outpost status --json` then shows that peer's last_error and next_retry. With both the dead
  address and the office as peers, plain `sync --once` still syncs the office and exits 3.
- Joined, but no peer known: exit 3 and one line saying how to add one.
"""
import net


class SyncOnce(net.IntegTest):

    def setUp(self):
        super().setUp()
        self.office, (self.w,) = self.team(1)
        self.office.checkin(note="office news")
        self.office.start()

    def sync_once(self):
        """`outpost sync --once` on the worker; returns (result, the office's entries before)."""
        before = set(self.office.pairs())
        r = self.w.run("sync", "--once")
        net.log("sync --once with %d entries: exit %d in %.2f s; stdout %r" % (
            self.w.total(), r.code, r.secs, r.out))
        return r, before

    def assert_synced(self, r, office_before):
        """Exit 0 means synced: the office holds every entry of the worker, the worker every
        entry the office held when the sync began (the office may write more meanwhile: the
        member entry that admits the worker)."""
        w, office = self.w, self.office
        self.assertEqual(r.code, 0, r)
        wp, op = w.pairs(), office.pairs()
        self.assertEqual(len(set(wp) - set(op)), 0, "exit 0, yet the office lacks %d of the "
                         "worker's %d entries; %r" % (len(set(wp) - set(op)), len(wp), r))
        self.assertEqual(len(office_before - set(wp)), 0, "exit 0, yet the worker lacks %d of "
                         "the office's entries" % len(office_before - set(wp)))
        p = w.peer(office.addr)
        self.assertTrue(p["last_sync"], p)
        self.assertIsNone(p["last_error"], p)
        self.assertFalse(w.status()["agent"])
        return wp

    def test_few_entries(self):
        for i in range(3):
            self.w.checkin(note="offline %d" % i)
        self.w.kpi_record("articles", 2)
        r, before = self.sync_once()
        self.assert_synced(r, before)
        if self.membership():  # a worker must know the office's key
            self.assertEqual(self.w.status()["pending"], 0,
                             "the office acknowledged every entry")
        for n in (self.office, self.w):
            n.verify()

    def test_bulk(self):
        self.w.gen(1995, 5, seed=self.rng.randrange(1, 1 << 30), office=self.office)
        self.w.checkin(note="own")
        r, before = self.sync_once()
        self.assert_synced(r, before)
        if self.membership():  # a worker must know the office's key
            self.assertEqual(self.w.status()["pending"], 0,
                             "the office acknowledged every entry")
        for n in (self.office, self.w):
            n.verify()

    def test_dead_address(self):
        w = self.w
        dead = net.dead_addr()
        w.peers_add(dead)
        w.checkin(note="to the office")
        r = w.run("sync", "--once", "--peer", dead)
        net.log("sync --once --peer %s: exit %d; stderr %r" % (dead, r.code, r.err))
        self.assertEqual(r.code, 3, r)
        self.assertEqual(r.out, "", r)
        self.assertIn(dead, r.err)
        with self.subTest("one line on stderr (SPEC §9), one peer"):
            self.assertEqual(len(r.err_lines), 1, r)
        p = w.peer(dead)
        net.log("status of the dead peer: %r" % p)
        self.assertFalse(p["connected"])
        self.assertTrue(p["last_error"], "status says why: %r" % p)
        self.assertTrue(p["next_retry"], "status says when it tries again: %r" % p)
        self.assertIsNone(p["last_sync"])
        self.assertFalse(set(w.pairs()) <= set(self.office.pairs()), "nothing went anywhere")

        # Both peers: the office syncs, the dead one makes the exit status 3.
        r = w.run("sync", "--once")
        net.log("sync --once with a dead and a live peer: exit %d; stderr %r" % (r.code, r.err))
        self.assertEqual(r.code, 3, r)
        self.assertTrue(set(w.pairs()) <= set(self.office.pairs()),
                        "the live peer synced despite the dead one")
        self.assertIsNone(w.peer(self.office.addr)["last_error"])
        self.assertTrue(w.peer(dead)["last_error"])
        with self.subTest("one line on stderr (SPEC §9), two peers"):
            self.assertEqual(len(r.err_lines), 1, r)

    def test_no_peers(self):
        lone = self.node("lone", site="nowhere")
        lone.join(self.office, addrs=[])    # a code that names no address: no peer known
        self.assertEqual(lone.status()["peers"], [])
        r = lone.run("sync", "--once")
        net.log("sync --once with no peers: exit %d; stderr %r" % (r.code, r.err))
        self.assertEqual(r.code, 3, r)
        self.assertEqual(r.out, "", r)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertIn("peers add", r.err)


if __name__ == "__main__":
    net.main()
