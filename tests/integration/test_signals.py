#!/usr/bin/env python3
"""Graceful stop and reload (SPEC §8): outpostd exits 0 on SIGTERM and SIGINT, with a
"stopping" line, within a deadline of 10 s (x INTEG_SCALE; the time is printed), also

- while linked to a peer, which then logs that its peer said goodbye (the stream ended on
  purpose, not cut);
- while a bulk push (20,000 entries, more than the kernel's socket buffers hold) is stuck
  behind a peer that stopped reading (a proxy that stalls the worker -> office direction),
  and behind a peer that hangs altogether (a proxy that freezes both directions);
- while a dial hangs in the handshake (a listener that accepts and never answers).

SIGHUP makes it log "reloading peers" and dial a peer added meanwhile with `outpost peers add`
while the agent could not be told (its control socket moved aside, so `peers add` cannot
nudge it): the new link comes up, and the entries flow.
"""
import os
import re
import signal
import socket

import net


class Signals(net.IntegTest):

    def linked_pair(self):
        office, (w,) = self.team(1)
        office.start()
        w.start()
        w.agent.wait_log(r"in sync with %s" % re.escape(office.key[:8]), 30, "w1 in sync")
        return office, w

    def test_sigterm_and_sigint_while_linked(self):
        office, w = self.linked_pair()
        mark = office.agent.offset()
        secs = w.stop(signal.SIGTERM, timeout=10)
        net.log("SIGTERM: worker exited 0 in %.2f s" % secs)
        self.assertIn("stopping (SIGTERM)", w.agent.text())
        m = office.agent.wait_log(r"disconnected from %s: (.*)" % re.escape(w.key[:8]), 10,
                                  since=mark)
        net.log("office: %s" % m.group(0))
        self.assertIn("goodbye", m.group(1), "the worker ended its stream on purpose")

        w.start()
        w.agent.wait_log(r"in sync with %s" % re.escape(office.key[:8]), 30, "w1 in sync again")
        mark = w.agent.offset()
        secs = office.stop(signal.SIGINT, timeout=10)
        net.log("SIGINT: office exited 0 in %.2f s" % secs)
        self.assertIn("stopping (SIGINT)", office.agent.text())
        m = w.agent.wait_log(r"disconnected from %s: (.*)" % re.escape(office.key[:8]), 10,
                             since=mark)
        self.assertIn("goodbye", m.group(1))
        secs = w.stop(signal.SIGINT, timeout=10)
        net.log("SIGINT: unlinked worker exited 0 in %.2f s" % secs)

    def test_sigterm_with_a_stalled_peer(self):
        self.stalled("stall")

    def test_sigterm_with_a_frozen_peer(self):
        self.stalled("freeze")

    def stalled(self, mode):
        office, (w,) = self.team(1)
        # More than the kernel buffers on loopback take (tcp_wmem max is 4 MiB here), so the
        # rest waits in the agent's own write queue.
        w.gen(20000, 20, seed=self.rng.randrange(1, 1 << 30), office=office)
        office.start()
        at = self.rng.randrange(20000, 60000)
        px = self.proxy(office.addr, mode=mode, at=at, faulty=1000, rcvbuf=4096)
        w.peers_remove(office.addr)
        w.peers_add(px.addr)
        w.start()
        self.wait_until(px.fired.is_set, 30, "the worker's push stalls at byte %d" % at)
        w.agent.wait_log(r"connected to %s" % re.escape(office.key[:8]), 10)
        net.log("the proxy stopped reading after %d bytes" % at)
        # Premise: the worker's socket send queue is full and stays so (nothing moves), and it
        # still has runs to send: the rest waits in the agent.
        seen = []

        def stuck():
            seen.append(net.tcp_send_queue(px.port) or 0)
            return len(seen) >= 4 and seen[-1] > 0 and len(set(seen[-4:])) == 1
        self.wait_until(stuck, 30, "the worker's send queue fills up and stays full",
                        diag=lambda: seen[-10:], every=0.5)
        self.assertNotIn("in sync with", w.agent.text(),
                         "premise: the worker still has runs queued behind the stalled link")
        net.log("the worker's kernel send queue holds %d bytes, and stays so" % seen[-1])
        secs = w.stop(signal.SIGTERM, timeout=10)
        net.log("SIGTERM with a %s peer: exited 0 in %.2f s" % (mode, secs))
        office.stop()
        for n in (office, w):
            n.verify()

    def test_sigint_during_a_hanging_handshake(self):
        _, (w,) = self.team(1)
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)
        ls.settimeout(20 * net.SCALE)
        self.addCleanup(ls.close)
        addr = "127.0.0.1:%d" % ls.getsockname()[1]
        w.peers_remove(w.status()["peers"][0]["addr"])
        w.peers_add(addr)
        w.start(listen=False)
        conn, _ = ls.accept()   # the dial arrives; it never gets an answer
        self.addCleanup(conn.close)
        secs = w.stop(signal.SIGINT, timeout=10)
        net.log("SIGINT during a hanging handshake: exited 0 in %.2f s" % secs)

    def test_sighup_dials_a_peer_added_meanwhile(self):
        office, (w,) = self.team(1)
        w.checkin(note="after the reload")
        w.peers_remove(office.addr)
        office.start()
        w.start()
        self.assertEqual(w.status()["peers"], [])
        sock = os.path.join(w.dir, "outpostd.sock")
        aside = os.path.join(self.tmp, "ctl-aside")
        os.rename(sock, aside)           # `peers add` cannot nudge the agent now
        try:
            r = w.peers_add(office.addr, office.key)
            self.assertIn("outpost sync --once", r.out, "peers add did not reach the agent")
        finally:
            os.rename(aside, sock)
        mark = w.agent.offset()
        w.agent.send(signal.SIGHUP)
        w.agent.wait_log(r"reloading peers", 10, "SIGHUP logged", since=mark)
        m = w.agent.wait_log(r"connected to %s at %s \(dialled\)" % (
            re.escape(office.key[:8]), re.escape(office.addr)), 15, "the new peer dialled",
            since=mark)
        net.log("after SIGHUP: %s" % m.group(0))
        self.wait_converged([office, w], 30)
        self.assertTrue(w.agent.alive(), "SIGHUP does not stop the agent")
        w.stop()
        office.stop()


if __name__ == "__main__":
    net.main()
