"""Shared helpers for the outpost CLI tests (SPEC §9: the CLI contract).

The binary comes from $OUTPOST_BIN (ctest passes $<TARGET_FILE:outpost>); by default the
build-cli tree next to the sources. Every test runs in its own temporary directory with a
fixed clock (OUTPOST_NOW) and a private HOME, so nothing outside it is touched.
"""
import base64
import errno
import fcntl
import hashlib
import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import termios
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("OUTPOST_BIN") or os.path.join(HERE, "..", "..", "build-cli", "outpost")
NOW = "2026-11-25T09:30:00Z"  # a Wednesday, ISO week 2026-W48
NOW_TS = "2026-11-25T09:30:00.000Z"  # how the JSON outputs spell NOW
TIMEOUT = 30


def b64key(s):
    """True if s looks like an ed25519 public key shown as base64 (44 characters)."""
    if not isinstance(s, str) or len(s) != 44:
        return False
    try:
        return len(base64.b64decode(s, validate=True)) == 32
    except ValueError:
        return False


class Result:
    def __init__(self, args, code, out, err):
        self.args, self.code, self.out, self.err = args, code, out, err

    @property
    def err_lines(self):
        return self.err.splitlines()

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "outpost %r -> exit %d\n--- stdout:\n%s--- stderr:\n%s" % (
            self.args, self.code, self.out, self.err)


