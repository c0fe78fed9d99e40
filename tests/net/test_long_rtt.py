#!/usr/bin/env python3
"""A long round trip (T1, B3's cousin): 2 s each way (4 s RTT, no loss; the seeded TUN
impairer), an office and one worker with a few check-ins. A dial then needs 1 RTT for the TCP
connection and 2 more until the office's stream header arrives: 12 s from the dial, 8 s from
the connection. The handshake's 10 s limit must count from the TCP connection (as it does for
an accepted one, C18), not from the dial, or every dial on such a link fails and nothing ever
syncs. Checks: the office gets every entry of the worker, no link ends with "no handshake
within 10 s", `verify` clean. No long mode.
"""
import time

import netlab

net = netlab.net


class LongRtt(netlab.NetTest):

    def test_long_rtt(self):
        office, (w,) = self.make_team(1)
        for i in range(5):
            w.checkin(note="far away %d" % i)
        self.topo.impair_start(2000, 0, 0.0, 0.0, seed=net.SEED)
        self.start_agent(office)
        self.start_agent(w)
        t0 = time.monotonic()
        okey = netlab.base64.b64decode(office.key)
        want = {a: s for a, s in self.heads(w).items() if a != okey}
        secs = self.wait_heads([office], want, 120, "the office holds the worker's entries")
        net.log("over a 4 s RTT the office had the worker's %d entries after %.1f s" % (
            sum(want.values()), secs))
        for n in (office, w):
            self.assertNotIn("no handshake within 10 s", n.agent.text(),
                             "%s gave up a handshake on a slow link" % n.name)
        office.verify()
        w.stop()
        office.stop()
        netlab.report("long_rtt", seconds=time.monotonic() - t0)


if __name__ == "__main__":
    netlab.main()
