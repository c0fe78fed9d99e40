"""Bad flags and values, for every command: exit 2, exactly one line on stderr that names the
problem, nothing on stdout, and nothing written (same files, same bytes, same entries)."""
import os
import subprocess

import clitest
from clitest import CliTest

LONG = "x" * 4097            # one byte over the 4096-byte text limit
LONG_UTF8 = "ø" * 2049       # 2049 characters, 4098 bytes
NAME_LONG = "n" * 201        # one byte over the 200-byte name limit

# (args, words the one stderr line must contain). Each runs as `outpost --dir DIR ARGS`.
CHECKIN = [
    (["checkin", "--bogus"], ["--bogus"]),
    (["checkin", "--energy", "3", "--bogus=1"], ["--bogus"]),
    (["checkin", "--energy"], ["--energy"]),
    (["checkin", "--note"], ["--note"]),
    (["checkin", "--delivering"], ["--delivering"]),
    (["checkin", "--site"], ["--site"]),
    (["checkin", "--energy", "0"], ["--energy", "0"]),
    (["checkin", "--energy", "6"], ["--energy", "6"]),
    (["checkin", "--energy", "abc"], ["--energy", "abc"]),
    (["checkin", "--energy", "2.5"], ["--energy", "2.5"]),
    (["checkin", "--energy", "-1"], ["--energy"]),
    (["checkin", "--energy", ""], ["--energy"]),
    (["checkin", "--energy", " 3"], ["--energy"]),
    (["checkin", "--energy", "3x"], ["--energy", "3x"]),
    (["checkin", "--delivering", "maybe"], ["--delivering", "maybe"]),
    (["checkin", "--thriving", "maybe"], ["--thriving", "maybe"]),
    (["checkin", "--support", "maybe"], ["--support", "maybe"]),
    (["checkin", "--support", ""], ["--support"]),
    (["checkin", "--energy", "3", "--thriving", "1"], ["--thriving"]),
    (["checkin", "--note", LONG], ["--note", "4096"]),
    (["checkin", "--note", LONG_UTF8], ["--note", "4096"]),
    (["checkin", "--blockers", LONG], ["--blockers", "4096"]),
    (["checkin", "--wins", LONG], ["--wins", "4096"]),
    (["checkin", "--energy", "3", "--site", NAME_LONG], ["--site"]),
    (["checkin", "--energy", "3", "today"], ["today"]),
    (["checkin", "--energy", "3", "--json", "now"], ["now"]),
]

