#!/usr/bin/env python3
"""P1, bad cellular (TESTING B3): 500 +- 100 ms each way (about 1 s RTT, reordering), 20 % loss
each way and 1 % duplication, from the seeded TUN impairer in the router namespace. Three
workers, each with 1,000 entries made offline, then their agents start: the office must end up
holding every entry, then every node the same entries byte for byte (hashes), `verify` clean.

Figures (the FIGURES line): time until the office holds everything (target <= 180 s) and until
all nodes agree; sync goodput = entry bytes / time to the office, against the plain TCP
transfer of the same bytes from the same workers at once over the same impaired path, measured
first in the same run (target: sync >= 50 % of TCP); wire bytes on the office's link.

CI: one seed (SEED, printed; re-run with it). Long mode: NET_LONG=1 runs NET_SEEDS (10) seeds,
each its own network and team:  NET_LONG=1 SEED=1 ctest --test-dir BUILD -R net.p1 -V
"""
import os
import shutil
import tempfile

import netlab

net = netlab.net
SEEDS = int(os.environ.get("NET_SEEDS") or 10) if netlab.LONG else 1


class Cellular(netlab.BulkProfile):

    def test_p1(self):
        figs = []
        for i in range(SEEDS):
            seed = net.SEED + i
            with self.subTest(seed=seed):
                if i:
                    self.fresh()
                figs.append(self.bulk_run("P1 seed %d" % seed, 3, 1000, 600,
                                          impair=(500, 100, 0.20, 0.01), seed=seed))
        if len(figs) > 1:
            for k in ("t_office_s", "t_all_s", "sync_kbit", "tcp_kbit", "ratio"):
                v = sorted(f[k] for f in figs)
                net.log("P1 over %d seeds: %s min %.1f median %.1f max %.1f" % (
                    len(v), k, v[0], v[len(v) // 2], v[-1]))

    def fresh(self):
        """A new network and team for the next seed (the old ones are torn down; the old
        directory is removed, as after a success, unless INTEG_KEEP)."""
        for a in self.agents:
            a.reap()
        self.agents, self.nodes = [], []
        self.topo.close()
        if not net.KEEP:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = tempfile.mkdtemp(prefix="opinteg-p1-", dir=os.environ.get("INTEG_TMPDIR"))
        os.makedirs(os.path.join(self.tmp, "home"))
        net.log("next seed in %s" % self.tmp)


if __name__ == "__main__":
    netlab.main()
