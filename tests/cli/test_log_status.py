"""outpost log and outpost status: the JSON fields scripts rely on (SPEC §9), filters, and
what every command does on a directory that holds no node."""
import os
import subprocess

import clitest
from clitest import NOW_TS, CliTest, b64key

KINDS = {"checkin", "kpi_def", "kpi_value", "feedback", "contact", "member", "revoke", "key",
         "correct", "erase", "join", "receipt"}


class LogTest(CliTest):
    def setUp(self):
        super().setUp()
        self.key = self.init()["key"]
        self.ok("checkin", "--energy", "3", now="2026-11-23T08:00:00Z")
        self.ok("kpi", "define", "calls", "--target", "5", now="2026-11-24T08:00:00Z")
        self.ok("kpi", "record", "calls", "2", now="2026-11-24T09:00:00Z")
        self.ok("checkin", "--note", "later", now="2026-11-25T08:00:00Z")

    def test_shape_and_order(self):
        log = self.log()
        self.assertIsInstance(log, list)
        for e in log:
            self.assertEqual(set(e), {"author", "seq", "kind", "ts", "body"}, e)
            self.assertEqual(e["author"], self.key)
            self.assertIn(e["kind"], KINDS)
            self.assertIsInstance(e["seq"], int)
        seqs = [e["seq"] for e in log]
        self.assertEqual(seqs, sorted(seqs, reverse=True), "newest first")
        self.assertEqual(sorted(seqs), list(range(1, len(seqs) + 1)), "no gaps")
        self.assertEqual([e["kind"] for e in log if e["kind"] != "key"],
                         ["checkin", "kpi_value", "kpi_def", "checkin"])
        self.assertEqual(log[0]["ts"], "2026-11-25T08:00:00.000Z")
        self.assertEqual(log[0]["body"]["note"], "later")
        (d,) = [e for e in log if e["kind"] == "kpi_def"]
        self.assertEqual(d["body"], {"id": "calls", "title": None, "unit": None, "target": 5,
                                     "direction": "at_least", "period": "week", "for": None})

    def test_filters(self):
        everything = self.log()
        self.assertEqual([e["kind"] for e in self.log("--kind", "checkin")],
                         ["checkin", "checkin"])
        self.assertEqual([e["kind"] for e in self.log("--kind", "kpi_value")], ["kpi_value"])
        self.assertEqual(self.log("--kind", "3"), self.log("--kind", "kpi_value"))
        self.assertEqual(self.log("--kind", "feedback"), [])
        self.assertEqual(self.log("--limit", "1"), everything[:1])
        self.assertEqual(self.log("--limit", "2"), everything[:2])
        self.assertEqual(self.log("--limit", "0"), everything, "0 = all")
        self.assertEqual(self.log("--author", self.key), everything)
        other = self.init("Bob", dir=os.path.join(self.tmp, "bob"))["key"]
        self.assertEqual(self.log("--author", other), [])
        self.assertEqual(self.log("--author", self.key, "--kind", "checkin", "--limit", "1"),
                         everything[:1])

    def test_text(self):
        r = self.ok("log")
        self.assertEqual(r.err, "")
        self.assertIn("later", r.out)
        self.assertIn("calls", r.out)
        self.assertEqual(r.out.count("checkin"), 2, r.out)

    def test_own_entries_newest_first_even_when_the_clock_steps_back(self):
        # ts is the author's wall clock and only advisory (SPEC §4); within one author's log,
        # "newest" is the highest seq. A clock stepped back (NTP, a dead RTC battery) must not
        # hide the entry just written from `log --limit 1`.
        done = self.ok_json("checkin", "--note", "written last", now="2026-11-20T08:00:00Z")
        (top,) = self.log("--limit", "1")
        self.assertEqual(top["seq"], done["seq"], top)
        seqs = [e["seq"] for e in self.log()]
        self.assertEqual(seqs, sorted(seqs, reverse=True))

    def test_text_is_not_broken_by_control_characters(self):
        # Notes come from people (and, once synced, from other members): what `log` prints
        # for a person must not carry raw terminal escapes or break a row over lines.
        self.ok("checkin", "--note", "two\nlines \x1b[2J\x1b]0;owned\x07 end")
        r = self.ok("log")
        self.assertNotIn("\x1b", r.out, repr(r.out))
        self.assertNotIn("\x07", r.out, repr(r.out))
        self.assertEqual(len(r.out.splitlines()), 1 + len(self.log()), "one row per entry:\n"
                         + r.out)

    def test_empty_log(self):
        d = os.path.join(self.tmp, "empty")
        self.init("Empty", dir=d)
        self.assertEqual(self.log(dir=d), [])
        self.assertTrue(self.ok("log", dir=d).out.strip())

    def test_help(self):
        r = self.ok("log", "--help")
        self.assertIn("usage: outpost log", r.out)
        self.assertEqual(r.err, "")


