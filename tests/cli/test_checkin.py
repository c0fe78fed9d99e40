"""outpost checkin: flags, the saved body as `log --json` shows it, JSON escaping, and the
interactive questions on a pseudo-terminal."""
import json
import os
import sqlite3
import subprocess

import clitest
from clitest import NOW_TS, CliTest, PtySession

EMPTY = {"delivering": None, "thriving": None, "support": None, "energy": None,
         "note": None, "blockers": None, "wins": None, "site": "Acme"}

# Characters that hand-written JSON escaping gets wrong: quotes, backslashes (a literal
# backslash-n is not a newline), real control characters, and UTF-8 of 2, 3 and 4 bytes.
TRICKY = 'he said "hi"\\n\\tø€😀'
CONTROL = "line1\nline2\ttab\r\x01\x1f end \\ / \u2028\u2029 \U0001F600"


def checkins(log):
    return [e for e in log if e["kind"] == "checkin"]


class CheckinTest(CliTest):
    def setUp(self):
        super().setUp()
        self.key = self.init()["key"]

    def only_checkin(self):
        cs = checkins(self.log())
        self.assertEqual(len(cs), 1, cs)
        return cs[0]

    def test_all_flags(self):
        r = self.ok("checkin", "--delivering", "yes", "--thriving", "no", "--support", "yes",
                    "--energy", "4", "--note", "good week", "--blockers", "VPN down",
                    "--wins", "shipped v2")
        self.assertEqual(r.err, "")
        self.assertTrue(r.out.strip(), "a person sees what was saved")
        e = self.only_checkin()
        self.assertEqual(e["author"], self.key)
        self.assertEqual(e["ts"], NOW_TS)
        self.assertIsInstance(e["seq"], int)
        self.assertEqual(e["body"], {"delivering": True, "thriving": False, "support": True,
                                     "energy": 4, "note": "good week", "blockers": "VPN down",
                                     "wins": "shipped v2", "site": "Acme"})

    def test_json_output(self):
        doc = self.ok_json("checkin", "--energy", "2")
        self.assertEqual(doc["author"], self.key)
        self.assertEqual(doc["kind"], "checkin")
        self.assertIs(doc["saved"], True)
        e = self.only_checkin()
        self.assertEqual(e["seq"], doc["seq"])
        self.assertEqual(e["body"], dict(EMPTY, energy=2))

    def test_one_flag_leaves_the_rest_unset(self):
        self.ok("checkin", "--note", "just a note")
        self.assertEqual(self.only_checkin()["body"], dict(EMPTY, note="just a note"))

    def test_yes_no_spellings(self):
        for value, want in (("yes", True), ("no", False), ("y", True), ("n", False),
                            ("true", True), ("false", False), ("YES", True), ("No", False)):
            self.ok("checkin", "--thriving", value)
            e = checkins(self.log("--limit", "1", "--kind", "checkin"))[0]
            self.assertEqual(e["body"]["thriving"], want, value)

    def test_energy_range(self):
        for v in range(1, 6):
            self.ok("checkin", "--energy", str(v))
        got = [e["body"]["energy"] for e in checkins(self.log())]
        self.assertEqual(sorted(got), [1, 2, 3, 4, 5])

    def test_site_flag_overrides_node_site(self):
        self.ok("checkin", "--support", "no", "--site", "Client B")
        self.assertEqual(self.only_checkin()["body"], dict(EMPTY, support=False, site="Client B"))

    def test_tricky_strings_round_trip(self):
        self.ok("checkin", "--note", TRICKY, "--blockers", CONTROL, "--wins", "ø€😀 \"'`$")
        body = self.only_checkin()["body"]
        self.assertEqual(body["note"], TRICKY)
        self.assertEqual(body["blockers"], CONTROL)
        self.assertEqual(body["wins"], "ø€😀 \"'`$")
        # and the JSON on stdout is strict JSON: no raw control characters inside strings
        raw = self.ok("log", "--json").out
        self.assertFalse(any(ord(ch) < 0x20 for ch in raw.rstrip("\n")), repr(raw))

    def test_text_at_the_limit(self):
        note = "x" * 4096
        wins = "ø" * 2048  # 4096 bytes in UTF-8
        self.ok("checkin", "--note", note, "--wins", wins)
        body = self.only_checkin()["body"]
        self.assertEqual(body["note"], note)
        self.assertEqual(body["wins"], wins)

    def test_each_checkin_is_a_new_entry(self):
        a = self.ok_json("checkin", "--energy", "3")
        b = self.ok_json("checkin", "--energy", "4", now="2026-11-26T08:00:00Z")
        self.assertEqual(b["seq"], a["seq"] + 1)
        cs = checkins(self.log())
        self.assertEqual([e["seq"] for e in cs], [b["seq"], a["seq"]], "newest first")
        self.assertEqual(cs[0]["ts"], "2026-11-26T08:00:00.000Z")

    def test_clock_without_outpost_now(self):
        self.ok("checkin", "--energy", "3", now=None)
        ts = self.only_checkin()["ts"]
        self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertNotEqual(ts, NOW_TS)

    # --- no flags ------------------------------------------------------------------------

    def test_no_flags_without_a_terminal(self):
        before = self.snapshot()
        r = self.run_cli("checkin")
        self.assert_error(r, 2)
        self.assertEqual(self.snapshot(), before, "nothing written")
        r = self.run_cli("checkin", input="y\ny\ny\n3\n\n\n\n")  # a pipe is not a terminal
        self.assert_error(r, 2)
        self.assertEqual(self.snapshot(), before, "nothing written")

    def test_interactive(self):
        s = PtySession(self, "checkin")
        s.expect("delivering")
        s.send("maybe\n")          # not an answer: asked again
        s.expect("y or n")
        s.expect("delivering")
        s.send("y\n")
        s.expect("thriving")
        s.send("n\n")
        s.expect("support")
        s.send("\n")               # Enter skips
        s.expect("energy")
        s.send("9\n")              # out of range: asked again
        s.expect("1 to 5")
        s.expect("energy")
        s.send("3\n")
        s.expect("Blockers")
        s.send("waiting for access\n")
        s.expect("Wins")
        s.send("\n")
        s.expect("else")
        s.send(TRICKY + "\n")
        code, term, err = s.finish()
        self.assertEqual(code, 0, "terminal:\n%s\nstderr:\n%s" % (term, err))
        self.assertEqual(err, "")
        self.assertEqual(self.only_checkin()["body"], {
            "delivering": True, "thriving": False, "support": None, "energy": 3,
            "note": TRICKY, "blockers": "waiting for access", "wins": None, "site": "Acme"})

    def test_interactive_eof_cancels(self):
        before = self.snapshot()
        s = PtySession(self, "checkin")
        s.expect("delivering")
        s.send("y\n")
        s.expect("thriving")
        s.send("y\n")
        s.expect("support")
        s.send("\x04")             # Ctrl-D at the start of a line: end of input
        code, term, err = s.finish()
        self.assertNotEqual(code, 0, "a cancelled check-in is not a success:\n" + term)
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("cancel", err.lower())
        self.assertEqual(self.snapshot(), before, "nothing saved")
        self.assertEqual(checkins(self.log()), [])

    def test_interactive_eof_at_last_question(self):
        before = self.snapshot()
        s = PtySession(self, "checkin")
        for q in ("delivering", "thriving", "support"):
            s.expect(q)
            s.send("y\n")
        s.expect("energy")
        s.send("5\n")
        s.expect("Blockers")
        s.send("\n")
        s.expect("Wins")
        s.send("\n")
        s.expect("else")
        s.send("\x04")
        code, term, err = s.finish()
        self.assertNotEqual(code, 0, term)
        self.assertEqual(self.snapshot(), before, "nothing saved")

    def test_flags_on_a_terminal_do_not_ask(self):
        s = PtySession(self, "checkin", "--energy", "5")
        code, term, err = s.finish()
        self.assertEqual(code, 0, term + err)
        self.assertNotIn("delivering what", term)
        self.assertEqual(self.only_checkin()["body"], dict(EMPTY, energy=5))

    def test_interactive_with_json_keeps_stdout_clean(self):
        # `outpost checkin --json | jq`: the questions must reach the person at the terminal,
        # and stdout must hold nothing but the one JSON document (SPEC §9).
        s = PtySession(self, "checkin", "--json", stdout_pipe=True)
        for q in ("delivering", "thriving", "support"):
            s.expect(q, timeout=5)
            s.send("y\n")
        s.expect("energy")
        s.send("4\n")
        for q in ("Blockers", "Wins", "else"):
            s.expect(q)
            s.send("\n")
        code, term, out = s.finish()
        self.assertEqual(code, 0, term)
        try:
            doc = json.loads(out)
        except ValueError:
            self.fail("stdout is not one JSON document: %r" % out)
        self.assertIs(doc["saved"], True)
        self.assertEqual(self.only_checkin()["body"], dict(EMPTY, delivering=True, thriving=True,
                                                           support=True, energy=4))

    def test_invalid_utf8_text(self):
        # A note that is not UTF-8 is either refused as a usage error (nothing written), or
        # saved such that `log --json` is still valid UTF-8 JSON (RFC 8259 §8.1).
        before = self.snapshot()
        bad = os.fsdecode(b"caf\xe9 \xff\xfe end")
        r = self.run_cli("checkin", "--energy", "3", "--note", bad)
        if r.code == 2:
            self.assert_error(r, 2, "--note")
            self.assertEqual(self.snapshot(), before)
            return
        self.assertEqual(r.code, 0, r)
        p = subprocess.run([clitest.BIN, "--dir", self.dir, "log", "--json"],
                           stdout=subprocess.PIPE, env=self.env, check=True)
        try:
            text = p.stdout.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail("log --json is not UTF-8 (%s): %r" % (e, p.stdout[-160:]))
        json.loads(text)

    def test_locked_database(self):
        # Another process holds the write lock (SPEC §10): the check-in is refused after the
        # busy timeout with one clear line and exit 3; reading still works meanwhile (WAL).
        self.ok("checkin", "--energy", "1")
        con = sqlite3.connect(self.db_path(), isolation_level=None)
        self.addCleanup(con.close)
        con.execute("BEGIN IMMEDIATE")
        n = self.count_entries_live(con)
        r = self.run_cli("checkin", "--energy", "3")
        self.assert_error(r, 3, "locked")
        self.assertEqual(len(checkins(self.log())), 1)
        self.assertEqual(self.status()["entries"]["own"], n)
        con.execute("ROLLBACK")
        self.ok("checkin", "--energy", "3")
        self.assertEqual(len(checkins(self.log())), 2)

    @staticmethod
    def count_entries_live(con):
        return con.execute("SELECT count(*) FROM entries").fetchone()[0]

    def test_help(self):
        r = self.ok("checkin", "--help")
        self.assertIn("usage: outpost checkin", r.out)
        self.assertIn("--energy", r.out)
        self.assertEqual(r.err, "")


if __name__ == "__main__":
    clitest.main()
