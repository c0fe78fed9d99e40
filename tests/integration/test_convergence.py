#!/usr/bin/env python3
"""Convergence (TESTING B2, small): an office and three workers write check-ins and KPI values
while no agent runs (offline first), then the agents start in a seeded random order and
connect. Every node ends with the same entries (sorted (author, seq) from
`outpost log --json --limit 0`, then byte for byte by entry hash), and `outpost verify` passes
on each.

Topology: each worker dials the office (its invite names the office's address); the office
dials no one. Workers relay to each other through the office.
"""
import net


class Convergence(net.IntegTest):

    def test_offline_writes_then_agents_converge(self):
        office, workers = self.team(3)
        nodes = [office] + workers
        office.ok("kpi", "define", "articles", "--target", "3", "--unit", "articles")
        # Offline: nobody runs an agent. Each writes check-ins and KPI values.
        expected_own = {}
        for i, n in enumerate(nodes):
            k = 3 + self.rng.randrange(4)
            for j in range(k):
                if j % 2 == 0:
                    n.checkin(note="%s offline %d" % (n.name, j),
                              thriving=self.rng.choice(["yes", "no"]))
                else:
                    n.kpi_record("articles", self.rng.randrange(1, 9),
                                 note="%s kpi %d" % (n.name, j))
            expected_own[n.name] = n.status()["entries"]["own"]
        expected = set()
        for n in nodes:
            expected |= set(n.pairs())
            st = n.status()
            self.assertFalse(st["agent"], "no agent runs yet")
        net.log("offline: %s; %d entries in all" % (
            ", ".join("%s %d own" % (n.name, expected_own[n.name]) for n in nodes),
            len(expected)))

        order = list(nodes)
        self.rng.shuffle(order)
        net.log("start order: %s" % " ".join(n.name for n in order))
        for n in order:
            n.start()

        pairs, secs = self.wait_converged(nodes, 60, expect=expected)
        net.log("converged: %d entries on %d nodes in %.2f s after the last start" % (
            len(pairs), len(nodes), secs))
        # Nothing but what was written offline, and the office's member entries (it admits
        # the join requests it receives) and receipts (SPEC §7 step 4).
        extra = set(pairs) - expected
        self.assertEqual([p for p in extra if p[0] != office.key], [], "entries nobody wrote")
        kinds = {(e["author"], e["seq"]): e["kind"] for e in office.log()}
        self.assertEqual({kinds[p] for p in extra} - {"member", "receipt"}, set(),
                         "the office wrote only member and receipt entries meanwhile")

        # Every worker is a member once the office admitted its join request (the agent does
        # it after a sync, `outpost invite` too), and the member entries reach everyone.
        for w in workers:
            w.admit(office)
        pairs, secs = self.wait_converged(nodes, 60, expect=expected)
        if self.membership():
            members = [e["body"] for e in office.log("--kind", "member")]
            net.log("member entries: %s" % [(m["name"], m["role"]) for m in members])
            self.assertEqual(sorted(m["key"] for m in members if m["role"] == "worker"),
                             sorted(w.key for w in workers), "one member entry per worker")
        net.log("after admission: %d entries everywhere (%.2f s)" % (len(pairs), secs))

        # End to end: the office reads every worker's check-ins and KPI values (once they
        # joined with a code: their epoch keys are sealed to it); a worker relays, but cannot
        # read, a colleague's.
        if self.membership():
            for e in office.log():
                if e["kind"] in ("checkin", "kpi_value"):
                    self.assertIsNotNone(e["body"], "the office cannot read %r" % e)
        w1 = workers[0]
        for e in w1.log():
            if e["kind"] in ("checkin", "kpi_value") and e["author"] == workers[1].key:
                self.assertIsNone(e["body"], "w1 reads w2's entry %r" % e)

        # "pending" (own entries the office has not acknowledged) drops to 0 on every worker.
        for w in workers if self.membership() else []:  # a worker must know the office's key
            self.wait_until(lambda: w.status()["pending"] == 0, 20, "%s's pending at 0" % w.name,
                            diag=lambda: w.status())

        pairs = self.settle(office, nodes, 30)
        for n in order:
            n.stop()
        self.assert_same_hashes(nodes)
        pairs = office.pairs()
        for n in nodes:
            doc = n.verify()
            self.assertEqual(doc["entries"], len(pairs), n.name)
            self.assertEqual(n.integrity(), ["ok"], n.name)
        # Each author's own count is what it wrote: nothing was lost, nothing invented.
        for n in nodes:
            own = [p for p in pairs if p[0] == n.key]
            self.assertEqual(len(own), n.status()["entries"]["own"], n.name)
            self.assertEqual(sorted(s for _, s in own), list(range(1, len(own) + 1)), n.name)


if __name__ == "__main__":
    net.main()
