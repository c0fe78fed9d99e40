"""outpost verify: a clean store passes; a flipped byte in an envelope, in a body, or in the
raw database file is found and named (exit 1, or 3 when the file no longer opens)."""
import os
import shutil
import sqlite3
import struct
import tempfile

import clitest
from clitest import CliTest

N_CHECKINS = 40  # enough for the entries table to span several b-tree leaf pages


def flip(path, offset, mask=0xFF):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def leaf_pages(path, table):
    """The b-tree leaf pages of a table, in key order: [(page number, page size)]."""
    con = sqlite3.connect("file:%s?immutable=1" % path, uri=True)
    try:
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                           (table,)).fetchone()[0]
    finally:
        con.close()
    with open(path, "rb") as f:
        data = f.read()
    ps = struct.unpack(">H", data[16:18])[0]
    ps = 65536 if ps == 1 else ps
    leaves = []

    def walk(pgno):
        base = (pgno - 1) * ps
        h = base + (100 if pgno == 1 else 0)
        kind = data[h]
        if kind == 0x0D:
            leaves.append(pgno)
            return
        assert kind == 0x05, "page %d of %s is not a table b-tree page" % (pgno, table)
        ncells = struct.unpack(">H", data[h + 3:h + 5])[0]
        for i in range(ncells):
            cell = base + struct.unpack(">H", data[h + 12 + 2 * i:h + 14 + 2 * i])[0]
            walk(struct.unpack(">I", data[cell:cell + 4])[0])
        walk(struct.unpack(">I", data[h + 8:h + 12])[0])

    walk(root)
    return [(p, ps) for p in leaves], data


