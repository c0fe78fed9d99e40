#!/usr/bin/env python3
"""Relay (TESTING B, C14): worker C can reach only worker B (C's peers list has only B; B's
has the office). C's entries reach the office through B's agent; B stores and forwards
ciphertext it cannot read.

A canary (a random 32-hex string) is written in C's check-in note and in C's KPI value note.
After the sync, the raw bytes of every file in B's DIR (database, WAL, SHM, keys), and B's
agent log, never contain it (as text, upper-case text or raw bytes), checked while B's agent
runs (WAL and SHM in place) and again after it stopped. Then, with the three agents linked, C
writes a check-in with a second canary: it reaches the office at once, through B, and B's
files stay clean of both. As a control the canary is found in C's own database (the author's
projections hold its own records in clear, README "Security"), and the office, a reader, shows
it in C's check-in. `outpost verify` passes on all three.
"""
import net


class Relay(net.IntegTest):

    def test_worker_reaches_office_only_through_colleague(self):
        office = self.node("office", office=True)
        b = self.node("b", site="Client B")
        c = self.node("c", site="Client C")
        b.join(office)
        c.join(office, addrs=[])           # the code names no address: C cannot reach the office
        c.peers_add(b.addr, b.key)         # ... only B
        self.assertEqual([p["addr"] for p in c.status()["peers"]], [b.addr])
        self.assertEqual([p["addr"] for p in b.status()["peers"]], [office.addr])

        canary = "%032x" % self.rng.getrandbits(128)
        net.log("canary %s" % canary)
        c.checkin(note="canary %s in a check-in" % canary)
        c.kpi_record("articles", 4, note="canary %s in a KPI value" % canary)
        c.checkin(note="a second check-in")
        b.checkin(note="b was here")
        c_pairs = set(c.pairs())
        self.assertTrue(any(canary.encode() in data for data in c.files().values()),
                        "control: the canary is in C's own store")

        office.start()
        b.start()
        c.start(listen=False)

        def office_has_c():
            return c_pairs <= set(office.pairs())
        self.wait_until(office_has_c, 60, "C's entries at the office",
                        diag=lambda: self.diag_nodes([office, b, c]))
        self.assertTrue(c_pairs <= set(b.pairs()), "B stored what it relayed")

        # The office is a reader of C's bodies (C joined: its epoch key is sealed to the office).
        if self.membership():  # joined with a code: C's epoch key is sealed to the office
            notes = [e["body"].get("note") for e in office.log("--author", c.key)
                     if e["kind"] in ("checkin", "kpi_value") and e["body"]]
            self.assertTrue(any(canary in (n or "") for n in notes),
                            "the office reads C's canary: %r" % notes)
        # B relays C's entries but cannot read them.
        for e in b.log("--author", c.key):
            if e["kind"] in ("checkin", "kpi_value"):
                self.assertIsNone(e["body"], "B reads C's %r" % e)

        self.assert_no_canary(b, canary, "while B's agent runs")

        # Live: with the three agents linked, a new check-in of C reaches the office through B
        # at once (store and forward), and B still cannot read it.
        canary2 = "%032x" % self.rng.getrandbits(128)
        c.checkin(note="live canary %s" % canary2)
        entry = (c.key, c.status()["entries"]["own"])
        self.wait_until(lambda: entry in set(office.pairs()), 10,
                        "C's live check-in at the office", every=0.05,
                        diag=lambda: self.diag_nodes([office, b, c]))
        self.assertIn(entry, set(b.pairs()))
        for k in (canary, canary2):
            self.assert_no_canary(b, k, "after a live relay")
        for n in (c, b, office):
            n.stop()
        for k in (canary, canary2):
            self.assert_no_canary(b, k, "after B's agent stopped")
        for n in (office, b, c):
            n.verify()
        links = office.status()["peers"]
        self.assertFalse(any(p["key"] == c.key for p in links),
                         "the office never had a link to C: %r" % links)

    def assert_no_canary(self, node, canary, when):
        files = node.files()
        names = sorted(files)
        net.log("%s: %s holds %s" % (when, node.name, ", ".join(
            "%s (%d B)" % (n, len(files[n])) for n in names)))
        self.assertIn("outpost.db", names)
        for needle in (canary.encode(), canary.upper().encode(), bytes.fromhex(canary)):
            hits = [n for n in names if needle in files[n]]
            self.assertEqual(hits, [], "%s: the canary %r is in %s's %s" % (
                when, needle, node.name, hits))
        self.assertNotIn(canary, node.agent.text(0), "%s: the canary is in %s's agent log" % (
            when, node.name))


if __name__ == "__main__":
    net.main()