KPI = [
    (["kpi"], ["define"]),
    (["kpi", "frob"], ["frob"]),
    (["kpi", "frob", "x"], ["frob"]),
    (["kpi", "--bogus"], ["define"]),
    # define
    (["kpi", "define", "calls", "--target", "5", "--bogus"], ["--bogus"]),
    (["kpi", "define", "calls", "--target"], ["--target"]),
    (["kpi", "define", "calls", "--target", "5", "--period"], ["--period"]),
    (["kpi", "define", "calls"], ["--target"]),
    (["kpi", "define", "--target", "5"], ["ID"]),
    (["kpi", "define", "a", "b", "--target", "5"], ["ID"]),
    (["kpi", "define", "calls", "--target", "abc"], ["--target", "abc"]),
    (["kpi", "define", "calls", "--target", ""], ["--target"]),
    (["kpi", "define", "calls", "--target", "inf"], ["--target", "inf"]),
    (["kpi", "define", "calls", "--target", "nan"], ["--target", "nan"]),
    (["kpi", "define", "calls", "--target", "0x10"], ["--target", "0x10"]),
    (["kpi", "define", "calls", "--target", "1e999"], ["--target", "1e999"]),
    (["kpi", "define", "calls", "--target", "5", "--period", "fortnight"],
     ["--period", "fortnight"]),
    (["kpi", "define", "calls", "--target", "5", "--period", "2026-W48"], ["--period"]),
    (["kpi", "define", "calls", "--target", "5", "--direction", "up"], ["--direction", "up"]),
    (["kpi", "define", "Bad Id", "--target", "5"], ["Bad Id"]),
    (["kpi", "define", "Calls", "--target", "5"], ["Calls"]),
    (["kpi", "define", "k" * 65, "--target", "5"], ["k" * 65]),
    (["kpi", "define", "calls", "--target", "5", "--for", "not-a-key"], ["--for", "not-a-key"]),
    (["kpi", "define", "calls", "--target", "5", "--for", "AAAA"], ["--for"]),
    (["kpi", "define", "calls", "--target", "5", "--unit", NAME_LONG], ["--unit"]),
    (["kpi", "define", "calls", "--target", "5", "--title", NAME_LONG], ["--title"]),
    (["kpi", "define", "calls", "--target", "5", "--at", "2026-11-25"], ["--at"]),
    (["kpi", "define", "calls", "--target", "5", "--note", "n"], ["--note"]),
    # record
    (["kpi", "record", "calls", "1", "--bogus"], ["--bogus"]),
    (["kpi", "record", "calls", "1", "--at"], ["--at"]),
    (["kpi", "record"], ["ID"]),
    (["kpi", "record", "calls"], ["VALUE"]),
    (["kpi", "record", "calls", "1", "2"], []),
    (["kpi", "record", "Bad Id", "1"], ["Bad Id"]),
    (["kpi", "record", "calls", "abc"], ["abc"]),
    (["kpi", "record", "calls", ""], ["VALUE"]),
    (["kpi", "record", "calls", "inf"], ["inf"]),
    (["kpi", "record", "calls", "nan"], ["nan"]),
    (["kpi", "record", "calls", "1e999"], ["1e999"]),
    (["kpi", "record", "calls", "0x10"], ["0x10"]),
    (["kpi", "record", "calls", "-3"], ["-3"]),  # negative values go after --
    (["kpi", "record", "calls", "1", "--at", "2026-02-30"], ["--at", "2026-02-30"]),
    (["kpi", "record", "calls", "1", "--at", "2027-02-29"], ["--at", "2027-02-29"]),
    (["kpi", "record", "calls", "1", "--at", "2026-13-01"], ["--at", "2026-13-01"]),
    (["kpi", "record", "calls", "1", "--at", "2026-11-5"], ["--at", "2026-11-5"]),
    (["kpi", "record", "calls", "1", "--at", "25-11-2026"], ["--at", "25-11-2026"]),
    (["kpi", "record", "calls", "1", "--at", "2026-11-25T10:00:00Z"], ["--at"]),
    (["kpi", "record", "calls", "1", "--at", ""], ["--at"]),
    (["kpi", "record", "calls", "1", "--note", LONG], ["--note", "4096"]),
    (["kpi", "record", "calls", "1", "--target", "3"], ["--target"]),
    (["kpi", "record", "calls", "1", "--period", "week"], ["--period"]),
    # list
    (["kpi", "list", "extra"], []),
    (["kpi", "list", "--bogus"], ["--bogus"]),
    (["kpi", "list", "--period", "week"], ["--period"]),
    (["kpi", "list", "--target", "1"], ["--target"]),
    # report
    (["kpi", "report", "--bogus"], ["--bogus"]),
    (["kpi", "report", "--period"], ["--period"]),
    (["kpi", "report", "extra"], []),
    (["kpi", "report", "--period", "fortnight"], ["--period", "fortnight"]),
    (["kpi", "report", "--period", "week"], ["--period"]),
    (["kpi", "report", "--period", "2025-W53"], ["--period", "2025-W53"]),
    (["kpi", "report", "--period", "2026-W54"], ["--period", "2026-W54"]),
    (["kpi", "report", "--period", "2026-W00"], ["--period", "2026-W00"]),
    (["kpi", "report", "--period", "2026-W4"], ["--period", "2026-W4"]),
    (["kpi", "report", "--period", "2026-w48"], ["--period"]),
    (["kpi", "report", "--period", "2026-13"], ["--period", "2026-13"]),
    (["kpi", "report", "--period", "2026-00"], ["--period", "2026-00"]),
    (["kpi", "report", "--period", "2026-02-30"], ["--period", "2026-02-30"]),
    (["kpi", "report", "--period", "2026-11-31"], ["--period", "2026-11-31"]),
    (["kpi", "report", "--period", ""], ["--period"]),
    (["kpi", "report", "--at", "2026-11-25"], ["--at"]),
]