class StatusTest(CliTest):
    def check_shape(self, st):
        for k in ("key", "name", "role", "entries", "pending", "peers"):
            self.assertIn(k, st)
        self.assertTrue(b64key(st["key"]), st)
        self.assertIsInstance(st["entries"]["own"], int)
        self.assertIsInstance(st["entries"]["total"], int)
        self.assertIsInstance(st["pending"], int)
        self.assertIsInstance(st["peers"], list)
        for p in st["peers"]:
            for k in ("key", "addr", "connected", "last_sync", "last_error", "next_retry",
                      "clock_skew_ms", "clock_skewed"):
                self.assertIn(k, p)
        # no handshake in these tests: no clock measured, no warning (TESTING B7)
        self.assertEqual(st["clock"], {"tolerance_ms": 300000, "peers_measured": 0,
                                       "peers_skewed": 0, "offset_ms": None, "off": False,
                                       "warning": False})
        # free space where the node lives, against the same statvfs figure (T4's watermark)
        disk = st["disk"]
        self.assertEqual(set(disk), {"free_bytes", "low_bytes", "low"})
        self.assertEqual(disk["low_bytes"], 100 * 1024 * 1024)
        vfs = os.statvfs(self.dir)
        now_free = vfs.f_bavail * vfs.f_frsize
        self.assertLess(abs(disk["free_bytes"] - now_free), 64 * 1024 * 1024)
        self.assertEqual(disk["low"], disk["free_bytes"] < disk["low_bytes"])

    def test_worker(self):
        doc = self.init("Ann", site="Acme")
        st = self.status()
        self.check_shape(st)
        self.assertEqual((st["key"], st["name"], st["role"]), (doc["key"], "Ann", "worker"))
        self.assertEqual(st["entries"], {"own": 0, "total": 0})
        self.assertEqual(st["pending"], 0)
        self.assertEqual(st["peers"], [])
        self.ok("checkin", "--energy", "3")
        self.ok("kpi", "record", "calls", "1")
        st = self.status()
        self.check_shape(st)
        n = len(self.log())
        self.assertGreaterEqual(n, 2)
        self.assertEqual(st["entries"], {"own": n, "total": n})
        self.assertEqual(st["pending"], n, "no office holds anything yet: all own entries pend")

    def test_office(self):
        doc = self.init("Home", office=True)
        self.ok("kpi", "define", "calls", "--target", "5")
        st = self.status()
        self.check_shape(st)
        self.assertEqual((st["key"], st["role"]), (doc["key"], "office"))
        self.assertEqual(st["entries"]["own"], len(self.log()))
        self.assertEqual(st["pending"], 0)

    def test_text(self):
        doc = self.init("Ann")
        r = self.ok("status")
        self.assertIn(doc["key"], r.out)
        self.assertIn("Ann", r.out)
        self.assertIn("worker", r.out)
        self.assertNotIn("clock", r.out)  # no peer's clock known: nothing to say
        self.assertRegex(r.out, r"(?m)^disk      (\d+\.\d [MG]iB free|warning: only .* free some "
                                r"space)$")
        self.assertEqual(r.err, "")

    def test_help(self):
        r = self.ok("status", "--help")
        self.assertIn("usage: outpost status", r.out)
        self.assertEqual(r.err, "")


class OutputErrorsTest(CliTest):
    """A full disk behind stdout is a failure (exit 3, one line), never a silent success."""

    def test_dev_full(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        self.init()
        self.ok("checkin", "--energy", "3")
        for args in (["status"], ["status", "--json"], ["log"], ["log", "--json"],
                     ["kpi", "list", "--json"], ["verify", "--json"], ["status", "--help"],
                     ["--help"]):
            with self.subTest(args=args):
                with open("/dev/full", "w") as full:
                    p = subprocess.run([clitest.BIN, "--dir", self.dir] + args, stdout=full,
                                       stderr=subprocess.PIPE, env=self.env, timeout=30)
                err = p.stderr.decode()
                self.assertEqual(p.returncode, 3, err)
                self.assertEqual(len(err.splitlines()), 1, err)


class NoNodeTest(CliTest):
    """Every command but init, on a directory without a node: exit 3, one line that says to
    run init, and nothing created."""

    COMMANDS = [
        ["checkin", "--energy", "3"],
        ["kpi", "define", "calls", "--target", "5"],
        ["kpi", "record", "calls", "1"],
        ["kpi", "list"],
        ["kpi", "report"],
        ["kpi", "report", "--period", "2026-W48"],
        ["log"],
        ["log", "--json"],
        ["status"],
        ["status", "--json"],
        ["verify"],
        ["verify", "--json"],
    ]

    def test_missing_dir(self):
        for args in self.COMMANDS:
            with self.subTest(args=args):
                before = self.snapshot()
                r = self.run_cli(*args)
                self.assert_error(r, 3, "init")
                self.assertEqual(self.snapshot(), before)
                self.assertFalse(os.path.exists(self.dir))

    def test_empty_dir(self):
        os.makedirs(self.dir)
        for args in self.COMMANDS:
            with self.subTest(args=args):
                before = self.snapshot()
                r = self.run_cli(*args)
                self.assert_error(r, 3, "init")
                self.assertEqual(self.snapshot(), before)

    def test_default_dir(self):
        xdg = os.path.join(self.tmp, "xdg")
        r = self.run_cli("status", dir=None, env={"XDG_DATA_HOME": xdg})
        self.assert_error(r, 3, "init")
        self.assertIn(os.path.join(xdg, "outpost"), r.err, "names the directory it looked in")


if __name__ == "__main__":
    clitest.main()
