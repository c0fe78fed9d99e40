#!/usr/bin/env python3
"""P3, flapping link (TESTING B5): the office's link goes up 5 s, down 10 s (nft drops every
packet in or out of its veth in the router namespace), over and over, while every node writes
a check-in about every second. The links run at 512 kbit/s (tbf) so that the workers' backlogs
(a colleague's log each) take several up periods to move. After the final link-up every node
must hold the same entries, every acknowledged append exactly once in seq order, no gap, a
resumed sync re-sending at most a batch per link, `verify` clean (see netlab.Churn).

Figures: time from the final link-up to the office's first new entry (B5: <= 30 s backoff cap
+ 3 RTT) and to convergence (target <= 60 s); backlog goodput under flapping against the plain
TCP transfer of the same bytes under the same flapping schedule, in the same run.

CI: 60 s of flapping (4 cycles), 3 workers x 300 entries. Long mode (NET_LONG=1): 10 minutes,
3 x 1,000 entries.   NET_LONG=1 SEED=1 ctest --test-dir BUILD -R net.p3 -V
"""
import netlab

net = netlab.net
DURATION = 600 if netlab.LONG else 60
BACKLOG = 1000 if netlab.LONG else 300


class Flapping(netlab.Churn):

    def test_p3(self):
        sched = []
        t = 0
        while t < DURATION:
            sched += [(t, "up"), (t + 5, "down")]
            t += 15
        sched.append((DURATION, "healed"))

        def apply(state):
            self.topo.link("office", state != "down")

        f = self.churn_run("P3", 3, BACKLOG, DURATION, sched, apply, rate_kbit=512,
                           deadline=300)
        net.log("B5: after the final link-up, first new entry at the office in %s s, "
                "converged in %.1f s (target 60 s: %s)" % (
                    f["t_first_after_heal_s"], f["t_converge_after_heal_s"],
                    "met" if f["t_converge_after_heal_s"] <= 60 else "MISSED"))


if __name__ == "__main__":
    netlab.main()
