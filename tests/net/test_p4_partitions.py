#!/usr/bin/env python3
"""P4, partitions (TESTING B6): five nodes (an office and four workers that also know each
other as peers, so a colleague can carry entries around a cut), each in its own namespace.
Every 5-10 s (long mode 10-30 s) a new seeded partition, made of nft `ip saddr A ip daddr B
drop` rules in the router: random halves (two groups that cannot talk), or a bridge (two
groups and one node in both, which then carries everything across), or now and then none;
every node writes a check-in about every second. The links run at 512 kbit/s (tbf) so that the
workers' backlogs span several partitions, and nft drops 2 % of forwarded packets at random
(`numgen random`, not seeded). After the heal every node must hold the same
entries, every acknowledged append exactly once in seq order on every node, no gap, `verify`
clean (see netlab.Churn). Entries received twice (from several peers at once) are reported.

Figures: time from the heal to convergence (target <= 60 s); backlog goodput under the
partitions against the plain TCP transfer of the same bytes, workers to office, under the same
partition schedule in the same run (TCP cannot go around a cut; the sync can, via a bridge).

CI: 60 s of partitions, 4 workers x 200 entries. Long mode (NET_LONG=1): 10 minutes, 4 x 1,000.
  NET_LONG=1 SEED=1 ctest --test-dir BUILD -R net.p4 -V
"""
import random

import netlab

net = netlab.net
DURATION = 600 if netlab.LONG else 60
BACKLOG = 1000 if netlab.LONG else 200
EVERY = (10, 30) if netlab.LONG else (5, 10)
NAMES = ["office", "w1", "w2", "w3", "w4"]


def schedule(seed, duration):
    """[(second, groups)]: seeded random halves and bridges; the last entry heals (None)."""
    rng = random.Random("partitions-%s" % seed)
    out = []
    t = 0.0
    while t < duration:
        names = NAMES[:]
        rng.shuffle(names)
        kind = rng.choice(["halves", "halves", "bridge", "bridge", "none"])
        if kind == "halves":
            k = rng.randint(1, 4)
            groups = [names[:k], names[k:]]
        elif kind == "bridge":
            b, rest = names[0], names[1:]
            k = rng.randint(1, 3)
            groups = [rest[:k] + [b], rest[k:] + [b]]
        else:
            groups = None
        out.append((t, groups))
        t += rng.uniform(*EVERY)
    out.append((float(duration), None))
    return out


class Partitions(netlab.Churn):

    def test_p4(self):
        sched = schedule(net.SEED, DURATION)
        for t, g in sched:
            net.log("  at %5.1f s: %s" % (t, " | ".join(",".join(sorted(x)) for x in g)
                                          if g else "no partition"))
        f = self.churn_run("P4", 4, BACKLOG, DURATION, sched, self.topo_partition,
                           rate_kbit=512, peers_among_workers=True, deadline=300,
                           resend_bound=False, loss_permille=20)
        net.log("B6: after the heal, converged in %.1f s (target 60 s: %s)" % (
            f["t_converge_after_heal_s"], "met" if f["t_converge_after_heal_s"] <= 60
            else "MISSED"))

    def topo_partition(self, groups):
        self.topo.partition(groups)


if __name__ == "__main__":
    netlab.main()
