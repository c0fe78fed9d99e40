"""outpost feedback, inbox and contact (SPEC §5 kinds 4 and 5, §6, §9): the loop back to the
field, and who can read it.

A team of three real nodes: an office and two workers, A and B, that joined with
`outpost invite`/`outpost join`. No worker runs an agent: entries move with
`outpost sync --once` against an `outpostd` that listens for the office (the only way two nodes
exchange entries without a running agent on each), and the office's agent admits the workers
when their join requests arrive. Then:

- feedback goes from the office to A and from A back to the office, with --re;
- privacy (the issue: "a worker sees its own records and feedback addressed to it; other
  members' bodies stay unreadable on its disk; the office sees everything"): B relays the
  office's feedback to A and A's check-in but cannot read them (no feedback row, `log --json`
  body null, no canary in its database or WAL); A reads its feedback but not the office's
  contact notes about it; the office reads all of it;
- inbox order (newest first, by OUTPOST_NOW), unread marking (only what was shown; --json and
  --peek mark nothing, --json --mark-read does);
- contact is refused on a worker; every bad flag or value exits 2 with one line on stderr and
  writes nothing.
"""
import base64
import os
import signal
import socket
import sqlite3
import subprocess
import time

import clitest
from clitest import NOW_TS, CliTest, b64key

OUTPOSTD = os.path.join(os.path.dirname(os.path.abspath(clitest.BIN)), "outpostd")
LONG = "x" * 4097  # one byte over the 4096-byte text limit

# Unique strings whose bytes must never appear on a node that may not read them.
CANARY_CHECKIN = "canary-checkin-7f3a91c2"
CANARY_FEEDBACK = "canary-feedback-2b8e40d5"
CANARY_REPLY = "canary-reply-c61f0e77"
CANARY_CONTACT = "canary-contact-95da13e4"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def at(hhmm):
    """OUTPOST_NOW on the test day at hh:mm."""
    return "2026-11-25T%s:00Z" % hhmm


