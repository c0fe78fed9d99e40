"""outpost invite, join and revoke (SPEC §6, §9): the happy paths with --json, the office and
worker roles, a second team, and every bad flag or value (exit 2, one stderr line, nothing
written). Admission itself needs replication and is tested in tests/unit/store/member_test.c;
here the office learns of a member the way the admission would record it."""
import base64
import os
import sqlite3
import stat

import clitest
from clitest import CliTest, b64key

NAME_LONG = "n" * 201


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class MemberTest(CliTest):
    def setUp(self):
        super().setUp()
        self.office_dir = os.path.join(self.tmp, "office")
        self.worker_dir = os.path.join(self.tmp, "worker")
        self.office = self.init("Home", office=True, site=None, dir=self.office_dir)
        self.worker = self.init("Ann", site="Acme", dir=self.worker_dir)

    # --- helpers -------------------------------------------------------------------------

    def on(self, dir, *args, **kw):
        return self.run_cli(*args, dir=dir, **kw)

    def ok_on(self, dir, *args, **kw):
        return self.ok(*args, dir=dir, **kw)

    def json_on(self, dir, *args, **kw):
        return self.ok_json(*args, dir=dir, **kw)

    def invite(self, *extra, name="Ann Larsen", site="Client A"):
        args = ["invite", "--name", name] + (["--site", site] if site else []) + list(extra)
        return self.json_on(self.office_dir, *args)

    def query(self, dir, sql, *params):
        con = sqlite3.connect("file:%s?immutable=1" % os.path.join(dir, "outpost.db"), uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def entries(self, dir):
        return self.query(dir, "SELECT count(*) FROM entries")[0][0]

    def everything(self):
        """Every file under the test directory, and the entries of both nodes."""
        snap = self.snapshot()
        snap["entries"] = (self.entries(self.office_dir), self.entries(self.worker_dir))
        return snap

    def assert_nothing_written(self, before, r):
        self.assertEqual(self.everything(), before, "nothing may be written: %r" % r)

    # --- init --office starts the membership list ----------------------------------------

    def test_office_log_starts_with_its_member_entry(self):
        log = self.log(dir=self.office_dir)
        members = [e for e in log if e["kind"] == "member"]
        self.assertEqual(len(members), 1, log)
        self.assertEqual(members[0]["author"], self.office["key"])
        self.assertEqual(members[0]["seq"], 1)
        rows = self.query(self.office_dir, "SELECT key, name, site, role, revoked_after"
                                           " FROM members")
        self.assertEqual(rows, [(base64.b64decode(self.office["key"]), "Home", None, "office",
                                 None)])
        # a worker's log starts empty: it is not a member until the office says so
        self.assertEqual(self.entries(self.worker_dir), 0)
        self.assertEqual(self.query(self.worker_dir, "SELECT count(*) FROM members"), [(0,)])

    # --- invite --------------------------------------------------------------------------

    def test_invite(self):
        r = self.ok_on(self.office_dir, "invite", "--name", "Ann Larsen", "--site", "Client A",
                       "--addr", "office.example.org:7420", "--addr", "[2001:db8::7]:7420")
        code = r.out.strip()
        self.assertEqual(r.out, code + "\n", "stdout is the code alone")
        self.assertTrue(code.startswith("outpost1-"), r)
        self.assertNotIn("=", code)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertIn("privately", r.err)
        self.assertIn("network key", r.err)
        self.assertIn("Ann Larsen", r.err)
        rows = self.query(self.office_dir, "SELECT name, site, used_by, length(token_hash)"
                                           " FROM invites")
        self.assertEqual(rows, [("Ann Larsen", "Client A", None, 32)])
        # [1, office, netkey, token, addrs]: the office keeps neither the token nor a copy of
        # the network key in its database
        b64 = code[len("outpost1-"):]
        raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        self.assertEqual(raw[:4], b"\x95\x01\xc4\x20")
        self.assertEqual(raw[4:36], base64.b64decode(self.office["key"]))
        netkey, token = raw[38:70], raw[72:104]
        with open(os.path.join(self.office_dir, "outpost.db"), "rb") as f:
            db = f.read()
        self.assertNotIn(token, db)
        self.assertNotIn(netkey, db)

    def test_invite_json(self):
        doc = self.invite("--addr", "127.0.0.1:7420")
        self.assertEqual(set(doc), {"code", "name", "site"})
        self.assertEqual(doc["name"], "Ann Larsen")
        self.assertEqual(doc["site"], "Client A")
        self.assertTrue(doc["code"].startswith("outpost1-"))
        doc2 = self.invite(name="Bob", site=None)
        self.assertIsNone(doc2["site"])
        self.assertNotEqual(doc["code"], doc2["code"], "every code is new")
        self.assertEqual(self.query(self.office_dir, "SELECT count(*) FROM invites"), [(2,)])
        # an invite writes no entry: nothing to replicate
        self.assertEqual(self.entries(self.office_dir), 1)

    def test_invite_on_a_worker(self):
        before = self.everything()
        r = self.on(self.worker_dir, "invite", "--name", "Bob")
        self.assert_error(r, 2, "office")
        self.assert_nothing_written(before, r)

    def test_invite_without_network_key(self):
        os.rename(os.path.join(self.office_dir, "network.key"), os.path.join(self.tmp, "nk"))
        before = self.everything()
        r = self.on(self.office_dir, "invite", "--name", "Bob")
        self.assert_error(r, 3, "network.key")
        self.assert_nothing_written(before, r)

    # --- join ----------------------------------------------------------------------------

    def test_join(self):
        code = self.invite("--addr", "office.example.org:7420", "--addr", "192.0.2.7:7420")["code"]
        r = self.ok_on(self.worker_dir, "join", code)
        self.assertEqual(r.err, "")
        self.assertIn(self.office["key"], r.out)
        self.assertIn("outpostd", r.out)
        self.assertIn("outpost sync", r.out)
        self.assertIn("office.example.org:7420", r.out)
        self.assertNotIn(code, r.out)
        # the network key: the office's, mode 0600
        nk = os.path.join(self.worker_dir, "network.key")
        self.assertEqual(mode(nk), 0o600)
        with open(nk, "rb") as a, open(os.path.join(self.office_dir, "network.key"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        office_pk = base64.b64decode(self.office["key"])
        self.assertEqual(self.query(self.worker_dir, "SELECT v FROM meta WHERE k = 'office_key'"),
                         [(office_pk,)])
        self.assertEqual(sorted(self.query(self.worker_dir, "SELECT addr, key FROM peers")),
                         [("192.0.2.7:7420", office_pk), ("office.example.org:7420", office_pk)])
        log = self.log(dir=self.worker_dir)
        self.assertEqual([(e["seq"], e["kind"]) for e in log], [(1, "join")])
        # what the worker writes from now on is sealed to the office too
        self.ok_on(self.worker_dir, "checkin", "--energy", "4")
        (sealed,) = self.query(self.worker_dir, "SELECT body FROM entries WHERE kind = 8")
        self.assertEqual(sealed[0].count(office_pk), 1, "the key entry names the office")

    def test_join_json_and_again(self):
        code = self.invite("--addr", "127.0.0.1:7420")["code"]
        doc = self.json_on(self.worker_dir, "join", code)
        self.assertEqual(doc["office"], self.office["key"])
        self.assertEqual(doc["peers"], ["127.0.0.1:7420"])
        self.assertEqual(doc["join_seq"], 1)
        self.assertIs(doc["already"], False)
        before = self.everything()
        again = self.json_on(self.worker_dir, "join", code)
        self.assertEqual(again["join_seq"], 1)
        self.assertIs(again["already"], True)
        self.assertEqual(self.everything(), before, "joining twice with one code is a no-op")
        r = self.ok_on(self.worker_dir, "join", "  " + code + "\n")  # pasted with blanks
        self.assertIn("Already", r.out)
        self.assertEqual(self.everything(), before)

    def test_join_no_addresses(self):
        code = self.invite()["code"]
        doc = self.json_on(self.worker_dir, "join", code)
        self.assertEqual(doc["peers"], [])
        self.assertEqual(self.query(self.worker_dir, "SELECT count(*) FROM peers"), [(0,)])

    def test_join_on_the_office(self):
        code = self.invite()["code"]
        before = self.everything()
        r = self.on(self.office_dir, "join", code)
        self.assert_error(r, 2, "office")
        self.assertNotIn(code, r.err)
        self.assert_nothing_written(before, r)

    def test_join_another_team(self):
        self.ok_on(self.worker_dir, "join", self.invite()["code"])
        other_dir = os.path.join(self.tmp, "other")
        other = self.init("Other", office=True, dir=other_dir)
        code = self.json_on(other_dir, "invite", "--name", "Ann")["code"]
        before = self.everything()
        r = self.on(self.worker_dir, "join", code)
        self.assert_error(r, 3, "team")
        self.assertIn(self.office["key"], r.err)
        self.assertNotIn(code, r.err)
        self.assert_nothing_written(before, r)
        self.assertEqual(other["role"], "office")
        # a network key of another team on disk is refused too, even before any join
        fresh_dir = os.path.join(self.tmp, "fresh")
        self.init("Fresh", dir=fresh_dir)
        with open(os.path.join(other_dir, "network.key"), "rb") as f:
            theirs = f.read()
        fd = os.open(os.path.join(fresh_dir, "network.key"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, theirs)
        os.close(fd)
        code = self.invite(name="Fresh")["code"]
        before = self.snapshot()
        r = self.on(fresh_dir, "join", code)
        self.assert_error(r, 3, "network.key")
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.query(fresh_dir, "SELECT count(*) FROM entries"), [(0,)])

    # --- revoke --------------------------------------------------------------------------

    def admit_by_hand(self, key, name="Ann Larsen"):
        """Records key as a member on the office, as admission does once the worker's join
        entry arrives by sync (see member_test.c for the real thing)."""
        con = sqlite3.connect(os.path.join(self.office_dir, "outpost.db"))
        con.execute("INSERT INTO members(key, name, role, admitted) VALUES(?, ?, 'worker', 1)",
                    (base64.b64decode(key), name))
        con.commit()
        con.close()

    def test_revoke(self):
        self.admit_by_hand(self.worker["key"])
        r = self.ok_on(self.office_dir, "revoke", self.worker["key"])
        self.assertIn("Ann Larsen", r.out)
        self.assertIn("outpost sync", r.out)
        log = self.log("--kind", "revoke", dir=self.office_dir)
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["author"], self.office["key"])
        self.assertEqual(self.query(self.office_dir, "SELECT revoked_after FROM members WHERE"
                                                     " key = ?",
                                    base64.b64decode(self.worker["key"])), [(0,)])
        # again: nothing new, the same answer
        before = self.everything()
        doc = self.json_on(self.office_dir, "revoke", self.worker["key"])
        self.assertEqual(doc, {"key": self.worker["key"], "after_seq": 0})
        self.assertEqual(self.everything(), before)

    def test_revoke_json(self):
        self.admit_by_hand(self.worker["key"])
        doc = self.json_on(self.office_dir, "revoke", self.worker["key"])
        self.assertEqual(doc, {"key": self.worker["key"], "after_seq": 0})

    def test_revoke_unknown_key(self):
        before = self.everything()
        r = self.on(self.office_dir, "revoke", self.worker["key"])
        self.assert_error(r, 3, self.worker["key"])
        self.assert_nothing_written(before, r)

    def test_revoke_on_a_worker(self):
        before = self.everything()
        r = self.on(self.worker_dir, "revoke", self.office["key"])
        self.assert_error(r, 2, "office")
        self.assert_nothing_written(before, r)

    # --- bad flags and values ------------------------------------------------------------

    def check_usage(self, dir, cases, secret=None):
        before = self.everything()
        for args, words in cases:
            with self.subTest(args=[a if len(a) < 40 else a[:12] + "..." for a in args]):
                r = self.on(dir, *args)
                self.assert_error(r, 2, *words)
                if secret:
                    self.assertNotIn(secret[9:30], r.err, "the code is never echoed")
                self.assert_nothing_written(before, r)

    def test_invite_bad_flags(self):
        nine = []
        for i in range(9):
            nine += ["--addr", "h%d:7420" % i]
        self.check_usage(self.office_dir, [
            (["invite"], ["--name"]),
            (["invite", "--site", "S"], ["--name"]),
            (["invite", "--name"], ["--name"]),
            (["invite", "--name", ""], ["--name"]),
            (["invite", "--name", NAME_LONG], ["--name"]),
            (["invite", "--name", "A\nB"], ["--name"]),
            (["invite", "--name", "A\x1b[31m"], ["--name"]),
            (["invite", "--name", "A", "--site", NAME_LONG], ["--site"]),
            (["invite", "--name", "A", "--site"], ["--site"]),
            (["invite", "--name", "A", "--bogus"], ["--bogus"]),
            (["invite", "--name", "A", "extra"], ["extra"]),
            (["invite", "--name", "A", "--addr"], ["--addr"]),
            (["invite", "--name", "A", "--addr", ""], ["--addr"]),
            (["invite", "--name", "A", "--addr", "nohost"], ["--addr", "nohost"]),
            (["invite", "--name", "A", "--addr", "h:0"], ["--addr", "h:0"]),
            (["invite", "--name", "A", "--addr", "h:65536"], ["--addr", "h:65536"]),
            (["invite", "--name", "A", "--addr", "h:07420"], ["--addr"]),
            (["invite", "--name", "A", "--addr", ":7420"], ["--addr"]),
            (["invite", "--name", "A", "--addr", "h :1"], ["--addr"]),
            (["invite", "--name", "A", "--addr", "::1:7420"], ["--addr"]),
            (["invite", "--name", "A", "--addr", "h" * 251 + ":7420"], ["--addr"]),  # 256 B
            (["invite", "--name", "A"] + nine, ["--addr", "8"]),
            (["invite", "--name", "A", "--office"], ["--office"]),
        ])
        self.assertEqual(self.query(self.office_dir, "SELECT count(*) FROM invites"), [(0,)])
        # bad flags win over the wrong role: checked before the node is opened
        self.check_usage(self.worker_dir, [(["invite", "--bogus"], ["--bogus"]),
                                           (["invite"], ["--name"])])

    def test_join_bad_codes(self):
        code = self.invite("--addr", "127.0.0.1:7420")["code"]
        cases = [
            (["join"], ["CODE"]),
            (["join", code, code], ["unexpected"]),
            (["join", "--bogus", code], ["--bogus"]),
            (["join", "garbage"], ["outpost1-"]),
            (["join", ""], ["outpost1-"]),
            (["join", "outpost1-"], ["cut short"]),
            (["join", "outpost2-" + code[9:]], ["outpost1-"]),
            (["join", code[:-10]], []),
            (["join", code[:40]], []),
            (["join", code + "AAAA"], []),
            (["join", code[:30] + "+" + code[31:]], ["damaged"]),
            (["join", code[:30] + "=" + code[31:]], ["damaged"]),
            (["join", code[:30] + "ø" + code[31:]], ["damaged"]),
            (["join", code[:30] + " " + code[31:]], ["damaged"]),
            (["join", "outpost1-" + "A" * 4000], ["longer"]),
        ]
        self.check_usage(self.worker_dir, cases, secret=code)
        self.assertFalse(os.path.exists(os.path.join(self.worker_dir, "network.key")))
        # the good code still works afterwards
        self.ok_on(self.worker_dir, "join", code)

    def test_revoke_bad_args(self):
        self.admit_by_hand(self.worker["key"])
        self.check_usage(self.office_dir, [
            (["revoke"], ["KEY"]),
            (["revoke", "not-a-key"], ["KEY", "not-a-key"]),
            (["revoke", "AAAA"], ["KEY"]),
            (["revoke", self.worker["key"][:-1]], ["KEY"]),
            (["revoke", self.worker["key"], self.worker["key"]], ["unexpected"]),
            (["revoke", "--bogus", self.worker["key"]], ["--bogus"]),
            (["revoke", self.worker["key"], "--after", "3"], ["--after"]),
            (["revoke", self.office["key"]], ["own key"]),
        ])
        self.assertEqual(self.query(self.office_dir, "SELECT revoked_after FROM members WHERE"
                                                     " key = ?",
                                    base64.b64decode(self.worker["key"])), [(None,)])

    def test_help(self):
        for cmd in ("invite", "join", "revoke"):
            with self.subTest(cmd=cmd):
                r = self.ok(cmd, "--help", dir=None)
                self.assertIn("usage: outpost " + cmd, r.out)
                self.assertEqual(r.err, "")
        r = self.ok("--help", dir=None)
        for cmd in ("invite", "join", "revoke"):
            self.assertIn(cmd, r.out)
        self.assertTrue(b64key(self.office["key"]))


if __name__ == "__main__":
    clitest.main()