LOG = [
    (["log", "--bogus"], ["--bogus"]),
    (["log", "--limit"], ["--limit"]),
    (["log", "--kind"], ["--kind"]),
    (["log", "--author"], ["--author"]),
    (["log", "--limit", "-1"], ["--limit", "-1"]),
    (["log", "--limit", "abc"], ["--limit", "abc"]),
    (["log", "--limit", "1.5"], ["--limit", "1.5"]),
    (["log", "--limit", ""], ["--limit"]),
    (["log", "--limit", "99999999999999999999"], ["--limit"]),
    (["log", "--kind", "nonsense"], ["--kind", "nonsense"]),
    (["log", "--kind", "0"], ["--kind"]),
    (["log", "--kind", "-3"], ["--kind"]),
    (["log", "--kind", ""], ["--kind"]),
    (["log", "--author", "not-a-key"], ["--author", "not-a-key"]),
    (["log", "--author", ""], ["--author"]),
    (["log", "--author", "AAAA"], ["--author"]),
    (["log", "extra"], ["extra"]),
    (["log", "--json", "extra"], ["extra"]),
]

STATUS = [
    (["status", "--bogus"], ["--bogus"]),
    (["status", "extra"], ["extra"]),
    (["status", "--json", "extra"], ["extra"]),
    (["status", "--name", "x"], ["--name"]),
]

VERIFY = [
    (["verify", "--bogus"], ["--bogus"]),
    (["verify", "extra"], ["extra"]),
    (["verify", "--json", "--fix"], ["--fix"]),
]

INIT = [  # these run against a directory that does not exist yet: it must stay so
    (["init", "--name", "A", "--bogus"], ["--bogus"]),
    (["init", "--name"], ["--name"]),
    (["init", "--name", "A", "--site"], ["--site"]),
    (["init"], ["--name"]),
    (["init", "--site", "Acme"], ["--name"]),
    (["init", "--office"], ["--name"]),
    (["init", "--name", "A", "extra"], ["extra"]),
    (["init", "--name", ""], ["--name"]),
    (["init", "--name", NAME_LONG], ["--name"]),
    (["init", "--name", "A\nB"], ["--name"]),
    (["init", "--name", "A\x1b[31m"], ["--name"]),
    (["init", "--name", "A", "--site", NAME_LONG], ["--site"]),
    (["init", "--name", "A", "--office=yes"], ["--office"]),
]

GLOBAL = [  # run without the leading --dir
    ([], ["command"]),
    (["frobnicate"], ["frobnicate"]),
    (["Status"], ["Status"]),
    (["--bogus", "status"], ["--bogus"]),
    (["--dir"], ["--dir"]),
    (["--dir", "", "status"], ["--dir"]),
]

BAD_NOW = ["garbage", "2026-02-30T00:00:00Z", "2026-11-25T25:00:00Z", "2026-11-25T10:00:00",
           "25/11/2026", "2026-11-25T10:00:00Zjunk"]


