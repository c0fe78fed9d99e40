"""outpost erase AUTHOR SEQ (SPEC §5 kind 10, §9; TESTING C15): the CLI contract.

The body of a record goes (its projection with it: log shows body null and says "erased",
kpi report stops counting a value), the envelope stays and `verify` passes, the erase entry is
plaintext and shows what it erased; a second erase is a no-op (`already`); every refusal
(usage, another node's record, an entry not held, a kind that cannot be erased) is exit 2 with
one line on stderr and nothing written; the erased text is in no file of the node afterwards.
Erasure between nodes (relays, the office, late replicas): tests/integration and
tests/unit/store/erase_test.c.
"""
import base64
import os
import unittest

import clitest
from clitest import CliTest


class EraseTest(CliTest):

    def setUp(self):
        super().setUp()
        self.key = self.init()["key"]
        self.canary = "erase-canary-5d1c0f3b9a7e4c2d"
        self.ok("checkin", "--delivering", "yes", "--thriving", "yes", "--support", "yes",
                "--note", self.canary)                                  # seq 1 key, 2 check-in
        self.ok("kpi", "record", "articles", "3", "--at", "2026-11-24")  # seq 3
        self.ok("kpi", "record", "articles", "2", "--at", "2026-11-25")  # seq 4

    def files_hold(self, needle):
        hits = []
        for d, _, names in os.walk(self.dir):
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    if needle in f.read():
                        hits.append(n)
        return hits

    def entry(self, seq):
        return [e for e in self.log("--limit", "0") if e["seq"] == seq][0]

    def test_erase_own_checkin(self):
        self.assertEqual(self.files_hold(self.canary.encode()), ["outpost.db"])
        doc = self.ok_json("erase", "me", "2")
        self.assertEqual(doc, {"author": self.key, "seq": 2, "kind": "checkin", "erase_seq": 5,
                               "already": False})
        self.assertIsNone(self.entry(2)["body"])
        self.assertEqual(self.entry(2)["kind"], "checkin")
        self.assertEqual(self.entry(5)["kind"], "erase")
        self.assertEqual(self.entry(5)["body"], {"re": {"author": self.key, "seq": 2}})
        text = self.ok("log").out
        self.assertIn("(erased", text)
        self.assertIn("erases the body of %s:2" % self.key[:8], text)
        v = self.ok_json("verify")
        self.assertTrue(v["ok"], v)
        self.assertEqual(v["entries"], 5)
        self.assertEqual(self.status()["last_checkin"], None)
        self.assertEqual(self.files_hold(self.canary.encode()), [])

        before = self.count_entries()
        again = self.ok_json("erase", self.key, "2")
        self.assertEqual(again, {"author": self.key, "seq": 2, "kind": "checkin",
                                 "erase_seq": None, "already": True})
        self.assertEqual(self.count_entries(), before, "a second erase writes nothing")
        r = self.ok("erase", "me", "2")
        self.assertIn("erased already", r.out)

    def test_erase_kpi_value_leaves_the_report(self):
        def total():
            rows = self.ok_json("kpi", "report", "--period", "2026-W48")
            return [x["value"] for x in rows if x["kpi"] == "articles"]
        self.assertEqual(total(), [5])
        r = self.ok("erase", "me", "3")
        self.assertIn("Erased the body of entry %s:3 (kpi_value)" % self.key, r.out)
        self.assertEqual(total(), [2])

    def test_refusals_write_nothing(self):
        other = base64.b64encode(bytes(range(32))).decode()
        cases = [
            ((), "two arguments"),
            (("me",), "two arguments"),
            (("me", "2", "3"), "two arguments"),
            (("nobody", "2"), "AUTHOR"),
            (("me", "0"), "SEQ"),
            (("me", "x"), "SEQ"),
            (("me", "4294967296"), "SEQ"),
            (("me", "--bogus"), "bogus"),
            ((other, "2"), "only the author"),
            (("me", "99"), "no entry"),
            (("me", "1"), "cannot be erased"),
        ]
        before = self.snapshot()
        for args, words in cases:
            with self.subTest(args=args):
                r = self.run_cli("erase", *args)
                self.assert_error(r, 2, words)
                self.assertEqual(self.snapshot(), before, "nothing may be written: %r" % r)
        r = self.ok("erase", "--help")
        self.assertIn("usage: outpost erase AUTHOR SEQ", r.out)
        self.assertEqual(self.snapshot(), before)

    def test_erase_entries_cannot_be_erased(self):
        self.ok("erase", "me", "2")
        r = self.run_cli("erase", "me", "5")
        self.assert_error(r, 2, "erase entry", "cannot be erased")


if __name__ == "__main__":
    unittest.main(verbosity=2)
