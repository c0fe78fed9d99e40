#!/usr/bin/env python3
"""outpostd's command line (SPEC §8-§9): --help prints the usage and exits 0; an unknown
option, an option without its value, a stray argument, and --peer or --quiet without --once
exit 2 with a line naming the problem; a directory that is no node exits 3, and the default
directory is $OUTPOST_DIR, else $XDG_DATA_HOME/outpost, else $HOME/.local/share/outpost; a
listen address that is not numeric HOST:PORT exits 2 (without a port it listened on
0.0.0.0:7420 before, and with a port that is no number on a random one). No agent is left
running: every case ends at start-up. Run: ctest -R integration.outpostd_args (no long mode,
no SEED: nothing is random here).
"""
import os
import subprocess
import tempfile
import unittest

OUTPOSTD = os.environ["OUTPOSTD_BIN"]
OUTPOST = os.environ["OUTPOST_BIN"]


def run(args, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items()
         if k not in ("OUTPOST_DIR", "XDG_DATA_HOME", "HOME")}
    e.update(env or {})
    p = subprocess.run([OUTPOSTD] + args, env=e, cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


class Args(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="outpostd-args-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_help(self):
        code, out, err = run(["--help"])
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("usage: outpostd"), out)
        self.assertIn("--once", out)
        self.assertEqual(err, "")
        self.assertEqual(run(["-h"])[:2], (0, out))

    def test_usage_errors_exit_2(self):
        cases = [
            (["--bogus"], "unknown option '--bogus'"),
            (["-x"], "unknown option"),
            (["--dir"], "--dir needs a value"),
            (["--once", "--peer"], "--peer needs a value"),
            (["--once", "stray"], "unexpected argument 'stray'"),
            (["--peer", "127.0.0.1:1"], "--peer goes with --once"),
            (["--quiet"], "--quiet goes with --once"),
        ]
        for args, want in cases:
            with self.subTest(args=args):
                code, out, err = run(args if args == ["--dir"] else ["--dir", self.dir] + args)
                self.assertEqual(code, 2, (args, out, err))
                self.assertIn(want, err)
                self.assertIn("outpostd --help", err)
                self.assertEqual(out, "")

    def test_default_directory(self):
        nowhere = os.path.join(self.dir, "nowhere")
        cases = [
            ({"OUTPOST_DIR": nowhere, "XDG_DATA_HOME": "/x", "HOME": "/h"}, nowhere),
            ({"OUTPOST_DIR": "", "XDG_DATA_HOME": nowhere, "HOME": "/h"},
             os.path.join(nowhere, "outpost")),
            ({"HOME": nowhere}, os.path.join(nowhere, ".local/share/outpost")),
        ]
        for env, where in cases:
            with self.subTest(env=env):
                code, out, err = run(["--once"], env=env)
                self.assertEqual(code, 3, err)
                self.assertIn("cannot load %s/identity.key" % where, err)
                self.assertFalse(os.path.exists(where), "start-up must not create the node")

    def test_listen_address_refused(self):
        node = os.path.join(self.dir, "office")
        p = subprocess.run([OUTPOST, "init", "--name", "Office", "--office", "--dir", node],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        for spec in ("localhost:7420", "127.0.0.1:99999", "not an address", "127.0.0.1",
                     "127.0.0.1:x"):
            with self.subTest(spec=spec):
                code, out, err = run(["--dir", node, "--listen", spec])
                self.assertEqual(code, 2, err)
                self.assertIn("cannot listen on '%s'" % spec, err)
                self.assertFalse(os.path.exists(os.path.join(node, "outpostd.sock")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
