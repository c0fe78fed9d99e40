#!/usr/bin/env python3
"""Live push (SPEC §7 step 5): with the office's and two workers' agents connected (and in
sync), an `outpost checkin` on worker 1 reaches the office and, relayed by the office's agent,
worker 2, without any `outpost sync`: each is polled with a 5 s deadline (x INTEG_SCALE). The
observed latencies are printed; no tight time is asserted. A KPI value and an office check-in
(office -> workers) are pushed the same way.
"""
import re
import time

import net


class LivePush(net.IntegTest):

    def test_entries_pushed_while_connected(self):
        office, (w1, w2) = self.team(2)
        office.start()
        w1.start()
        w2.start()
        for w in (w1, w2):
            w.agent.wait_log(r"in sync with %s" % re.escape(office.key[:8]), 30,
                             "%s in sync with the office" % w.name)
        self.wait_converged([office, w1, w2], 30)
        for w in (w1, w2):
            p = w.peer(office.addr)
            self.assertTrue(p and p["connected"], "%s linked to the office: %r" % (w.name, p))

        lat = []
        for i, (writer, what) in enumerate([(w1, "checkin"), (w1, "kpi"), (office, "checkin"),
                                            (w2, "checkin"), (w1, "checkin")]):
            t0 = time.monotonic()
            if what == "checkin":
                writer.checkin(note="live %d" % i)
            else:
                writer.kpi_record("articles", i + 1, note="live %d" % i)
            wrote = time.monotonic()
            seq = writer.status()["entries"]["own"]
            entry = (writer.key, seq)
            readers = [n for n in (office, w1, w2) if n is not writer]
            for r in readers:
                self.wait_until(lambda: entry in set(r.pairs()), 5,
                                "%s's %s (seq %d) at %s" % (writer.name, what, seq, r.name),
                                diag=lambda: self.diag_nodes([office, w1, w2]), every=0.05)
                secs = time.monotonic() - wrote
                lat.append(secs)
                net.log("%s %s seq %d -> %s: %.0f ms after the command returned (%.0f ms "
                        "after it started)" % (writer.name, what, seq, r.name, secs * 1000,
                                               (time.monotonic() - t0) * 1000))
        net.log("live push latency: median %.0f ms, max %.0f ms over %d deliveries" % (
            sorted(lat)[len(lat) // 2] * 1000, max(lat) * 1000, len(lat)))
        # "pending" = own entries the office has not acknowledged (SPEC §7 step 4).
        for w in (w1, w2) if self.membership() else ():  # a worker must know the office's key
            self.wait_until(lambda: w.status()["pending"] == 0, 10,
                            "%s's pending back to 0 while linked" % w.name,
                            diag=lambda: (w.status(), w.sql("SELECT hex(peer), author, seq"
                                                            " FROM acks")))
        self.settle(office, [office, w1, w2], 30)
        for n in (office, w1, w2):
            n.stop()
        self.assert_same_hashes([office, w1, w2])
        for n in (office, w1, w2):
            n.verify()


if __name__ == "__main__":
    net.main()
