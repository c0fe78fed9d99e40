#!/usr/bin/env python3
"""P2, narrow link (TESTING B4): the office's link limited to 256 kbit/s each way by tbf (in
its namespace and in the router's), 150 ms each way (300 ms RTT) from the TUN impairer (no
loss, no jitter). Three workers with entries made offline start their agents; every node must
end up with the same entries byte for byte and `verify` clean.

Figures: time until all nodes agree, against the B4 bound 1.5 x (bytes on the wire of the
busier direction of the office's link / 256 kbit/s) + 30 s; goodput (entry bytes / time to
the office) against the plain TCP transfer of the same bytes over the same link, first, in the
same run. The bound is printed (met / missed), not asserted: tests do not assert wall-clock
times; the convergence deadline is generous.

CI: 3 x 200 entries. Long mode (NET_LONG=1): 3 x 1,000 entries.
  NET_LONG=1 SEED=1 ctest --test-dir BUILD -R net.p2 -V
"""
import netlab

net = netlab.net
PER_WORKER = 1000 if netlab.LONG else 200


class Narrow(netlab.BulkProfile):

    def test_p2(self):
        f = self.bulk_run("P2", 3, PER_WORKER, 900, impair=(150, 0, 0.0, 0.0), rate_kbit=256,
                          seed=net.SEED)
        busier = max(f["wire_to_office_all"], f["wire_from_office"])
        bound = 1.5 * busier * 8 / 256000.0 + 30
        net.log("B4: converged in %.1f s; bound 1.5 x %d B / 256 kbit/s + 30 s = %.1f s: %s" % (
            f["t_all_s"], busier, bound, "met" if f["t_all_s"] <= bound else "MISSED"))


if __name__ == "__main__":
    netlab.main()
