#!/usr/bin/env python3
"""`outpost-bench office` in its quick mode (--members 20 --days 30): the generated office is
real, and the benchmark reports what it measured honestly. No timings are asserted.

- The run exits 0 and prints its summary; NODE/bench-office.txt records what was written.
- The store passes `outpost verify`; `outpost status --json` is the office's, with every
  entry and 21 authors (the office and 20 members).
- In the office's projections (read with Python's sqlite3): one check-in per member and day
  written (up to the day a member went silent), about three KPI values per check-in, the
  three KPI definitions (day/sum, week/mean, month/last), every member admitted by a member
  entry of the office, every body of every member readable (projected) by the office, and no
  entry after the fixed now nor before the first day.
- `outpost kpi report --json` reports on every member.
- A second run with the same --dir reuses the office; other parameters are refused (exit 3);
  bad flags exit 2 with one line on stderr.
- With an outpost that lacks `team` (exit 2, "unknown command") and whose `alerts` fails, the
  first is reported as not available, the second as FAILED, and the run exits 3.
"""
import base64
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPOST = os.environ.get("OUTPOST_BIN") or os.path.join(HERE, "..", "..", "build", "outpost")
BENCH = os.environ.get("OUTPOST_BENCH_BIN") or os.path.join(os.path.dirname(OUTPOST),
                                                            "outpost-bench")
MEMBERS, DAYS = 20, 30
QUICK = ["--members", str(MEMBERS), "--days", str(DAYS)]
KIND = {"checkin": 1, "kpi_def": 2, "kpi_value": 3, "feedback": 4, "contact": 5, "member": 6,
        "key": 8}


