"""outpost init: worker and office nodes, key files and their modes, refusing to init twice."""
import os
import stat

import clitest
from clitest import CliTest, b64key


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class InitTest(CliTest):
    def test_worker(self):
        r = self.ok("init", "--name", "Ann", "--site", "Acme")
        self.assertEqual(r.err, "")
        key_path = os.path.join(self.dir, "identity.key")
        self.assertTrue(os.path.isfile(key_path))
        self.assertEqual(mode(key_path), 0o600)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "network.key")),
                         "a worker has no network key")
        self.assertTrue(os.path.isfile(self.db_path()))
        st = self.status()
        self.assertEqual(st["role"], "worker")
        self.assertEqual(st["name"], "Ann")
        self.assertTrue(b64key(st["key"]), st)
        self.assertIn(st["key"], r.out, "the text output shows the new key")

    def test_office(self):
        doc = self.init("Home", office=True, site=None)
        self.assertEqual(doc["role"], "office")
        for f in ("identity.key", "network.key"):
            p = os.path.join(self.dir, f)
            self.assertTrue(os.path.isfile(p), f)
            self.assertEqual(mode(p), 0o600, f)
        with open(os.path.join(self.dir, "network.key"), "rb") as f:
            self.assertTrue(f.read().strip(), "network.key is not empty")
        self.assertEqual(self.status()["role"], "office")

    def test_two_offices_get_different_keys(self):
        a = self.init("A", office=True, dir=os.path.join(self.tmp, "a"))
        b = self.init("B", office=True, dir=os.path.join(self.tmp, "b"))
        self.assertNotEqual(a["key"], b["key"])
        with open(os.path.join(self.tmp, "a", "network.key"), "rb") as f:
            na = f.read()
        with open(os.path.join(self.tmp, "b", "network.key"), "rb") as f:
            nb = f.read()
        self.assertNotEqual(na, nb)

    def test_json(self):
        doc = self.init("Ann Øster", site="Acme")
        self.assertTrue(b64key(doc["key"]), doc)
        self.assertEqual(doc["name"], "Ann Øster")
        self.assertEqual(doc["role"], "worker")
        self.assertEqual(doc["site"], "Acme")
        st = self.status()
        self.assertEqual(st["key"], doc["key"])
        self.assertEqual(st["name"], "Ann Øster")

    def test_creates_missing_parents_privately(self):
        self.dir = os.path.join(self.tmp, "a", "b", "c")
        self.init()
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "identity.key")))
        self.assertEqual(mode(self.dir) & 0o077, 0, "the node directory is private")

    def test_dir_from_environment(self):
        d = os.path.join(self.tmp, "from-env")
        r = self.ok("init", "--name", "Env", dir=None, env={"OUTPOST_DIR": d})
        self.assertTrue(os.path.isfile(os.path.join(d, "identity.key")), r)
        xdg = os.path.join(self.tmp, "xdg")
        self.ok("init", "--name", "Xdg", dir=None, env={"XDG_DATA_HOME": xdg})
        self.assertTrue(os.path.isfile(os.path.join(xdg, "outpost", "identity.key")))

    def test_dir_after_the_command(self):
        self.ok("init", "--name", "Ann", "--dir", self.dir, dir=None)
        self.assertTrue(os.path.isfile(os.path.join(self.dir, "identity.key")))

    def test_twice_fails_and_keeps_the_key(self):
        first = self.init()
        key_path = os.path.join(self.dir, "identity.key")
        st0 = os.stat(key_path)
        before = self.snapshot()
        for extra in ([], ["--office"], ["--json"]):
            with self.subTest(extra=extra):
                r = self.run_cli("init", "--name", "Other", *extra)
                self.assert_error(r, 3)
                self.assertIn(self.dir, r.err, "the message names the directory")
                self.assertEqual(self.snapshot(), before, "init twice must change nothing")
                st1 = os.stat(key_path)
                self.assertEqual((st1.st_ino, st1.st_mtime_ns), (st0.st_ino, st0.st_mtime_ns))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "network.key")))
        self.assertEqual(self.status()["key"], first["key"])
        self.assertEqual(self.status()["name"], "Ann")

    def test_office_twice_keeps_network_key(self):
        self.init("Home", office=True)
        before = self.snapshot()
        r = self.run_cli("init", "--name", "Again", "--office")
        self.assert_error(r, 3)
        self.assertEqual(self.snapshot(), before)

    def test_key_readable_by_others_is_refused(self):
        self.init()
        os.chmod(os.path.join(self.dir, "identity.key"), 0o644)
        before = self.snapshot()
        for args in (["status"], ["checkin", "--energy", "3"]):
            with self.subTest(args=args):
                r = self.run_cli(*args)
                self.assert_error(r, 3, "identity.key", "chmod 600")
                self.assertEqual(self.snapshot(), before)

    def test_damaged_key(self):
        self.init()
        with open(os.path.join(self.dir, "identity.key"), "r+b") as f:
            f.truncate(10)
        r = self.run_cli("status")
        self.assert_error(r, 3, "identity.key")

    def test_database_without_key(self):
        self.init()
        os.unlink(os.path.join(self.dir, "identity.key"))
        before = self.snapshot()
        r = self.run_cli("init", "--name", "Again")
        self.assert_error(r, 3)
        self.assertEqual(self.snapshot(), before, "the old database is left alone")
        r = self.run_cli("status")
        self.assert_error(r, 3, "init")

    def test_dir_is_a_file(self):
        with open(self.dir, "w") as f:
            f.write("not a directory")
        r = self.run_cli("init", "--name", "Ann")
        self.assert_error(r, 3, self.dir)

    def test_help(self):
        r = self.ok("init", "--help", dir=None)
        self.assertIn("usage: outpost init", r.out)
        self.assertIn("--name", r.out)
        self.assertEqual(r.err, "")
        self.assertFalse(os.path.exists(self.dir))


if __name__ == "__main__":
    clitest.main()
