#!/usr/bin/env python3
"""Refusals (SPEC §6, TESTING C1, C5): a revoked key, and the runs of a non-member over its
quota, are refused with a logged reason and store nothing.

Revoked: worker R joins and syncs, then the office revokes R. R writes more check-ins and
`outpost sync --once` to the office: exit 3, the office's agent logs the refusal naming
REVOKED, and the office holds none of R's new entries. Worker B syncs with the office (it
receives the revoke entry) and then R dials B: B refuses R too, and stores nothing of R's —
the revocation is enforced everywhere it has reached.

Quota: worker Q (a member) carries about 1.3 MiB of one synthetic author X that no office
admitted (`outpost-bench gen`, as if Q relayed for a stranger holding the network key). Q syncs
to the office: the office keeps at most 1 MiB of X, logs the refusal naming QUOTA, and still
takes every entry of Q's own (the session goes on for everyone else). `outpost verify` passes.
"""
import net

QUOTA = 1024 * 1024


class Refusals(net.IntegTest):

    def test_revoked_key_refused_everywhere_the_revocation_reached(self):
        office, (r, b) = self.team(2)
        office.start()
        r.checkin(note="before the revocation")
        b.checkin(note="b")
        for w in (r, b):
            res = w.run("sync", "--once", "--peer", office.addr)
            self.assertEqual(res.code, 0, res)
        office.ok("revoke", r.key)
        # R's entries only: the office's own log may grow meanwhile (a receipt, every 2 s).
        held_before = set(p for p in office.pairs() if p[0] == r.key)

        r.checkin(note="after the revocation")
        mark = office.agent.offset()
        res = r.run("sync", "--once", "--peer", office.addr)
        net.log("revoked worker's sync --once: %r" % res)
        self.assertEqual(res.code, 3, res)
        self.assertEqual(len(res.err_lines), 1, res)
        office.agent.wait_log(r"REVOKED", 10, "the office logs why", since=mark)
        self.assertEqual(set(p for p in office.pairs() if p[0] == r.key), held_before,
                         "the office stored nothing of R's")

        # B learns the revocation from the office, then refuses R itself.
        res = b.run("sync", "--once", "--peer", office.addr)
        self.assertEqual(res.code, 0, res)
        b_before = set(b.pairs())
        b.start()
        res = r.run("sync", "--once", "--peer", b.addr)
        net.log("revoked worker dials a colleague: %r" % res)
        self.assertEqual(res.code, 3, res)
        b.agent.wait_log(r"REVOKED", 10, "B logs why")
        self.assertFalse(any(k == r.key and s > 2 for k, s in set(b.pairs()) - b_before),
                         "B stored R's entries written after the revocation")
        # (Only R's: B's own agent also dials the office, which may have written a receipt.)
        self.assertEqual({p for p in b.pairs() if p[0] == r.key},
                         {p for p in b_before if p[0] == r.key})
        for n in (office, b):
            n.stop()
            n.verify()

    def test_non_member_over_quota(self):
        office, (q,) = self.team(1)
        q.gen(5000, 1, self.rng.randrange(1, 1 << 30))  # one synthetic author, ~1.3 MiB
        q.checkin(note="q's own")
        x = [k for k in {a for a, _ in q.pairs()} if k not in (q.key, office.key)]
        self.assertEqual(len(x), 1, x)
        x = x[0]
        x_bytes = q.sql("SELECT sum(length(e.envelope) + coalesce(length(e.body), 0))"
                        " FROM entries e JOIN authors a ON a.id = e.author WHERE a.key = ?",
                        net.base64.b64decode(x))[0][0]
        net.log("X holds %d bytes at Q" % x_bytes)
        self.assertGreater(x_bytes, QUOTA)

        office.start()
        res = q.run("sync", "--once", "--peer", office.addr)
        net.log("sync --once with a non-member's bulk: %r" % res)
        office.agent.wait_log(r"QUOTA", 20, "the office logs the quota refusal")
        held = office.sql("SELECT count(*), coalesce(sum(length(e.envelope) +"
                          " coalesce(length(e.body), 0)), 0) FROM entries e JOIN authors a"
                          " ON a.id = e.author WHERE a.key = ?", net.base64.b64decode(x))[0]
        net.log("the office holds %d entries, %d bytes of X" % (held[0], held[1]))
        self.assertLessEqual(held[1], QUOTA)
        self.assertLess(held[0], 5000)
        q_own = {p for p in q.pairs() if p[0] == q.key}
        self.wait_until(lambda: q_own <= set(office.pairs()), 20, "Q's own entries at the office")
        office.stop()
        office.verify()


if __name__ == "__main__":
    net.main()
