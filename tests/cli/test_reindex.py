"""outpost reindex: rebuilds every projection from the log. What the other commands show is
the same before and after; rows deleted from the views by hand come back; an outdated
view_version is rebuilt on the next open without asking; a database held by a long writer
fails cleanly (exit 3, one line, nothing changed); progress only on a terminal."""
import os
import re
import sqlite3

import clitest
from clitest import CliTest, PtySession

VIEWS = ("checkins", "kpi_defs", "kpi_values", "members", "key_entries")


class ReindexTest(CliTest):
    def setUp(self):
        super().setUp()
        # an office: its log starts with a member entry, so `members` has a row too
        self.key = self.init("Home", office=True)["key"]
        self.ok("checkin", "--delivering", "yes", "--thriving", "no", "--support", "yes",
                "--energy", "3", "--note", "long days", now="2026-11-23T08:00:00Z")
        self.ok("checkin", "--delivering", "no", "--note", "ø \"quoted\"")
        self.ok("kpi", "define", "articles", "--target", "3", "--unit", "articles")
        self.ok("kpi", "define", "csat", "--target", "80", "--unit", "%", "--period", "month")
        self.ok("kpi", "define", "backlog", "--target", "5", "--aggregate", "last",
                "--direction", "at_most", "--period", "day")
        for kpi, v, at in (("articles", 2, "2026-11-24"), ("articles", 1, "2026-11-01"),
                           ("csat", 70, "2026-11-02"), ("csat", 95, "2026-11-25"),
                           ("backlog", 7, "2026-11-25"), ("backlog", 4, "2026-11-25")):
            self.ok("kpi", "record", kpi, str(v), "--at", at)
        r = self.run_cli("kpi", "record", "undefined", "5")  # saved with a warning
        self.assertEqual(r.code, 0, r)

    def outputs(self):
        """What the commands that read the views print, by people's and scripts' eyes."""
        out = {}
        for args in (["kpi", "report"], ["kpi", "report", "--period", "2026-11"],
                     ["kpi", "report", "--period", "2026-W44"], ["kpi", "list"],
                     ["log"], ["status"]):
            out[" ".join(args)] = self.ok(*args).out
            out[" ".join(args) + " --json"] = self.ok(*args, "--json").out
        # the free space on the disk is not the store's: it moves with everything else
        out["status"] = re.sub(r"(?m)^disk .*$", "disk", out["status"])
        out["status --json"] = re.sub(r'"disk":\{[^}]*\}', '"disk"', out["status --json"])
        return out

    def tables(self):
        con = sqlite3.connect("file:%s?immutable=1" % self.db_path(), uri=True)
        try:
            return {t: sorted(con.execute("SELECT * FROM %s" % t).fetchall(), key=repr)
                    for t in VIEWS}
        finally:
            con.close()

    def entries(self):
        return self.count_entries()

    # --- the rebuild -----------------------------------------------------------------------

    def test_outputs_identical_after_reindex(self):
        before, rows = self.outputs(), self.tables()
        for t in VIEWS:
            self.assertTrue(rows[t], "the fixture must fill %s" % t)
        r = self.ok("reindex")
        n = self.entries()
        self.assertRegex(r.out, r"^rebuilt the views from %d entries in \d+\.\d\d s\n$" % n)
        self.assertEqual(r.err, "")  # no progress line off a terminal
        self.assertEqual(self.outputs(), before)
        self.assertEqual(self.tables(), rows)

    def test_json(self):
        doc = self.ok_json("reindex")
        self.assertEqual(set(doc), {"entries", "seconds"})
        self.assertEqual(doc["entries"], self.entries())
        self.assertIsInstance(doc["entries"], int)
        self.assertIsInstance(doc["seconds"], (int, float))
        self.assertGreaterEqual(doc["seconds"], 0)

    def test_deleted_rows_come_back(self):
        before, rows = self.outputs(), self.tables()
        con = sqlite3.connect(self.db_path())
        with con:
            for t in VIEWS:
                con.execute("DELETE FROM %s" % t)
        con.close()
        self.assertEqual(self.ok_json("kpi", "list"), [])  # the views are empty now
        self.ok("reindex")
        self.assertEqual(self.tables(), rows)
        self.assertEqual(self.outputs(), before)

    def test_damaged_rows_are_replaced(self):
        before = self.outputs()
        con = sqlite3.connect(self.db_path())
        with con:
            con.execute("UPDATE kpi_values SET value = value * 100")
            con.execute("UPDATE kpi_defs SET aggregate = 'sum', target = 1000")
            con.execute("DELETE FROM checkins WHERE note = 'long days'")
            con.execute("UPDATE members SET name = 'Mallory'")
        con.close()
        self.assertNotEqual(self.ok("kpi", "report").out, before["kpi report"])
        self.ok("reindex")
        self.assertEqual(self.outputs(), before)

    def test_outdated_view_version_rebuilds_on_open(self):
        rows = self.tables()
        con = sqlite3.connect(self.db_path())
        with con:
            con.execute("DELETE FROM kpi_values")
            con.execute("DELETE FROM members")
            con.execute("UPDATE meta SET v = '0' WHERE k = 'view_version'")
        con.close()
        self.ok("kpi", "list")  # any command that opens the node
        self.assertEqual(self.tables(), rows)

    def test_empty_store(self):
        d = os.path.join(self.tmp, "worker")
        self.init("Ann", dir=d)
        r = self.ok("reindex", dir=d)
        self.assertTrue(r.out.startswith("rebuilt the views from 0 entries in "), r)
        self.assertEqual(self.ok_json("reindex", dir=d)["entries"], 0)

    # --- failures ----------------------------------------------------------------------------

    def test_locked_by_a_long_writer(self):
        before = self.tables()
        con = sqlite3.connect(self.db_path(), isolation_level=None)
        self.addCleanup(con.close)
        con.execute("BEGIN IMMEDIATE")
        con.execute("DELETE FROM kpi_values")  # uncommitted: must not be seen or undone
        r = self.run_cli("reindex")
        self.assert_error(r, 3, "locked")
        con.execute("ROLLBACK")
        self.assertEqual(self.tables(), before)
        self.ok("reindex")

    def test_bad_usage(self):
        before = self.snapshot()
        for args in (["reindex", "now"], ["reindex", "--full"], ["reindex", "--dir"]):
            with self.subTest(args=args):
                self.assert_error(self.run_cli(*args), 2)
        self.assertEqual(self.snapshot(), before)
        r = self.run_cli("reindex", dir=os.path.join(self.tmp, "nothing"))
        self.assert_error(r, 3, "init")

    def test_help(self):
        r = self.ok("reindex", "--help")
        self.assertIn("usage: outpost reindex", r.out)
        self.assertEqual(r.err, "")
        self.assertRegex(self.ok("--help", dir=False).out, r"\n  reindex ")

    # --- on a terminal -------------------------------------------------------------------------

    def test_progress_on_a_terminal(self):
        n = self.entries()
        s = PtySession(self, "reindex", stdout_pipe=True)  # stderr on the terminal
        code, term, out = s.finish()
        self.assertEqual(code, 0, term)
        self.assertIn("\rrebuilding the views: %d of %d entries" % (n, n), term)
        self.assertTrue(term.endswith("\r\x1b[K"), repr(term))  # the line is cleared
        self.assertTrue(re.match(r"rebuilt the views from %d entries in " % n, out), out)


if __name__ == "__main__":
    clitest.main()