class CliTest(unittest.TestCase):
    """A fresh temporary directory per test; self.dir is where the node lives."""

    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="outpost-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.dir = os.path.join(self.tmp, "node")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(self.tmp, "home"),
            "LANG": "C.UTF-8",
            "OUTPOST_NOW": NOW,
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]

    # --- running the CLI ---------------------------------------------------------------

    def run_cli(self, *args, dir=True, now=NOW, env=None, input=None, stdin=None):
        """Runs `outpost [--dir DIR] ARGS...`; stdin is /dev/null unless input is given."""
        argv = [BIN] + (["--dir", self.dir if dir is True else dir] if dir else []) + list(args)
        e = dict(self.env)
        if now is None:
            e.pop("OUTPOST_NOW", None)
        else:
            e["OUTPOST_NOW"] = now
        if env:
            e.update(env)
        kw = {"input": input.encode()} if input is not None else {
            "stdin": subprocess.DEVNULL if stdin is None else stdin}
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=TIMEOUT, cwd=self.tmp, **kw)
        return Result(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"))

    def ok(self, *args, **kw):
        """Runs and asserts exit 0 and no sanitizer report; returns the Result."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("Sanitizer", r.err, r)
        self.assertNotIn("runtime error", r.err, r)
        return r

    def ok_json(self, *args, **kw):
        r = self.ok(*args, "--json", **kw)
        try:
            return json.loads(r.out)
        except ValueError as e:
            self.fail("stdout is not one JSON document (%s): %r" % (e, r))

    def assert_error(self, r, code, *words):
        """Exit `code`, nothing on stdout, exactly one non-empty line on stderr naming the
        problem (each of `words` appears in it, case-insensitively)."""
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, "", "stdout must be empty on an error: %r" % r)
        self.assertTrue(r.err.endswith("\n"), "stderr must end with a newline: %r" % r)
        lines = r.err_lines
        self.assertEqual(len(lines), 1, "stderr must be exactly one line: %r" % r)
        self.assertTrue(lines[0].strip(), r)
        for w in words:
            self.assertIn(w.lower(), lines[0].lower(), r)

    # --- nodes ---------------------------------------------------------------------------

    def init(self, name="Ann", office=False, site="Acme", dir=None):
        """Creates a node; returns its init --json document."""
        args = ["init", "--name", name]
        if site:
            args += ["--site", site]
        if office:
            args.append("--office")
        return self.ok_json(*args, dir=dir or self.dir)

    def log(self, *args, dir=None):
        return self.ok_json("log", *args, dir=dir or self.dir)

    def status(self, dir=None):
        return self.ok_json("status", dir=dir or self.dir)

    def db_path(self, dir=None):
        return os.path.join(dir or self.dir, "outpost.db")

    def db(self, dir=None):
        """A read-write sqlite3 connection to the node's database (for tampering)."""
        con = sqlite3.connect(self.db_path(dir))
        self.addCleanup(con.close)
        return con

    def count_entries(self, dir=None):
        path = self.db_path(dir)
        if not os.path.exists(path):
            return None
        # immutable=1: no locks, no -shm or -wal created, the file is only read
        con = sqlite3.connect("file:%s?immutable=1" % path, uri=True)
        try:
            return con.execute("SELECT count(*) FROM entries").fetchone()[0]
        finally:
            con.close()

    def snapshot(self, root=None):
        """What the test directory holds: every file (path, mode, sha256 of its bytes) and the
        number of entries in the node's database."""
        root = root or self.tmp
        files = []
        for d, dirs, names in os.walk(root):
            dirs.sort()
            for n in sorted(names):
                p = os.path.join(d, n)
                st = os.stat(p)
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                files.append((os.path.relpath(p, root), oct(st.st_mode), h))
            for n in dirs:
                files.append((os.path.relpath(os.path.join(d, n), root) + "/", "", ""))
        return {"files": files, "entries": self.count_entries()}


# --- pseudo-terminal sessions --------------------------------------------------------------

class PtySession:
    """Runs the CLI with stdin and stdout on a pseudo-terminal (stderr on a pipe), to answer
    interactive questions."""

    def __init__(self, test, *args, stdout_pipe=False):
        """stdin (and stdout, unless stdout_pipe) on the terminal; with stdout_pipe, stdout
        goes to a pipe and stderr to the terminal, as in `outpost checkin --json | jq`.
        The terminal is the process's controlling terminal, as in a real session."""
        self.test = test
        self.master, slave = os.openpty()
        e = dict(test.env)
        argv = [BIN, "--dir", test.dir] + list(args)

        def controlling_tty():  # runs in the child after setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        if stdout_pipe:
            out, err = subprocess.PIPE, slave
        else:
            out, err = slave, subprocess.PIPE
        self.p = subprocess.Popen(argv, stdin=slave, stdout=out, stderr=err, env=e,
                                  cwd=test.tmp, start_new_session=True,
                                  preexec_fn=controlling_tty)
        self.pipe = self.p.stdout if stdout_pipe else self.p.stderr
        self.pipe_name, self.pipe_text = ("stdout" if stdout_pipe else "stderr"), ""
        os.close(slave)
        self.seen = b""
        self.pos = 0
        self.eof = False

    def _read(self, deadline):
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.master], [], [], left)
            if not r:
                return False
            try:
                chunk = os.read(self.master, 4096)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                chunk = b""
            if not chunk:
                self.eof = True
                return False
            self.seen += chunk
            return True
        return False

    def expect(self, text, timeout=10):
        """Waits until `text` appears on the terminal after what was matched before."""
        want = text.encode()
        deadline = time.monotonic() + timeout
        while True:
            i = self.seen.find(want, self.pos)
            if i >= 0:
                self.pos = i + len(want)
                return
            if not self._read(deadline):
                i = self.seen.find(want, self.pos)
                if i >= 0:
                    self.pos = i + len(want)
                    return
                self.kill()
                self.test.fail("the terminal never showed %r; it showed:\n%s\n(the %s pipe "
                               "got: %r)" % (text, self.seen.decode("utf-8", "replace"),
                                             self.pipe_name, self.pipe_text))

    def send(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=15):
        """Waits for the exit; returns (exit code, terminal text, what the pipe got: stderr,
        or stdout with stdout_pipe)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            if not self._read(deadline):
                if self.p.poll() is not None:
                    # drain what is left, then stop
                    while self._read(time.monotonic() + 0.2):
                        pass
                    break
        try:
            code = self.p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
            self.test.fail("the command did not exit; terminal:\n%s" %
                           self.seen.decode("utf-8", "replace"))
        err = self.pipe.read().decode("utf-8", "replace")
        self.pipe.close()
        os.close(self.master)
        self.master = None
        return code, self.seen.decode("utf-8", "replace"), err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if not self.pipe.closed:
            self.pipe_text = self.pipe.read().decode("utf-8", "replace")
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if not self.pipe.closed:
            self.pipe.close()


def main():
    if not os.path.exists(BIN):
        sys.stderr.write("outpost binary not found at %s; set OUTPOST_BIN\n" % BIN)
        sys.exit(2)
    unittest.main(verbosity=2)