class BadFlagsTest(CliTest):
    def setUp(self):
        super().setUp()
        self.init()
        self.ok("checkin", "--energy", "3", "--note", "before")
        self.ok("kpi", "define", "calls", "--target", "5")
        self.ok("kpi", "record", "calls", "2")
        self.before = self.snapshot()
        self.assertGreater(self.before["entries"], 0)

    def check(self, cases, dir=True, env=None):
        for args, words in cases:
            with self.subTest(args=[a if len(a) < 40 else a[:10] + "..." for a in args]):
                r = self.run_cli(*args, dir=dir, env=env)
                self.assert_error(r, 2, *words)
                self.assertEqual(self.snapshot(), self.before, "nothing may be written: %r" % r)

    def test_checkin(self):
        self.check(CHECKIN)

    def test_kpi(self):
        self.check(KPI)

    def test_log(self):
        self.check(LOG)

    def test_status(self):
        self.check(STATUS)

    def test_verify(self):
        self.check(VERIFY)

    def test_init(self):
        new = os.path.join(self.tmp, "new")
        self.check(INIT, dir=new)
        self.assertFalse(os.path.exists(new))

    def test_init_on_existing_node(self):
        # usage errors win over "already holds a node": the flags are checked first
        self.check([(["init", "--name", "A", "--bogus"], ["--bogus"]),
                    (["init", "--name", ""], ["--name"])])

    def test_global(self):
        self.check(GLOBAL, dir=None, env={"OUTPOST_DIR": self.dir})

    def test_bad_outpost_now(self):
        for now in BAD_NOW:
            for args in (["status"], ["log", "--json"], ["checkin", "--energy", "3"],
                         ["kpi", "record", "calls", "1"], ["kpi", "report"], ["verify"]):
                with self.subTest(now=now, args=args):
                    r = self.run_cli(*args, now=now)
                    self.assert_error(r, 2, "OUTPOST_NOW", now)
                    self.assertEqual(self.snapshot(), self.before)
        new = os.path.join(self.tmp, "new")
        r = self.run_cli("init", "--name", "A", dir=new, now="garbage")
        self.assert_error(r, 2, "OUTPOST_NOW", "garbage")
        self.assertFalse(os.path.exists(new))

    def test_good_outpost_now_forms(self):
        # the forms the parser documents are accepted (and so are not usage errors)
        for now, ts in (("2026-11-25T09:30:00Z", "2026-11-25T09:30:00.000Z"),
                        ("2026-11-25T09:30:00.250Z", "2026-11-25T09:30:00.250Z"),
                        ("2026-11-25T09:30:00+00:00", "2026-11-25T09:30:00.000Z"),
                        ("2026-11-26", "2026-11-26T00:00:00.000Z")):
            with self.subTest(now=now):
                seq = self.ok_json("checkin", "--energy", "1", now=now)["seq"]
                (e,) = [e for e in self.log("--kind", "checkin") if e["seq"] == seq]
                self.assertEqual(e["ts"], ts)

    def test_bad_clock_offset(self):
        # OUTPOST_CLOCK_OFFSET (TESTING B7): whole seconds with an optional sign, nothing else
        outpostd = os.path.join(os.path.dirname(os.path.abspath(clitest.BIN)), "outpostd")
        for off in ("x", "+", "1.5", "10m", " 5", "5 ", "0x10", "--5", "99999999999999999999"):
            for args in (["status"], ["checkin", "--energy", "3"], ["log", "--json"]):
                with self.subTest(off=off, args=args):
                    r = self.run_cli(*args, env={"OUTPOST_CLOCK_OFFSET": off})
                    self.assert_error(r, 2, "OUTPOST_CLOCK_OFFSET", off)
                    self.assertEqual(self.snapshot(), self.before)
            if os.access(outpostd, os.X_OK):
                with self.subTest(off=off, agent=True):
                    p = subprocess.run([outpostd, "--dir", self.dir], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=dict(self.env, OUTPOST_CLOCK_OFFSET=off), timeout=30)
                    self.assertEqual(p.returncode, 2, p)
                    self.assertIn(b"OUTPOST_CLOCK_OFFSET", p.stderr)
                    self.assertEqual(self.snapshot(), self.before)

    def test_clock_offset_shifts_the_clock(self):
        # added to OUTPOST_NOW here; to the real clock without it (the same code path)
        for off, ts in (("+3600", "2026-11-25T10:30:00.000Z"),
                        ("-86400", "2026-11-24T09:30:00.000Z"),
                        ("0", "2026-11-25T09:30:00.000Z"), ("", "2026-11-25T09:30:00.000Z")):
            with self.subTest(off=off):
                seq = self.ok_json("checkin", "--energy", "1",
                                   env={"OUTPOST_CLOCK_OFFSET": off})["seq"]
                (e,) = [e for e in self.log("--kind", "checkin") if e["seq"] == seq]
                self.assertEqual(e["ts"], ts)

    def test_help_everywhere(self):
        for args in (["--help"], ["help"], ["init", "--help"], ["checkin", "--help"],
                     ["kpi", "--help"], ["kpi", "define", "--help"], ["kpi", "record", "--help"],
                     ["kpi", "list", "--help"], ["kpi", "report", "--help"], ["log", "--help"],
                     ["status", "--help"], ["verify", "--help"],
                     ["checkin", "--energy", "3", "--help"]):
            with self.subTest(args=args):
                r = self.ok(*args)
                self.assertIn("usage: outpost", r.out)
                self.assertEqual(r.err, "")
                self.assertEqual(self.snapshot(), self.before, "--help writes nothing")


if __name__ == "__main__":
    clitest.main()