class VerifyTest(CliTest):
    template = None  # a store built once, copied for each test

    @classmethod
    def setUpClass(cls):
        cls.template = tempfile.mkdtemp(prefix="outpost-verify-")
        t = cls("test_clean")
        CliTest.setUp(t)
        try:
            t.dir = os.path.join(cls.template, "node")
            cls.key = t.init()["key"]
            t.ok("kpi", "define", "calls", "--target", "5")
            for i in range(N_CHECKINS):
                t.ok("checkin", "--energy", str(1 + i % 5), "--note", ("%03d " % i) * 75)
            t.assertEqual(sorted(os.listdir(t.dir)), ["identity.key", "outpost.db"],
                          "the WAL is checkpointed when the CLI exits")
        finally:
            t.doCleanups()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.template, ignore_errors=True)

    def setUp(self):
        super().setUp()
        shutil.copytree(os.path.join(self.template, "node"), self.dir)

    def rows(self):
        con = sqlite3.connect("file:%s?immutable=1" % self.db_path(), uri=True)
        try:
            return con.execute("SELECT seq, kind, envelope, body FROM entries ORDER BY id"
                               ).fetchall()
        finally:
            con.close()

    def checkin_seq(self, n):
        """The seq of the n-th check-in."""
        return [r[0] for r in self.rows() if r[1] == 1][n]

    def assert_problem(self, *words, seq=None, allow_unopenable=False):
        """verify exits 1 and names the problem, in text and in --json."""
        r = self.run_cli("verify")
        if allow_unopenable and r.code == 3:
            self.assert_error(r, 3)
            self.assertRegex(r.err.lower(), "damaged|corrupt|malformed|not a database")
            return None
        self.assertEqual(r.code, 1, r)
        self.assertNotIn("Sanitizer", r.err, r)
        text = (r.out + r.err).lower()
        self.assertIn("problem", text, r)
        for w in words:
            self.assertIn(w.lower(), text, r)
        j = self.run_cli("verify", "--json")
        self.assertEqual(j.code, 1, j)
        doc = j.json()
        self.assertIs(doc["ok"], False, doc)
        self.assertIsInstance(doc["problems"], list)
        self.assertGreater(len(doc["problems"]), 0, doc)
        for p in doc["problems"]:
            self.assertTrue(p.get("what"), p)
        if seq is not None:
            self.assertIn(seq, [p.get("seq") for p in doc["problems"]], doc)
            self.assertIn(self.key, [p.get("author") for p in doc["problems"]], doc)
        return doc

    def test_clean(self):
        r = self.ok("verify")
        self.assertTrue(r.out.lower().startswith("ok"), r)
        doc = self.ok_json("verify")
        self.assertIs(doc["ok"], True)
        self.assertEqual(doc["problems"], [])
        n = len(self.log())
        self.assertEqual(doc["entries"], n)
        self.assertEqual(doc["authors"], 1)
        self.assertEqual(doc["bodies"], n)

    def test_verify_reads_only(self):
        before = self.snapshot()
        self.ok("verify")
        self.ok("verify", "--json")
        self.assertEqual(self.snapshot(), before)

    def test_envelope_byte(self):
        seq = self.checkin_seq(N_CHECKINS // 2)
        con = self.db()
        env = bytearray(con.execute("SELECT envelope FROM entries WHERE seq = ?",
                                    (seq,)).fetchone()[0])
        env[len(env) // 2] ^= 0x01
        con.execute("UPDATE entries SET envelope = ? WHERE seq = ?", (bytes(env), seq))
        con.commit()
        con.close()
        doc = self.assert_problem(seq=seq)
        self.assertTrue(any(p["seq"] == seq for p in doc["problems"]))

    def test_signature_byte(self):
        seq = self.checkin_seq(3)
        con = self.db()
        env = bytearray(con.execute("SELECT envelope FROM entries WHERE seq = ?",
                                    (seq,)).fetchone()[0])
        env[-1] ^= 0x80  # the last byte of the signature
        con.execute("UPDATE entries SET envelope = ? WHERE seq = ?", (bytes(env), seq))
        con.commit()
        con.close()
        self.assert_problem(seq=seq)

    def test_body_byte(self):
        seq = self.checkin_seq(N_CHECKINS // 2)
        con = self.db()
        body = bytearray(con.execute("SELECT body FROM entries WHERE seq = ?",
                                     (seq,)).fetchone()[0])
        body[len(body) // 2] ^= 0x01
        con.execute("UPDATE entries SET body = ? WHERE seq = ?", (bytes(body), seq))
        con.commit()
        con.close()
        doc = self.assert_problem("body", seq=seq)
        self.assertEqual([p["seq"] for p in doc["problems"]], [seq],
                         "a bad body does not break the chain")

    def test_missing_entry(self):
        seq = self.checkin_seq(5)
        con = self.db()
        con.execute("DELETE FROM entries WHERE seq = ?", (seq,))
        con.commit()
        con.close()
        self.assert_problem("missing", seq=seq)

    def test_entry_columns_match_the_envelope(self):
        # kind and ts are copied out of the signed envelope into columns that log, status
        # and the projections use; a store whose columns disagree with the signed bytes is
        # damaged, and verify is the command that must say so.
        seq = self.checkin_seq(7)
        for column, value in (("kind", 3), ("ts", 1)):
            with self.subTest(column=column):
                con = self.db()
                old = con.execute("SELECT %s FROM entries WHERE seq = ?" % column,
                                  (seq,)).fetchone()[0]
                con.execute("UPDATE entries SET %s = ? WHERE seq = ?" % column, (value, seq))
                con.commit()
                try:
                    self.assert_problem(seq=seq)
                finally:
                    con.execute("UPDATE entries SET %s = ? WHERE seq = ?" % column, (old, seq))
                    con.commit()
                    con.close()

    def test_raw_byte_in_a_data_page(self):
        path = self.db_path()
        rows = self.rows()
        leaves, data = leaf_pages(path, "entries")
        self.assertGreaterEqual(len(leaves), 3, "the table spans several pages")
        pgno, ps = leaves[len(leaves) // 2]
        start, mid = (pgno - 1) * ps, (pgno - 1) * ps + ps // 2
        # the signed bytes (envelopes and bodies) stored on that page
        ranges = []
        for seq, kind, env, body in rows:
            for blob in (env, body):
                i = data.find(blob) if blob else -1
                if start <= i and i + len(blob) <= start + ps:
                    ranges.append((i, i + len(blob), seq))
        self.assertTrue(ranges, "page %d holds entries" % pgno)
        # the byte in the middle of the page, or the nearest signed byte to it
        lo, hi, seq = min(ranges, key=lambda r: 0 if r[0] <= mid < r[1]
                          else min(abs(r[0] - mid), abs(r[1] - 1 - mid)))
        off = min(max(mid, lo), hi - 1)
        flip(path, off)
        self.assert_problem(seq=seq, allow_unopenable=True)

    def test_raw_page_header(self):
        path = self.db_path()
        leaves, _ = leaf_pages(path, "entries")
        pgno, ps = leaves[len(leaves) // 2]
        flip(path, (pgno - 1) * ps, 0x0D ^ 0x0A)  # a table leaf becomes an index leaf
        self.assert_problem(allow_unopenable=True)

    def test_raw_cell_pointer(self):
        path = self.db_path()
        leaves, _ = leaf_pages(path, "entries")
        pgno, ps = leaves[len(leaves) // 2]
        flip(path, (pgno - 1) * ps + 8, 0x7F)  # first cell pointer points into nonsense
        self.assert_problem(allow_unopenable=True)

    def test_structure_problems_are_well_formed(self):
        # A problem that is not in one author's log (SQLite's own structure check) has no
        # author: --json must say null, not invent an all-zero key. In text, each problem is
        # one "problem:" line, so that a person or grep counts them right.
        path = self.db_path()
        leaves, _ = leaf_pages(path, "entries")
        pgno, ps = leaves[len(leaves) // 2]
        flip(path, (pgno - 1) * ps, 0x0D ^ 0x0A)
        doc = self.assert_problem()
        for p in doc["problems"]:
            with self.subTest(problem=p):
                self.assertIn(p["author"], (None, self.key), "not a key this store holds")
                if p["author"] is None:
                    self.assertIsNone(p["seq"])
        r = self.run_cli("verify")
        lines = r.out.splitlines()
        self.assertTrue(lines[-1].startswith("FAILED"), r)
        for line in lines[:-1]:
            self.assertTrue(line.startswith("problem: "), "a stray line in %r" % r)
        self.assertEqual(len(lines) - 1, len(doc["problems"]), r)

    def test_not_a_database(self):
        path = self.db_path()
        with open(path, "r+b") as f:
            f.write(b"this is no SQLite file at all\0")
        r = self.run_cli("verify")
        self.assertIn(r.code, (1, 3), r)
        if r.code == 3:
            self.assert_error(r, 3)
        self.assertRegex((r.out + r.err).lower(), "damaged|corrupt|malformed|not a database")
        # and the other commands refuse it clearly too, without a crash
        for args in (["status"], ["log", "--json"], ["checkin", "--energy", "3"]):
            with self.subTest(args=args):
                r = self.run_cli(*args)
                self.assert_error(r, 3)

    def test_help(self):
        r = self.ok("verify", "--help")
        self.assertIn("usage: outpost verify", r.out)
        self.assertEqual(r.err, "")


if __name__ == "__main__":
    clitest.main()
