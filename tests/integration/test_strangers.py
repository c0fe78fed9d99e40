#!/usr/bin/env python3
"""Strangers (TESTING C3, C18): a node holding another team's network key.

1. It dials the office (`outpost sync --once --peer OFFICE`): exit 3 with a one-line reason;
   the office logs the handshake refused; nothing is stored on either side (entry counts and
   the sets of entries unchanged), and the office has no link to its key.
2. Raw bytes: a TCP client sends a message 1 that does not authenticate: the office closes the
   connection without sending a byte, well before its 10 s handshake timeout (deadline 5 s;
   the time taken is printed).
3. The office dials the stranger (a peer added by mistake): the stranger refuses, nothing is
   stored, and the office's status names the failure for that peer.
4. A client that sends part of a message 1 and then nothing (slow loris): closed by the
   office's handshake timeout (10 s; deadline 20 s), without a byte back, while a member
   syncs meanwhile.
Afterwards a real member still syncs with the office: the refusals cost it nothing.
"""
import os
import socket
import time

import net


class Strangers(net.IntegTest):

    def setUp(self):
        super().setUp()
        self.office, (self.w,) = self.team(1)
        self.w.checkin(note="member")
        self.office.checkin(note="office")
        self.stranger = self.node("stranger", office=True)   # another team: its own network key
        self.stranger.checkin(note="stranger")
        self.assertNotEqual(self.read_key(self.office), self.read_key(self.stranger))
        self.office.start()

    def read_key(self, n):
        with open(os.path.join(n.dir, "network.key"), "rb") as f:
            return f.read()

    def counts(self):
        return {n.name: (n.total(), n.pairs()) for n in (self.office, self.stranger)}

    def test_stranger_dials_office(self):
        before = self.counts()
        mark = self.office.agent.offset()
        r = self.stranger.run("sync", "--once", "--peer", self.office.addr)
        net.log("stranger's sync --once: exit %d in %.2f s; stderr: %r" % (r.code, r.secs, r.err))
        self.assertEqual(r.code, 3, r)
        self.assertEqual(r.out, "", r)
        lines = self.office.agent.wait_log(r"handshake refused", 10, since=mark)
        net.log("office: %s" % lines.string)
        self.assertEqual(self.counts(), before, "nothing stored on either side")
        links = [p["key"] for p in self.office.status()["peers"]]
        self.assertNotIn(self.stranger.key, links)
        self.assertNotIn("connected to", self.office.agent.text(mark))
        self.member_still_syncs()
        # What the stranger's user is told (SPEC §9: one line that says what was wrong).
        with self.subTest("one line on stderr"):
            self.assertEqual(len(r.err_lines), 1, "one line on stderr: %r" % r)
        with self.subTest("the reason names the handshake"):
            self.assertIn("handshake", r.err.lower(), "the refusal is reported as: %r" % r.err)

    def test_raw_bad_message1_closed_without_a_byte(self):
        before = self.counts()
        for i in range(3):
            mark = self.office.agent.offset()
            s = socket.create_connection(("127.0.0.1", self.office.port))
            s.settimeout(5 * net.SCALE)   # the office's handshake timeout is 10 s
            t0 = time.monotonic()
            msg = bytes([1]) + bytes(self.rng.getrandbits(8) for _ in range(64))
            s.sendall(msg)
            got = b""
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    got += d
            except socket.timeout:
                self.fail("the office kept a connection open 5 s after a bad message 1")
            except ConnectionResetError:
                pass
            secs = time.monotonic() - t0
            s.close()
            net.log("bad message 1 #%d: closed after %.3f s, %d bytes back" % (i, secs, len(got)))
            self.assertEqual(got, b"", "a stranger learns nothing, not even a byte")
            self.office.agent.wait_log(r"handshake refused", 10, since=mark)
        self.assertEqual(self.counts(), before)
        self.member_still_syncs()

    def test_silent_client_closed_by_handshake_timeout(self):
        """A message 1 cut short, then silence (slow loris): the office closes the connection
        by its handshake timeout (10 s), sends nothing, and keeps serving a member meanwhile."""
        s = socket.create_connection(("127.0.0.1", self.office.port))
        self.addCleanup(s.close)
        s.settimeout(20 * net.SCALE)
        t0 = time.monotonic()
        s.sendall(bytes([1]) + bytes(20))
        self.member_still_syncs()
        try:
            got = s.recv(4096)
        except socket.timeout:
            self.fail("the office kept a silent half-open connection 20 s")
        except ConnectionResetError:
            got = b""
        net.log("silent client: closed after %.1f s, %d bytes back" % (
            time.monotonic() - t0, len(got)))
        self.assertEqual(got, b"")
        m = self.office.agent.wait_log(r"no link to 127\.0\.0\.1:%d: (.*)" %
                                       s.getsockname()[1], 5)
        net.log("office: %s" % m.group(0))

    def test_office_dials_stranger(self):
        self.stranger.start()
        before = self.counts()
        mark = self.stranger.agent.offset()
        self.office.peers_add(self.stranger.addr)
        self.stranger.agent.wait_log(r"handshake refused", 15, since=mark)

        def failure():
            p = self.office.peer(self.stranger.addr)
            return p if p and p["last_error"] and p["next_retry"] else None
        p = self.wait_until(failure, 15, "the office's status names why the stranger failed")
        net.log("office's status for the stranger: %r" % p)
        self.assertFalse(p["connected"])
        self.assertEqual(self.counts(), before, "nothing stored on either side")
        self.member_still_syncs()
        with self.subTest("last_error names the handshake"):
            self.assertIn("handshake", p["last_error"].lower(),
                          "status explains the refusal as: %r" % p["last_error"])

    def member_still_syncs(self):
        r = self.w.run("sync", "--once")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(set(self.w.pairs()) <= set(self.office.pairs()))
        for n in (self.office, self.stranger, self.w):
            n.verify()


if __name__ == "__main__":
    net.main()
