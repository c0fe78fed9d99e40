#!/usr/bin/env python3
"""outpostd's main() (agent/main.c) where tests/integration/test_outpostd_args.py does not look:

- an empty XDG_DATA_HOME counts as unset ($HOME/.local/share/outpost is used), and an empty
  OUTPOST_CLOCK_OFFSET is ignored (no usage error);
- the open-file limit is raised to the hard limit when that is under AGENT_NOFILE_MAX
  (65,536), and to 65,536 when the hard limit is higher (when this machine allows it), and
  left alone when the soft limit is the hard one (C18: a thousand half-open
  connections must not leave none for a member), as /proc/PID/limits of the running agent shows;
- `--once --quiet` that fails prints one line, "outpost sync: <why>", and nothing else;
- `--once` with stderr on a terminal clears its progress line before the result.
Each case ends at start-up or is stopped through the control socket (exit 0). Run: ctest -R unit.agent.main
(about 2 s; no long mode, nothing random).
"""
import os
import pty
import resource
import select
import socket
import subprocess
import tempfile
import time
import unittest

OUTPOSTD = os.environ["OUTPOSTD_BIN"]
OUTPOST = os.environ["OUTPOST_BIN"]
NOFILE_MAX = 65536  # AGENT_NOFILE_MAX in agent/node.h


def clean_env(**extra):
    e = {k: v for k, v in os.environ.items()
         if k not in ("OUTPOST_DIR", "XDG_DATA_HOME", "HOME", "OUTPOST_CLOCK_OFFSET")}
    e.update(extra)
    return e


class Main(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="outpostd-main-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def office(self):
        node = os.path.join(self.dir, "office")
        p = subprocess.run([OUTPOST, "init", "--name", "Office", "--office", "--dir", node],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return node

    def test_empty_variables_count_as_unset(self):
        p = subprocess.run([OUTPOSTD, "--once"], capture_output=True, text=True, timeout=60,
                           env=clean_env(XDG_DATA_HOME="", HOME=self.dir,
                                         OUTPOST_CLOCK_OFFSET=""))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("cannot load %s/.local/share/outpost/identity.key" % self.dir, p.stderr)
        self.assertNotIn("OUTPOST_CLOCK_OFFSET", p.stderr)

    def limit_seen(self, node, soft, hard):
        """Starts the agent with RLIMIT_NOFILE (soft, hard); returns the soft limit it runs with."""
        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        p = subprocess.Popen([OUTPOSTD, "--dir", node, "--listen", "127.0.0.1:0"],
                             stderr=subprocess.PIPE, text=True, preexec_fn=lower,
                             env=clean_env())
        try:
            deadline = time.monotonic() + 30
            started = False
            while time.monotonic() < deadline and not started:
                line = p.stderr.readline()
                if not line:
                    break
                started = "listening on" in line
            self.assertTrue(started, "the agent did not start")
            with open("/proc/%d/limits" % p.pid) as f:
                row = [r for r in f if r.startswith("Max open files")][0].split()
            return int(row[3]), int(row[4])
        finally:
            # "stop" on the control socket, not SIGTERM: a signal that came before the agent's
            # handlers were in place (just after "listening on") would kill it
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(30)
                    s.connect(os.path.join(node, "outpostd.sock"))
                    s.sendall(b"stop\n")
                    self.assertEqual(s.recv(64), b"ok\n")
            finally:
                if p.poll() is None and not started:
                    p.kill()
                p.stderr.read()
                p.stderr.close()
                self.assertEqual(p.wait(timeout=30), 0 if started else p.returncode)

    def test_open_file_limit_raised(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY and hard < 512:
            self.skipTest("hard limit of open files is only %d" % hard)
        node = self.office()
        self.assertEqual(self.limit_seen(node, 256, 512), (512, 512))
        self.assertEqual(self.limit_seen(node, 300, 300), (300, 300))  # nothing to raise
        if hard == resource.RLIM_INFINITY or hard > NOFILE_MAX:
            self.assertEqual(self.limit_seen(node, 256, hard)[0], NOFILE_MAX)

    def test_quiet_once_failure_is_one_line(self):
        node = self.office()
        p = subprocess.run([OUTPOSTD, "--dir", node, "--once", "--quiet"], capture_output=True,
                           text=True, timeout=60, env=clean_env())
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stderr, "outpost sync: no peers known: add one with "
                                   "'outpost peers add HOST:PORT'\n")
        self.assertEqual(p.stdout, "")

    def test_progress_line_cleared_on_a_terminal(self):
        node = self.office()
        master, slave = pty.openpty()
        p = subprocess.Popen([OUTPOSTD, "--dir", node, "--once"], stderr=slave,
                             stdout=subprocess.DEVNULL, env=clean_env())
        os.close(slave)
        out = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if not r:
                if p.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the agent closed the terminal
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        self.assertEqual(p.wait(timeout=30), 3)
        self.assertIn(b"\r\x1b[K", out)
        self.assertIn(b"outpostd: sync failed: no peers known", out)
        self.assertLess(out.index(b"\r\x1b[K"), out.index(b"outpostd: sync failed"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