class TeamTest(CliTest):
    """An office and workers A and B, admitted; the office's agent listens on 127.0.0.1."""

    def setUp(self):
        super().setUp()
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.o = os.path.join(self.tmp, "office")
        self.a = os.path.join(self.tmp, "a")
        self.b = os.path.join(self.tmp, "b")
        self.office = self.init("Home", office=True, site=None, dir=self.o)
        self.ka = self.init("Ann", site="Client A", dir=self.a)["key"]
        self.kb = self.init("Bob", site="Client B", dir=self.b)["key"]
        self.ko = self.office["key"]
        for d, name in ((self.a, "Ann Larsen"), (self.b, "Bob Berg")):
            code = self.ok_json("invite", "--name", name, "--addr", self.addr, dir=self.o)["code"]
            self.ok_json("join", code, dir=d)
        self.agent = None
        self.start_agent()
        self.converge()

    # --- moving entries ------------------------------------------------------------------

    def start_agent(self):
        self.agent_log = os.path.join(self.tmp, "office.agent.log")
        logf = open(self.agent_log, "ab")
        self.addCleanup(logf.close)
        mark = os.path.getsize(self.agent_log)
        self.agent = subprocess.Popen([OUTPOSTD, "--dir", self.o, "--listen", self.addr],
                                      stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                      env=self.env, cwd=self.tmp)
        self.addCleanup(self.kill_agent)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open(self.agent_log, "rb") as f:
                f.seek(mark)
                if b"listening on" in f.read():
                    return
            self.assertIsNone(self.agent.poll(), "outpostd exited: %s" % self.agent_text())
            time.sleep(0.05)
        self.fail("outpostd never listened: %s" % self.agent_text())

    def agent_text(self):
        with open(self.agent_log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def kill_agent(self):
        if self.agent and self.agent.poll() is None:
            self.agent.kill()
            self.agent.wait()

    def stop_agent(self):
        """Stops the office's agent cleanly (so the files hold still) and checks its log."""
        self.agent.send_signal(signal.SIGTERM)
        self.assertEqual(self.agent.wait(timeout=20), 0, self.agent_text())
        self.assertNotIn("Sanitizer", self.agent_text())
        self.assertNotIn("runtime error", self.agent_text())

    def sync(self, d):
        r = self.ok("sync", "--once", dir=d)
        self.assertIn("Synced", r.out)

    def members(self, d):
        return self.query(d, "SELECT count(*) FROM members")[0][0]

    def converge(self):
        """Syncs A and B with the office until both hold every entry the office holds and
        know all three members (admission runs on the office as join requests arrive)."""
        for _ in range(10):
            self.sync(self.a)
            self.sync(self.b)
            heads = [self.heads(d) for d in (self.o, self.a, self.b)]
            if heads[0] == heads[1] == heads[2] and self.members(self.a) == 3 and \
                    self.members(self.b) == 3:
                return
        self.fail("no convergence: heads %r" % heads)

    # --- looking at the stores -----------------------------------------------------------

    def query(self, d, sql, *params):
        # An ordinary connection, not immutable=1: the office's agent may hold committed
        # entries in the WAL.
        con = sqlite3.connect(os.path.join(d, "outpost.db"), timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def heads(self, d):
        return sorted(self.query(d, "SELECT key, head_seq FROM authors WHERE head_seq > 0"))

    def disk(self, d):
        """Every byte of a node's files: database, WAL and shared memory, keys."""
        out = b""
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out += f.read()
        return out

    def entry(self, log, author, seq):
        found = [e for e in log if e["author"] == author and e["seq"] == seq]
        self.assertEqual(len(found), 1, "entry %s:%d in %r" % (author[:8], seq, log))
        return found[0]

    def feedback(self, d, *args, now=clitest.NOW):
        doc = self.ok_json("feedback", *args, dir=d, now=now)
        self.assertEqual(set(doc), {"author", "seq", "to", "ts"}, doc)
        return doc

    def inbox(self, d, *args, now=clitest.NOW):
        return self.ok_json("inbox", *args, dir=d, now=now)

    def unread_marks(self, d):
        return self.query(d, "SELECT count(*) FROM inbox_read")[0][0]


class LoopBackTest(TeamTest):

    def test_office_to_worker_and_back(self):
        ck = self.ok_json("checkin", "--thriving", "no", "--note", "tired", dir=self.a)["seq"]
        self.sync(self.a)
        sent = self.feedback(self.o, self.ka, "Take Friday off.", "--re", "%s:%d" % (self.ka, ck))
        self.assertEqual(sent["author"], self.ko)
        self.assertEqual(sent["to"], self.ka)
        self.assertEqual(sent["ts"], NOW_TS)
        self.sync(self.a)
        # A: in the inbox, unread, answering its check-in
        (msg,) = self.inbox(self.a)
        self.assertEqual(msg, {"author": self.ko, "name": "Home", "seq": sent["seq"],
                               "ts": NOW_TS, "text": "Take Friday off.",
                               "re": {"author": self.ka, "seq": ck}, "unread": True})
        r = self.ok("inbox", dir=self.a, now=at("11:30"))
        self.assertIn("From Home, 2 hours ago", r.out)
        self.assertIn("re: your check-in %d" % ck, r.out)
        self.assertIn("    Take Friday off.", r.out)
        self.assertIn("id: %s:%d" % (self.ko, sent["seq"]), r.out)
        # A answers the office, naming it by the word `office` and the id inbox showed
        reply = self.feedback(self.a, "office", "Thanks, I will.", "--re",
                              "office:%d" % sent["seq"], now=at("12:00"))
        self.assertEqual((reply["author"], reply["to"]), (self.ka, self.ko))
        r = self.ok("feedback", "office", "One more thing.", dir=self.a, now=at("12:05"))
        self.assertIn("the office", r.out)
        self.sync(self.a)
        office_inbox = self.inbox(self.o, now=at("12:10"))
        self.assertEqual([(m["seq"], m["text"], m["re"]) for m in office_inbox],
                         [(reply["seq"] + 1, "One more thing.", None),
                          (reply["seq"], "Thanks, I will.", {"author": self.ko,
                                                            "seq": sent["seq"]})])
        self.assertTrue(all(m["author"] == self.ka and m["name"] == "Ann Larsen" and m["unread"]
                            for m in office_inbox), office_inbox)
        r = self.ok("inbox", dir=self.o, now=at("12:10"))
        self.assertIn("re: your feedback %d" % sent["seq"], r.out)
        # what each sent
        self.assertEqual(self.inbox(self.o, "--sent"),
                         [{"to": self.ka, "name": "Ann Larsen", "seq": sent["seq"], "ts": NOW_TS,
                           "text": "Take Friday off.", "re": {"author": self.ka, "seq": ck}}])
        self.assertEqual([m["seq"] for m in self.inbox(self.a, "--sent")],
                         [reply["seq"] + 1, reply["seq"]])
        r = self.ok("inbox", "--sent", dir=self.a)
        self.assertIn("To Home", r.out)
        # the log shows the bodies to those who can read them
        log = self.log(dir=self.a)
        self.assertEqual(self.entry(log, self.ko, sent["seq"])["body"],
                         {"to": self.ka, "text": "Take Friday off.",
                          "re": {"author": self.ka, "seq": ck}})

    def test_worker_to_worker(self):
        doc = self.feedback(self.a, self.kb, "Your demo helped me.")
        self.sync(self.a)
        self.sync(self.b)
        (msg,) = self.inbox(self.b)
        self.assertEqual((msg["author"], msg["name"], msg["text"]),
                         (self.ka, "Ann Larsen", "Your demo helped me."))
        # the office reads it too (it reads everything), but it is not in the office's inbox
        self.assertEqual(self.query(self.o, "SELECT text FROM feedback WHERE seq = ?",
                                    doc["seq"]), [("Your demo helped me.",)])
        self.assertEqual(self.inbox(self.o), [])
        # who can read it, in words
        r = self.ok("feedback", self.kb, "And the slides.", dir=self.a)
        self.assertIn("only Bob Berg, the office and you can read it", r.out)
        r = self.ok("feedback", self.kb, "Well done.", dir=self.o)
        self.assertIn("only Bob Berg and the office can read it", r.out)

    def test_privacy(self):
        self.ok("checkin", "--thriving", "no", "--note", CANARY_CHECKIN, dir=self.a)
        to_a = self.feedback(self.o, self.ka, "About the client: " + CANARY_FEEDBACK)
        contact = self.ok_json("contact", self.ka, "--topic", "wellbeing", "--note",
                               CANARY_CONTACT, dir=self.o)
        self.assertEqual(set(contact), {"author", "seq", "with", "topic", "ts"})
        to_office = self.feedback(self.a, "office", "Worried: " + CANARY_REPLY)
        for _ in range(2):
            self.sync(self.a)
            self.sync(self.b)
        # (each node holds the entries looked at below: `sync --once` exit 0 means it holds all
        # the office held when it began; the office may add a receipt after that)
        self.stop_agent()  # the office's files hold still from here on

        # B relays all of it and reads none of it
        log_b = self.log(dir=self.b)
        for author, seq in ((self.ko, to_a["seq"]), (self.ko, contact["seq"]),
                            (self.ka, to_office["seq"])):
            self.assertIsNone(self.entry(log_b, author, seq)["body"])
        checkins = [e for e in log_b if e["kind"] == "checkin"]
        self.assertEqual(len(checkins), 1)
        self.assertIsNone(checkins[0]["body"])
        self.assertEqual(self.query(self.b, "SELECT count(*) FROM feedback"), [(0,)])
        self.assertEqual(self.query(self.b, "SELECT count(*) FROM contacts"), [(0,)])
        self.assertEqual(self.query(self.b, "SELECT count(*) FROM checkins"), [(0,)])
        self.assertEqual(self.inbox(self.b, "--all"), [])
        r = self.ok("log", dir=self.b)
        self.assertIn("encrypted", r.out)
        disk_b = self.disk(self.b)
        for canary in (CANARY_CHECKIN, CANARY_FEEDBACK, CANARY_REPLY, CANARY_CONTACT):
            self.assertNotIn(canary.encode(), disk_b, "B's disk holds %s" % canary)

        # A reads its own records and the feedback to it, not the office's contact notes
        (msg,) = self.inbox(self.a)
        self.assertIn(CANARY_FEEDBACK, msg["text"])
        log_a = self.log(dir=self.a)
        self.assertIn(CANARY_REPLY, self.entry(log_a, self.ka, to_office["seq"])["body"]["text"])
        self.assertIsNone(self.entry(log_a, self.ko, contact["seq"])["body"])
        self.assertEqual(self.query(self.a, "SELECT count(*) FROM contacts"), [(0,)])
        disk_a = self.disk(self.a)
        self.assertNotIn(CANARY_CONTACT.encode(), disk_a)
        # the scan finds what a node can read (projections hold plaintext): it would see a leak
        self.assertIn(CANARY_FEEDBACK.encode(), disk_a)
        self.assertIn(CANARY_CHECKIN.encode(), disk_a)
        self.assertIn(CANARY_CONTACT.encode(), self.disk(self.o))

        # the office reads everything
        log_o = self.log(dir=self.o)
        self.assertIn(CANARY_FEEDBACK, self.entry(log_o, self.ko, to_a["seq"])["body"]["text"])
        self.assertIn(CANARY_REPLY, self.entry(log_o, self.ka, to_office["seq"])["body"]["text"])
        self.assertEqual(self.entry(log_o, self.ko, contact["seq"])["body"],
                         {"with": self.ka, "topic": "wellbeing", "note": CANARY_CONTACT})
        (ck,) = [e for e in log_o if e["kind"] == "checkin"]
        self.assertEqual(ck["body"]["note"], CANARY_CHECKIN)
        self.assertEqual(sorted(t for (t,) in self.query(self.o, "SELECT text FROM feedback")),
                         ["About the client: " + CANARY_FEEDBACK, "Worried: " + CANARY_REPLY])
        self.assertEqual(self.ok_json("contact", "--list", dir=self.o),
                         [{"with": self.ka, "name": "Ann Larsen", "topic": "wellbeing",
                           "note": CANARY_CONTACT, "ts": NOW_TS, "author": self.ko,
                           "seq": contact["seq"]}])
        (msg,) = self.inbox(self.o)
        self.assertIn(CANARY_REPLY, msg["text"])

    def test_unread_and_order(self):
        # written out of time order: inbox sorts by when each was written, newest first
        s10 = self.feedback(self.o, self.ka, "msg-ten", now=at("10:00"))["seq"]
        s09 = self.feedback(self.o, self.ka, "msg-nine", now=at("09:00"))["seq"]
        s11 = self.feedback(self.o, self.ka, "msg-eleven", now=at("11:00"))["seq"]
        self.sync(self.a)
        order = [s11, s10, s09]
        # --json only reports: asked twice, all three are still unread
        for _ in range(2):
            got = self.inbox(self.a, now=at("12:00"))
            self.assertEqual([m["seq"] for m in got], order)
            self.assertTrue(all(m["unread"] for m in got))
            self.assertEqual([m["ts"] for m in got], ["2026-11-25T11:00:00.000Z",
                                                      "2026-11-25T10:00:00.000Z",
                                                      "2026-11-25T09:00:00.000Z"])
        # --peek shows without marking
        r = self.ok("inbox", "--peek", dir=self.a, now=at("12:00"))
        self.assertLess(r.out.index("msg-eleven"), r.out.index("msg-ten"))
        self.assertLess(r.out.index("msg-ten"), r.out.index("msg-nine"))
        self.assertIn("From Home, 1 hour ago", r.out)
        self.assertIn("From Home, 3 hours ago", r.out)
        self.assertEqual(self.unread_marks(self.a), 0)
        # showing one marks that one only
        r = self.ok("inbox", "--limit", "1", dir=self.a, now=at("12:00"))
        self.assertIn("msg-eleven", r.out)
        self.assertNotIn("msg-ten", r.out)
        self.assertIn("2 more unread", r.out)
        self.assertEqual(self.unread_marks(self.a), 1)
        self.assertEqual([m["seq"] for m in self.inbox(self.a)], [s10, s09])
        every = self.inbox(self.a, "--all")
        self.assertEqual([(m["seq"], m["unread"]) for m in every],
                         [(s11, False), (s10, True), (s09, True)])
        r = self.ok("inbox", "--all", "--peek", dir=self.a)
        self.assertEqual(r.out.count("[new]"), 2, r)
        # the rest, then nothing new
        r = self.ok("inbox", dir=self.a)
        self.assertIn("msg-ten", r.out)
        self.assertIn("msg-nine", r.out)
        self.assertNotIn("msg-eleven", r.out)
        self.assertEqual(self.unread_marks(self.a), 3)
        r = self.ok("inbox", dir=self.a)
        self.assertIn("No new feedback", r.out)
        self.assertIn("3", r.out)
        self.assertEqual(self.inbox(self.a), [])
        # a script may consume them: --json --mark-read
        s13 = self.feedback(self.o, self.ka, "msg-thirteen", now=at("13:00"))["seq"]
        self.sync(self.a)
        self.assertEqual([m["seq"] for m in self.inbox(self.a, "--mark-read")], [s13])
        self.assertEqual(self.inbox(self.a), [])
        self.assertEqual(self.unread_marks(self.a), 4)
        self.assertEqual(len(self.inbox(self.a, "--all", "--limit", "0")), 4)
        self.assertEqual(len(self.inbox(self.a, "--all", "--limit", "2")), 2)
        # read marks are this node's own: the office's inbox state is untouched
        self.assertEqual(self.unread_marks(self.o), 0)

    def test_revoked_member(self):
        self.ok("revoke", self.kb, dir=self.o)
        self.stop_agent()
        before = self.snapshot()
        for args in (["feedback", self.kb, "hi"], ["contact", self.kb, "--topic", "other"]):
            r = self.run_cli(*args, dir=self.o)
            self.assert_error(r, 2, "revoked", self.kb)
            self.assertEqual(self.snapshot(), before)

    def test_contact_on_a_worker(self):
        self.stop_agent()
        before = self.snapshot()
        for args in (["contact", self.kb, "--topic", "wellbeing", "--note", "x"],
                     ["contact", "--list"], ["contact", "--list", "--json"]):
            with self.subTest(args=args):
                r = self.run_cli(*args, dir=self.a)
                self.assert_error(r, 2, "office", "worker")
                self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.query(self.a, "SELECT count(*) FROM entries WHERE kind = 5"),
                         [(0,)])

    def test_contact_list(self):
        self.ok("contact", self.ka, "--topic", "delivery", dir=self.o, now=at("10:00"))
        r = self.ok("contact", self.kb, "--topic", "development", "--note", "course?", dir=self.o,
                    now=at("11:00"))
        self.assertIn("Bob Berg", r.out)
        self.assertIn("development", r.out)
        got = self.ok_json("contact", "--list", dir=self.o)
        self.assertEqual([(c["name"], c["topic"], c["note"]) for c in got],
                         [("Bob Berg", "development", "course?"), ("Ann Larsen", "delivery", None)])
        got = self.ok_json("contact", "--list", self.ka, dir=self.o)
        self.assertEqual([c["with"] for c in got], [self.ka])
        self.assertEqual(len(self.ok_json("contact", "--list", "--limit", "1", dir=self.o)), 1)
        r = self.ok("contact", "--list", dir=self.o)
        self.assertLess(r.out.index("Bob Berg"), r.out.index("Ann Larsen"))
        self.assertIn("TOPIC", r.out)

    def test_bad_flags(self):
        self.stop_agent()
        stranger = base64.b64encode(b"\x07" * 32).decode()
        seq_re = "%s:3" % self.ko
        worker = [
            (["feedback"], ["KEY"]),
            (["feedback", "office"], ["TEXT"]),
            (["feedback", "nokey", "hi"], ["KEY", "nokey"]),
            (["feedback", "AAAA", "hi"], ["KEY"]),
            (["feedback", self.ko[:-1], "hi"], ["KEY"]),
            (["feedback", "a\nb", "hi"], ["KEY"]),
            (["feedback", stranger, "hi"], ["not a member", stranger]),
            (["feedback", self.ka, "hi"], ["own key"]),
            (["feedback", "office", ""], ["TEXT", "empty"]),
            (["feedback", "office", LONG], ["TEXT", "4096"]),
            (["feedback", "office", "a\x1b[31mb"], ["TEXT", "control"]),
            (["feedback", "office", b"\xff\xfe"], ["TEXT", "UTF-8"]),
            (["feedback", "office", "hi", "extra"], ["extra"]),
            (["feedback", "office", "hi", "--re"], ["--re"]),
            (["feedback", "office", "hi", "--re", "x"], ["--re"]),
            (["feedback", "office", "hi", "--re", self.ko], ["--re"]),
            (["feedback", "office", "hi", "--re", self.ko + ":0"], ["--re"]),
            (["feedback", "office", "hi", "--re", self.ko + ":abc"], ["--re"]),
            (["feedback", "office", "hi", "--re", "office:4294967296"], ["--re"]),
            (["feedback", "office", "hi", "--re", "bad:3"], ["--re"]),
            (["feedback", "office", "hi", "--bogus"], ["--bogus"]),
            (["feedback", "office", "hi", "--re", seq_re, "--json", "x"], ["x"]),
            (["inbox", "x"], ["x"]),
            (["inbox", "--limit"], ["--limit"]),
            (["inbox", "--limit", "-1"], ["--limit"]),
            (["inbox", "--limit", "x"], ["--limit", "x"]),
            (["inbox", "--sent", "--all"], ["--all", "--sent"]),
            (["inbox", "--sent", "--peek"], ["--peek", "--sent"]),
            (["inbox", "--sent", "--json", "--mark-read"], ["--mark-read", "--sent"]),
            (["inbox", "--peek", "--mark-read", "--json"], ["--peek", "--mark-read"]),
            (["inbox", "--mark-read"], ["--mark-read", "--json"]),
            (["inbox", "--bogus"], ["--bogus"]),
            (["contact", "--bogus"], ["--bogus"]),
            (["contact", self.kb, "--topic", "fun"], ["--topic", "fun"]),
        ]
        office = [
            (["feedback", "office", "hi"], ["own key", "office"]),
            (["feedback", self.ko, "hi"], ["own key"]),
            (["contact"], ["KEY"]),
            (["contact", self.ka], ["--topic"]),
            (["contact", self.ka, "--topic"], ["--topic"]),
            (["contact", self.ka, "--topic", "fun"], ["--topic", "fun"]),
            (["contact", self.ka, "--topic", ""], ["--topic"]),
            (["contact", self.ka, "--topic", "Wellbeing"], ["--topic"]),
            (["contact", self.ka, "--topic", "other", "--note", LONG], ["--note", "4096"]),
            (["contact", self.ka, "--topic", "other", "--note", ""], ["--note", "empty"]),
            (["contact", self.ka, "--topic", "other", "--note", "\x07"], ["--note", "control"]),
            (["contact", "nokey", "--topic", "other"], ["KEY", "nokey"]),
            (["contact", stranger, "--topic", "other"], ["not a member"]),
            (["contact", self.ko, "--topic", "other"], ["own key"]),
            (["contact", "office", "--topic", "other"], ["own key"]),
            (["contact", self.ka, self.kb, "--topic", "other"], ["unexpected"]),
            (["contact", self.ka, "--topic", "other", "--limit", "3"], ["--limit"]),
            (["contact", "--list", "--topic", "other"], ["--topic", "--list"]),
            (["contact", "--list", "--note", "x"], ["--note", "--list"]),
            (["contact", "--list", "--limit", "x"], ["--limit"]),
            (["contact", "--list", self.ka, self.kb], ["unexpected"]),
            (["inbox", "--limit", "1e3"], ["--limit"]),
        ]
        before = self.snapshot()
        for d, cases in ((self.a, worker), (self.o, office)):
            for args, words in cases:
                with self.subTest(args=[a if len(a) < 40 else a[:10] + "..." for a in args]):
                    r = self.run_cli(*args, dir=d)
                    self.assert_error(r, 2, *words)
                    self.assertEqual(self.snapshot(), before, "nothing may be written: %r" % r)

    def test_unknown_reference_warns(self):
        doc = self.ok("feedback", "office", "re a thing", "--re", "%s:999" % self.kb,
                      dir=self.a)
        self.assertIn("Saved feedback", doc.out)
        self.assertEqual(len(doc.err_lines), 1, doc)
        self.assertIn("warning", doc.err)
        self.assertIn("%s:999" % self.kb, doc.err)


class NoTeamTest(CliTest):
    """A node that joined no team: there is no office and no member to write to."""

    def test_not_joined(self):
        self.init()
        before = self.snapshot()
        r = self.run_cli("feedback", "office", "hello")
        self.assert_error(r, 2, "office", "join")
        r = self.run_cli("feedback", base64.b64encode(b"\x01" * 32).decode(), "hello")
        self.assert_error(r, 2, "not a member")
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.ok_json("inbox"), [])
        self.assertEqual(self.ok_json("inbox", "--sent"), [])
        r = self.ok("inbox")
        self.assertIn("No feedback", r.out)
        r = self.ok("inbox", "--sent")
        self.assertIn("no feedback", r.out)

    def test_contact_on_an_office_without_members(self):
        self.init(office=True)
        r = self.ok("contact", "--list")
        self.assertIn("No contacts", r.out)
        self.assertEqual(self.ok_json("contact", "--list"), [])

    def test_help(self):
        for cmd in ("feedback", "inbox", "contact"):
            with self.subTest(cmd=cmd):
                r = self.ok(cmd, "--help", dir=None)
                self.assertIn("usage: outpost " + cmd, r.out)
                self.assertEqual(r.err, "")
        r = self.ok("--help", dir=None)
        for cmd in ("feedback", "inbox", "contact"):
            self.assertIn("  " + cmd, r.out)
        self.assertIn("--json", self.ok("inbox", "--help", dir=None).out)
        self.assertIn("mark", self.ok("inbox", "--help", dir=None).out)
        self.assertTrue(b64key(base64.b64encode(b"\x00" * 32).decode()))


if __name__ == "__main__":
    clitest.main()
