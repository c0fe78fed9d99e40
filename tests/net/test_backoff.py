#!/usr/bin/env python3
"""Reconnect backoff (TESTING B5, T1): after any number of failed dials the next try comes
within 30 s +- 20 % (capped, jittered), so that a link that returns after a long outage is used
within 30 s + a few RTT, and a team's agents do not retry in step.

A worker whose office is not running (its address refuses connections) has a peers row that
says it already failed 20 times in a row (written into its SQLite file before the agent
starts: 2^20 s without a cap). The agent dials at start, fails, and schedules the next try;
`next_retry - last_attempt` must lie in [24 s, 36 s] on each of 6 starts, and the 6 delays
must not all be equal (jitter). Then with 2 failures the delay is 2 s +- 20 % (the doubling
still starts small). Needs no namespaces (127.0.0.1); no long mode.
"""
import sqlite3

import netlab

net = netlab.net


class Backoff(net.IntegTest):

    def delay_after(self, w, fails):
        con = sqlite3.connect(w.db_path, timeout=30)
        with con:
            con.execute("UPDATE peers SET fails = ?, next_retry = NULL, last_attempt = NULL",
                        (fails,))
        con.close()
        a = w.start(listen=False)
        row = self.wait_until(
            lambda: [r for r in w.sql("SELECT fails, last_attempt, next_retry FROM peers")
                     if r[0] == fails + 1 and r[1] and r[2]],
            20, "the failed dial recorded")[0]
        a.stop()
        return (row[2] - row[1]) / 1000.0

    def test_capped_and_jittered(self):
        office, (w,) = self.team(1)      # the office's agent is not started: dials fail
        delays = [self.delay_after(w, 20) for _ in range(6)]
        net.log("after 21 failures the next try comes in %s s" % ["%.1f" % d for d in delays])
        for d in delays:
            self.assertGreaterEqual(d, 24.0 - 0.5, "backoff under 30 s - 20 %%: %s" % delays)
            self.assertLessEqual(d, 36.0 + 0.5, "backoff not capped at 30 s + 20 %%: %s"
                                 % delays)
        self.assertGreater(len(set(round(d, 2) for d in delays)), 1, "no jitter: %s" % delays)
        small = self.delay_after(w, 1)
        net.log("after 2 failures: %.2f s" % small)
        self.assertGreaterEqual(small, 1.6 - 0.2)
        self.assertLessEqual(small, 2.4 + 0.5)


if __name__ == "__main__":
    net.main()