def run(args, env=None, timeout=120):
    p = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class BenchOffice(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="opbench-office-")
        cls.node = os.path.join(cls.tmp, "office")
        cls.code, cls.out, cls.err = run([BENCH, "office"] + QUICK + [
            "--runs", "1", "--reindex-runs", "1", "--dir", cls.node, "--outpost", OUTPOST])
        cls.info = {}
        path = os.path.join(cls.node, "bench-office.txt")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.strip() and not line.startswith("#"):
                        k, v = line.split(None, 1)
                        cls.info[k] = v.strip()
        cls.env = dict(os.environ, OUTPOST_NOW=cls.info.get("now", ""))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def db(self):
        h = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.node, "outpost.db"), uri=True)
        self.addCleanup(h.close)
        return h

    def outpost(self, *args):
        return run([OUTPOST, "--dir", self.node] + list(args), env=self.env)

    def test_run(self):
        self.assertEqual(self.code, 0, self.out + self.err)
        self.assertIn("summary: office of 20 members x 30 days", self.out)
        self.assertNotIn("FAILED", self.out)
        self.assertNotIn("DIFFERENT", self.out)
        # The baselines ran and every command has a verdict.
        for line in ("baseline: /bin/true", "baseline: raw SQL: check-ins per member",
                     "outpost status --json", "outpost kpi report --period 2026-10"):
            self.assertIn(line, self.out)
        summary = self.out[self.out.index("summary:"):]
        for row in summary.splitlines()[2:]:
            if row.strip().startswith("outpost reindex"):  # timed, no target
                self.assertRegex(row, r"\d+\.\d ms", row)
            elif row.strip().startswith("outpost "):
                self.assertRegex(row, r"(met|missed|not available)$", row)
        self.assertEqual(self.info["members"], "20")
        self.assertEqual(self.info["days"], "30")
        self.assertEqual(self.info["now"], "2026-11-25T18:00:00Z")

    def test_verify_and_status(self):
        code, out, err = self.outpost("verify")
        self.assertEqual(code, 0, out + err)
        code, out, err = self.outpost("status", "--json")
        self.assertEqual(code, 0, err)
        st = json.loads(out)
        self.assertEqual(st["role"], "office")
        self.assertEqual(st["entries"]["total"], int(self.info["entries"]) + 1)
        self.assertEqual(st["authors"], MEMBERS + 1)

    def test_projections(self):
        h = self.db()
        one = lambda sql, *a: h.execute(sql, a).fetchone()[0]
        info = self.info
        for name, k in KIND.items():
            self.assertEqual(one("SELECT count(*) FROM entries WHERE kind = ?", k),
                             int(info["kind%d" % k]) + (1 if name == "member" else 0), name)
        # What the office can read is every body written: the projections hold all of it.
        self.assertEqual(one("SELECT count(*) FROM checkins"), int(info["kind1"]))
        self.assertEqual(one("SELECT count(*) FROM kpi_values"), int(info["kind3"]))
        self.assertEqual(one("SELECT count(*) FROM feedback"), int(info["kind4"]))
        self.assertEqual(one("SELECT count(*) FROM contacts"), int(info["kind5"]))
        self.assertEqual(one("SELECT count(*) FROM key_entries"), int(info["kind8"]))
        # Every author but the office is a worker admitted by the office's member entry.
        office = one("SELECT v FROM meta WHERE k = 'key'")
        self.assertEqual(one("SELECT count(*) FROM members WHERE role = 'worker'"
                             " AND revoked_after IS NULL AND admitted IS NOT NULL"), MEMBERS)
        self.assertEqual(one("SELECT count(*) FROM authors a WHERE a.key != ? AND NOT EXISTS"
                             " (SELECT 1 FROM members m WHERE m.key = a.key"
                             " AND m.role = 'worker')", office), 0)
        # One check-in a day per member, up to the day it went silent.
        per = [r[0] for r in h.execute("SELECT count(*) FROM checkins GROUP BY author")]
        self.assertEqual(len(per), MEMBERS)
        self.assertTrue(all(1 <= n <= DAYS for n in per), per)
        self.assertEqual(sum(1 for n in per if n < DAYS), int(info["silent"]), per)
        self.assertEqual(one("SELECT count(*) FROM (SELECT author, ts / 86400000 AS d,"
                             " count(*) AS n FROM checkins GROUP BY author, d HAVING n > 1)"), 0)
        values, checkins = one("SELECT count(*) FROM kpi_values"), sum(per)
        self.assertTrue(2.5 * checkins <= values <= 3.5 * checkins, (values, checkins))
        # Each check-in and KPI value belongs to a member's log, sealed to the office.
        self.assertEqual(one("SELECT count(*) FROM checkins c JOIN authors a ON a.id = c.author"
                             " WHERE a.key = ?", office), 0)
        # The three KPIs, with their periods and aggregations.
        defs = sorted(h.execute("SELECT kpi, period, aggregate, direction FROM kpi_defs"))
        self.assertEqual(defs, [("backlog", "month", "last", "at_most"),
                                ("reply-hours", "week", "mean", "at_most"),
                                ("tickets", "day", "sum", "at_least")])
        # Time: the days end at now; nothing is later; the first day is DAYS - 1 days before.
        now_ms = 1795629600000  # 2026-11-25T18:00:00Z
        first_day = (now_ms // 86400000 - (DAYS - 1)) * 86400000
        self.assertLessEqual(one("SELECT max(ts) FROM entries"), now_ms)
        self.assertLessEqual(one("SELECT max(received) FROM entries"), now_ms)
        self.assertGreaterEqual(one("SELECT min(ts) FROM checkins"), first_day)
        self.assertEqual(one("SELECT min(at) FROM kpi_values"), "2026-10-27")
        self.assertEqual(one("SELECT max(at) FROM kpi_values"), "2026-11-25")

    def test_kpi_report(self):
        code, out, err = self.outpost("kpi", "report", "--json")
        self.assertEqual(code, 0, err)
        rows = json.loads(out)
        h = self.db()
        keys = {k for (k,) in h.execute("SELECT key FROM members WHERE role = 'worker'")}
        reported = {base64.b64decode(r["key"]) for r in rows}
        self.assertTrue(keys <= reported, "members missing from kpi report")

    def test_reuse_and_refuse(self):
        code, out, err = run([BENCH, "office"] + QUICK + [
            "--gen-only", "--dir", self.node, "--outpost", OUTPOST])
        self.assertEqual(code, 0, out + err)
        self.assertIn("reusing the office", out)
        self.assertNotIn("DIFFERENT", out)
        code, out, err = run([BENCH, "office", "--members", "21", "--days", str(DAYS),
                              "--gen-only", "--dir", self.node, "--outpost", OUTPOST])
        self.assertEqual(code, 3, out + err)
        self.assertIn("--members 20 --days 30", err)
        self.assertEqual(len(err.splitlines()), 1, err)

    def test_foreign_dir(self):
        """A --dir holding someone else's node or database is refused and left as it was."""
        other = os.path.join(self.tmp, "other")
        code, out, err = run([OUTPOST, "--dir", other, "init", "--name", "someone"])
        self.assertEqual(code, 0, err)
        code, out, err = run([BENCH, "office"] + QUICK + ["--gen-only", "--dir", other,
                                                          "--outpost", OUTPOST])
        self.assertEqual(code, 3, out + err)
        self.assertIn("did not make", err)
        stray = os.path.join(self.tmp, "stray")
        os.mkdir(stray)
        with open(os.path.join(stray, "outpost.db"), "wb") as f:
            f.write(b"not ours")
        code, out, err = run([BENCH, "office"] + QUICK + ["--gen-only", "--dir", stray,
                                                          "--outpost", OUTPOST])
        self.assertEqual(code, 3, out + err)
        with open(os.path.join(stray, "outpost.db"), "rb") as f:
            self.assertEqual(f.read(), b"not ours")

    def test_bad_flags(self):
        for args in (["--members", "0"], ["--days", "x"], ["--now", "yesterday"],
                     ["--dir", self.node, "--keep"], ["--runs", "0"], ["--bogus"],
                     ["--outpost", "/nonexistent/outpost"], ["surplus"]):
            code, out, err = run([BENCH, "office"] + args)
            self.assertEqual(code, 2, (args, out, err))
            self.assertEqual(out, "", args)
            self.assertEqual(len(err.splitlines()), 1, (args, err))

    def test_missing_and_failing_commands(self):
        fake = os.path.join(self.tmp, "fake-outpost")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\n"
                    "case \"$3\" in\n"
                    "team) echo \"outpost: unknown command 'team'\" >&2; exit 2;;\n"
                    "alerts) echo 'outpost alerts: the database is on fire' >&2; exit 3;;\n"
                    "esac\n"
                    "exec '%s' \"$@\"\n" % OUTPOST)
        os.chmod(fake, stat.S_IRWXU)
        code, out, err = run([BENCH, "office"] + QUICK + [
            "--runs", "1", "--reindex-runs", "0", "--dir", self.node, "--outpost", fake])
        self.assertEqual(code, 3, out + err)
        self.assertRegex(out, r"outpost team --json +not available \(outpost: unknown command")
        self.assertRegex(out, r"outpost alerts --json +FAILED \(exit 3: outpost alerts: the "
                              r"database is on fire\)")
        self.assertRegex(out, r"outpost status --json .*(met|missed)\n")
        self.assertIn("a command failed", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
