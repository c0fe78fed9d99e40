"""Shared helpers for outpost's multi-process integration tests (SPEC §6-§9, TESTING §B/§C).

Every test starts real `outpostd` processes on 127.0.0.1 (free ports, found by binding port 0)
and drives real `outpost` commands against their node directories. Nothing is mocked: the only
thing in the test process is, for some tests, a small TCP proxy that damages a stream.

Binaries: $OUTPOST_BIN, $OUTPOSTD_BIN (ctest passes $<TARGET_FILE:...>) and $OUTPOST_BENCH_BIN
(the data generator, `outpost-bench gen`; default: next to outpost).

Environment:
  SEED=N            seeds every random choice (start order, fault offsets, kill instants);
                    printed by each test, re-run a failure with it. Default: random.
  INTEG_KEEP=1      keep every test directory (failed tests' directories are always kept).
  INTEG_KILLS=N     kill -9 rounds of integration.kill9 (default 100; long mode: 1,000).
  INTEG_LONG=1      long mode: 5 seeded offsets per bad-link fault mode, 100 kill rounds.
  INTEG_SCALE=F     multiply every deadline by F (slow machines, valgrind).
  INTEG_JOIN=copy   join by copying network.key instead of `outpost invite`/`outpost join`.
  INTEG_TMPDIR=DIR  where the test directories go.

Each test runs in a fresh temporary directory (`opinteg-<test>-XXXX` under $INTEG_TMPDIR, else
$TMPDIR or /tmp; keep the path short: a control socket path must fit in 108 bytes) that
holds the node directories and the agents' logs (`<node>.agent.log`); it is removed after a
success and kept, with its path printed, after a failure.

The clock is the real one (no OUTPOST_NOW): the agents' backoff, keepalives and receipts run
on it. Tests never assert wall-clock times: they wait for a condition with a deadline (generous, and
scaled by INTEG_SCALE) and print how long it took.
"""
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_BUILD = os.path.join(HERE, "..", "..", "build")
OUTPOST = os.environ.get("OUTPOST_BIN") or os.path.join(_DEFAULT_BUILD, "outpost")
OUTPOSTD = os.environ.get("OUTPOSTD_BIN") or os.path.join(os.path.dirname(OUTPOST), "outpostd")
BENCH = os.environ.get("OUTPOST_BENCH_BIN") or os.path.join(os.path.dirname(OUTPOST),
                                                            "outpost-bench")

SEED = int(os.environ.get("SEED") or random.SystemRandom().randrange(1, 1 << 31))
LONG = os.environ.get("INTEG_LONG", "") not in ("", "0")
KEEP = os.environ.get("INTEG_KEEP", "") not in ("", "0")
SCALE = float(os.environ.get("INTEG_SCALE") or 1.0)
CLI_TIMEOUT = 120 * SCALE

SANITIZER = re.compile(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                       r"UndefinedBehaviorSanitizer|SUMMARY: \w+Sanitizer)")


def log(msg):
    """A line of test output (stderr, unbuffered, shows in ctest --output-on-failure / -V)."""
    sys.stderr.write("  | %s\n" % msg)
    sys.stderr.flush()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (bind port 0, read it, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def dead_addr():
    """An address where nothing listens (connections are refused at once)."""
    return "127.0.0.1:%d" % free_port()


def tcp_send_queue(remote_port):
    """Bytes waiting in the kernel's send queues of the TCP sockets connected to
    127.0.0.1:remote_port (from /proc/net/tcp; None if there is none)."""
    total = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            rem, state, queues = parts[2], parts[3], parts[4]
            if state == "01" and int(rem.split(":")[1], 16) == remote_port:
                total = (total or 0) + int(queues.split(":")[0], 16)
    return total


def b64key(s):
    if not isinstance(s, str) or len(s) != 44:
        return False
    try:
        return len(base64.b64decode(s, validate=True)) == 32
    except ValueError:
        return False


class Result:
    def __init__(self, argv, code, out, err, secs):
        self.argv, self.code, self.out, self.err, self.secs = argv, code, out, err, secs

    def json(self):
        return json.loads(self.out)

    @property
    def err_lines(self):
        return [l for l in self.err.splitlines() if l.strip()]

    def __repr__(self):
        return "%s -> exit %d (%.2f s)\n--- stdout:\n%s--- stderr:\n%s" % (
            " ".join(self.argv), self.code, self.secs, self.out[-4000:], self.err[-4000:])


def _env(tmp):
    e = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.path.join(tmp, "home"),
        "LANG": "C.UTF-8",
    }
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR"):
        if k in os.environ:
            e[k] = os.environ[k]
    return e


# ----------------------------------------------------------------------------------- agents

class Agent:
    """One outpostd process of a node. Its stderr goes to TMP/<node>.agent.log (appended to
    across restarts); `mark` is where this start's lines begin."""

    def __init__(self, node, listen=True, args=()):
        self.node = node
        self.t = node.t
        self.log_path = os.path.join(self.t.tmp, "%s.agent.log" % node.name)
        with open(self.log_path, "ab") as f:
            f.write(("---- %s start (listen %s)\n" % (time.strftime("%H:%M:%S"),
                                                     node.addr if listen else "no")).encode())
            self.mark = f.tell()
        argv = [OUTPOSTD, "--dir", node.dir]
        argv += ["--listen", node.addr] if listen else ["--no-listen"]
        argv += list(args)
        self.argv = argv
        self._logf = open(self.log_path, "ab")
        env = dict(_env(self.t.tmp), **node.env)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf, env=env, cwd=self.t.tmp)
        self.started = time.monotonic()
        self.returncode = None
        self.t.agents.append(self)
        if listen:
            self.wait_log(r"listening on 127\.0\.0\.1:%d" % node.port, 20,
                          "outpostd of %s listening" % node.name)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def text(self, since=None):
        """This start's log (or from byte offset `since`)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.mark if since is None else since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return "(%s is gone: was the test directory removed under the test?)" % self.log_path

    def offset(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def lines(self, since=None):
        return self.text(since).splitlines()

    def wait_log(self, pattern, timeout, what=None, since=None):
        """Waits until a line of this start's log (from `since`) matches `pattern`; returns the
        match. Fails at once if the agent exits first."""
        rx = re.compile(pattern)

        def found():
            for line in self.lines(since):
                m = rx.search(line)
                if m:
                    return m
            if not self.alive():
                self.t.fail("outpostd of %s exited (%s) before logging /%s/:\n%s" % (
                    self.node.name, self.proc.returncode, pattern, self.text()[-3000:]))
            return None

        return self.t.wait_until(found, timeout, what or "/%s/ in %s's log" % (
            pattern, self.node.name), diag=lambda: self.text()[-3000:])

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15, expect_code=0):
        """Sends sig and waits (deadline `timeout`) for the exit; checks the exit status, the
        "stopping" line and that no sanitizer reported anything. Returns the seconds taken."""
        if not self.alive():
            self.t.fail("outpostd of %s was not running (exit %s):\n%s" % (
                self.node.name, self.proc.returncode, self.text()[-3000:]))
        before = self.offset()
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.returncode = self.proc.wait(timeout * SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._logf.close()
            self.t.fail("outpostd of %s did not exit within %.0f s of %s; log:\n%s" % (
                self.node.name, timeout * SCALE, signal.Signals(sig).name, self.text()[-3000:]))
        secs = time.monotonic() - t0
        self._logf.close()
        tail = self.text(before)
        self.t.assertEqual(self.returncode, expect_code,
                           "outpostd of %s exited %s after %s; log:\n%s" % (
                               self.node.name, self.returncode, signal.Signals(sig).name,
                               self.text()[-3000:]))
        self.t.assertRegex(tail, r"outpostd: stopping",
                           "no 'stopping' line after %s:\n%s" % (signal.Signals(sig).name, tail))
        self.check_sanitizer()
        return secs

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        self.returncode = self.proc.wait()
        self._logf.close()

    def check_sanitizer(self):
        m = SANITIZER.search(self.text(0))
        if m:
            self.t.fail("a sanitizer reported in %s:\n%s" % (self.log_path,
                                                             self.text(0)[m.start() - 200:][:6000]))

    def reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self._logf.closed:
            self._logf.close()


# ------------------------------------------------------------------------------------ nodes

class Node:
    """One node directory (TMP/<name>) with its fixed agent address 127.0.0.1:<port>. `env`:
    extra environment for its agent and its CLI commands (e.g. OUTPOST_CLOCK_OFFSET; change
    node.env before a restart to change it)."""

    def __init__(self, t, name, office=False, site=None, env=None):
        self.t = t
        self.env = dict(env or {})
        self.name = name
        self.dir = os.path.join(t.tmp, name)
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.office = office
        args = ["init", "--name", name]
        if site:
            args += ["--site", site]
        if office:
            args.append("--office")
        self.key = self.ok_json(*args)["key"]
        assert b64key(self.key), self.key
        self.agent = None
        t.nodes.append(self)

    def __repr__(self):
        return "<node %s %s %s>" % (self.name, self.key[:8], self.addr)

    # --- the CLI
    def run(self, *args, env=None, timeout=None):
        argv = [OUTPOST, "--dir", self.dir] + [str(a) for a in args]
        e = _env(self.t.tmp)
        e.update(self.env)
        if env:
            e.update(env)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=e, cwd=self.t.tmp,
                               timeout=timeout or CLI_TIMEOUT)
        except subprocess.TimeoutExpired as x:
            self.t.fail("%s did not finish within %.0f s; stderr so far: %r" % (
                " ".join(argv), x.timeout, x.stderr))
        r = Result(argv[3:], p.returncode, p.stdout.decode("utf-8", "replace"),
                   p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)
        m = SANITIZER.search(r.err)
        if m:
            self.t.fail("a sanitizer reported in `outpost %s`:\n%s" % (" ".join(r.argv), r.err))
        return r

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        self.t.assertEqual(r.code, 0, "%s: %r" % (self.name, r))
        return r

    def ok_json(self, *args, **kw):
        r = self.ok(*args, "--json", **kw)
        try:
            return json.loads(r.out)
        except ValueError as e:
            self.t.fail("stdout of %r is not JSON (%s)" % (r, e))

    def checkin(self, note=None, **answers):
        args = ["checkin", "--delivering", answers.get("delivering", "yes"),
                "--thriving", answers.get("thriving", "yes"),
                "--support", answers.get("support", "yes"),
                "--energy", answers.get("energy", 3)]
        if note is not None:
            args += ["--note", note]
        return self.ok(*args)

    def kpi_record(self, kpi, value, note=None):
        args = ["kpi", "record", kpi, value]
        if note is not None:
            args += ["--note", note]
        return self.ok(*args)

    def log(self, *args):
        return self.ok_json("log", "--limit", "0", *args)

    def pairs(self):
        """The sorted (author, seq) of every entry held (from `outpost log --json --limit 0`);
        fails on a duplicate."""
        entries = self.log()
        pairs = sorted((e["author"], e["seq"]) for e in entries)
        dups = [p for i, p in enumerate(pairs) if i and pairs[i - 1] == p]
        self.t.assertEqual(dups, [], "%s lists an entry twice: %s" % (self.name, dups[:5]))
        return pairs

    def status(self):
        return self.ok_json("status")

    def total(self):
        return self.status()["entries"]["total"]

    def peer(self, addr):
        for p in self.status()["peers"]:
            if p["addr"] == addr:
                return p
        return None

    def verify(self):
        """`outpost verify --json`: asserts exit 0 and ok, returns the document."""
        r = self.run("verify", "--json")
        self.t.assertEqual(r.code, 0, "verify on %s: %r" % (self.name, r))
        doc = r.json()
        self.t.assertTrue(doc["ok"], "verify on %s: %r" % (self.name, doc))
        self.t.assertEqual(doc["problems"], [], "verify on %s" % self.name)
        return doc

    def peers_add(self, addr, key=None):
        return self.ok("peers", "add", addr, *([key] if key else []))

    def peers_remove(self, what):
        return self.ok("peers", "remove", what)

    # --- the store, read directly
    @property
    def db_path(self):
        return os.path.join(self.dir, "outpost.db")

    def sql(self, query, *params):
        """A read-only query on the node's database (safe while the agent runs)."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=30)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def hashes(self):
        """{(author base64, seq): entry hash hex} of every entry held."""
        rows = self.sql("SELECT a.key, e.seq, e.hash FROM entries e JOIN authors a"
                        " ON a.id = e.author")
        return {(base64.b64encode(k).decode(), s): h.hex() for k, s, h in rows}

    def integrity(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=30)
        try:
            return [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
        finally:
            con.close()

    def projection_duplicates(self):
        """(table, author id, seq) rows projected more than once."""
        out = []
        for table in ("checkins", "kpi_values", "kpi_defs"):
            out += [(table,) + r for r in self.sql(
                "SELECT author, seq, count(*) FROM %s GROUP BY author, seq HAVING count(*) > 1"
                % table)]
        return out

    def gen(self, entries, authors, seed, office=None):
        """Fills this store with `entries` synthetic, signed entries of `authors` other authors
        (`outpost-bench gen`): the bulk a worker relays for colleagues. Sealed to the office
        when given, so the office can read them."""
        argv = [BENCH, "gen", "--dir", self.dir, "--entries", str(entries), "--authors",
                str(authors), "--seed", str(seed), "--threads", "1"]
        if office:
            argv += ["--office", office.dir]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=_env(self.t.tmp), timeout=CLI_TIMEOUT)
        self.t.assertEqual(p.returncode, 0, "%s: %s %s" % (" ".join(argv), p.stdout, p.stderr))

    # --- the team
    def join(self, office, addrs=None):
        """Joins office's team. With membership built (outpost invite/join): an invite code
        naming `addrs` (default: the office's address), else (INTEG_JOIN=copy, or no
        `outpost invite`): copy the network key (0600) and add the addresses as peers."""
        addrs = [office.addr] if addrs is None else addrs
        if self.t.membership():
            args = ["invite", "--name", self.name]
            for a in addrs:
                args += ["--addr", a]
            code = office.ok_json(*args)["code"]
            doc = self.ok_json("join", code)
            self.t.assertEqual(doc["office"], office.key)
        else:
            src = os.path.join(office.dir, "network.key")
            dst = os.path.join(self.dir, "network.key")
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o600)
            for a in addrs:
                self.peers_add(a)

    def admit(self, office):
        """The office admits pending join requests (outpost invite admits what has arrived;
        the invite made for that is unused)."""
        if self.t.membership():
            office.ok("invite", "--name", "admit-%d" % random.randrange(1 << 30))

    # --- the agent
    def start(self, listen=True, args=()):
        self.t.assertTrue(self.agent is None or not self.agent.alive(),
                          "%s's agent is already running" % self.name)
        self.agent = Agent(self, listen=listen, args=args)
        return self.agent

    def stop(self, sig=signal.SIGTERM, timeout=15):
        secs = self.agent.stop(sig, timeout)
        return secs

    def files(self):
        """{name: bytes} of every file in the node directory (database, WAL, SHM, keys)."""
        out = {}
        for d, _, names in os.walk(self.dir):
            for n in names:
                p = os.path.join(d, n)
                try:
                    with open(p, "rb") as f:
                        out[os.path.relpath(p, self.dir)] = f.read()
                except OSError:  # a socket, or a file gone meanwhile
                    pass
        return out


# ------------------------------------------------------------------------------- the proxy

class Proxy:
    """A TCP proxy on 127.0.0.1:<port> to `target`, on threads. The first `faulty` connections
    get `mode` applied to the client -> server direction at byte offset `at` of that direction:

      flip      XOR one byte with `mask`
      drop      leave out bytes [at, at + length)
      dup       send bytes [at, at + length) twice
      truncate  forward bytes before `at`, then close both sides
      stall     forward bytes before `at`, then read nothing more from the client
      freeze    as stall, and nothing more from the server either (a peer that hangs)
                (with rcvbuf=N the proxy's receive window is small, so the client's
                writes back up soon)

    `fired` is set once the fault has been applied; `bytes_c2s` counts what the client sent."""

    def __init__(self, target, mode=None, at=0, length=1, mask=0x01, faulty=1, rcvbuf=None):
        self.target = target
        self.mode, self.at, self.length, self.mask, self.faulty = mode, at, length, mask, faulty
        self.fired = threading.Event()
        self.conns = 0
        self.bytes_c2s = 0
        self.stop_flag = threading.Event()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:  # a small window (inherited by accepted sockets): a stall fills up fast
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.socks = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stop_flag.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        with self.lock:
            for s in self.socks:
                try:
                    s.close()
                except OSError:
                    pass

    def _accept(self):
        while not self.stop_flag.is_set():
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            host, port = self.target.rsplit(":", 1)
            try:
                s = socket.create_connection((host, int(port)))
            except OSError:
                c.close()
                continue
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.conns += 1
                faulty = self.conns <= self.faulty
                self.socks += [c, s]
            state = {"open": 2}
            threading.Thread(target=self._pump, args=(c, s, faulty, True, state),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, False, False, state),
                             daemon=True).start()

    def _pump(self, src, dst, faulty, c2s, state):
        off = 0
        mode = self.mode if faulty else None
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if c2s:
                    with self.lock:
                        self.bytes_c2s += len(data)
                start, end = off, off + len(data)
                off = end
                if mode and not self.fired.is_set() and end > self.at:
                    i = max(self.at - start, 0)
                    if mode == "flip":
                        data = data[:i] + bytes([data[i] ^ self.mask]) + data[i + 1:]
                        self.fired.set()
                    elif mode == "drop":
                        j = min(i + self.length, len(data))
                        data = data[:i] + data[j:]
                        self.fired.set()
                    elif mode == "dup":
                        j = min(i + self.length, len(data))
                        data = data[:j] + data[i:j] + data[j:]
                        self.fired.set()
                    elif mode in ("truncate", "stall", "freeze"):
                        if i:
                            dst.sendall(data[:i])
                        self.fired.set()
                        if mode == "truncate":
                            for x in (src, dst):
                                try:
                                    x.shutdown(socket.SHUT_RDWR)
                                except OSError:
                                    pass
                            return
                        self.stop_flag.wait()  # stall: read nothing more, hold the socket
                        return
                if not c2s and self.mode == "freeze" and self.fired.is_set():
                    self.stop_flag.wait()
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            with self.lock:
                state["open"] -= 1
                done = state["open"] == 0
            if done:
                for x in (src, dst):
                    try:
                        x.close()
                    except OSError:
                        pass


# ------------------------------------------------------------------------------- the tests

class IntegTest(unittest.TestCase):
    """Base class: a fresh directory per test (kept on failure), seeded randomness, and every
    agent reaped (and its log checked for sanitizer reports) at the end."""

    maxDiff = None
    _membership = None

    def setUp(self):
        base = os.environ.get("INTEG_TMPDIR") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="opinteg-%s-" % self._testMethodName[5:], dir=base)
        os.makedirs(os.path.join(self.tmp, "home"))
        self.seed = "%d-%s" % (SEED, self.id().rsplit(".", 1)[-1])
        self.rng = random.Random(self.seed)
        self.nodes = []
        self.agents = []
        self.proxies = []
        self.t0 = time.monotonic()
        log("%s: SEED=%d dir=%s" % (self.id(), SEED, self.tmp))
        self.addCleanup(self._reap)

    def _reap(self):
        for p in self.proxies:
            p.close()
        for a in self.agents:
            a.reap()
        for a in self.agents:
            a.check_sanitizer()

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        failed = len(result.failures) + len(result.errors) > before
        tmp = getattr(self, "tmp", None)
        if tmp and os.path.isdir(tmp):
            if failed or KEEP:
                log("%s: %s; kept %s (re-run with SEED=%d)" % (
                    self.id(), "FAILED" if failed else "passed", tmp, SEED))
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        return result

    @classmethod
    def membership(cls):
        """True when `outpost invite`/`outpost join` exist (and INTEG_JOIN is not copy)."""
        if cls._membership is None:
            if os.environ.get("INTEG_JOIN") == "copy":
                IntegTest._membership = False
            else:
                p = subprocess.run([OUTPOST, "invite", "--help"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                IntegTest._membership = p.returncode == 0
        return IntegTest._membership

    # --- helpers
    def node(self, name, office=False, site=None, env=None):
        return Node(self, name, office=office, site=site, env=env)

    def team(self, workers, site="Client"):
        """An office and `workers` workers that joined it (agents not started)."""
        office = self.node("office", office=True)
        ws = []
        for i in range(workers):
            w = self.node("w%d" % (i + 1), site="%s %d" % (site, i + 1))
            w.join(office)
            ws.append(w)
        return office, ws

    def proxy(self, target, **kw):
        p = Proxy(target, **kw)
        self.proxies.append(p)
        return p

    def wait_until(self, pred, timeout, what, diag=None, every=0.1):
        """Polls pred() until it returns something truthy (returned) or `timeout` seconds (times
        INTEG_SCALE) pass: then fails with `what` and diag()."""
        deadline = time.monotonic() + timeout * SCALE
        t0 = time.monotonic()
        while True:
            v = pred()
            if v:
                return v
            if time.monotonic() > deadline:
                extra = ""
                if diag:
                    try:
                        extra = "\n" + str(diag())
                    except Exception as e:  # diagnostics must not hide the failure
                        extra = "\n(diagnostics failed: %r)" % e
                self.fail("%s: not reached within %.0f s%s" % (what, time.monotonic() - t0,
                                                                extra))
            time.sleep(every)

    def diag_nodes(self, nodes):
        out = []
        for n in nodes:
            try:
                st = n.status()
                out.append("%s %s: %d entries, peers %s" % (
                    n.name, n.key[:8], st["entries"]["total"],
                    [(p["addr"], p["connected"], p["last_error"]) for p in st["peers"]]))
            except Exception as e:
                out.append("%s: status failed: %s" % (n.name, e))
            if n.agent:
                out.append("  log of %s:\n    %s" % (n.name, "\n    ".join(
                    n.agent.lines(0)[-15:])))
        return "\n".join(out)

    def wait_converged(self, nodes, timeout, expect=None, nudge_every=None):
        """Waits until every node holds the same (author, seq) set (and, if given, every entry
        of `expect`: more may come, e.g. the office's member entries); cheap totals first.
        nudge_every: seconds between `outpost sync` on each node with a running agent (asks it
        to dial now, SPEC §7). Returns (pairs, seconds)."""
        t0 = time.monotonic()
        last_nudge = [t0]

        def check():
            if nudge_every and time.monotonic() - last_nudge[0] > nudge_every:
                last_nudge[0] = time.monotonic()
                for n in nodes:
                    if n.agent and n.agent.alive():
                        n.run("sync")
            totals = [n.total() for n in nodes]
            if len(set(totals)) != 1 or (expect is not None and totals[0] < len(expect)):
                return None
            sets = [n.pairs() for n in nodes]
            if any(s != sets[0] for s in sets):
                return None
            if expect is not None and not set(expect) <= set(sets[0]):
                return None
            return sets[0]

        pairs = self.wait_until(check, timeout, "convergence of %s" % [n.name for n in nodes],
                                diag=lambda: self.diag_nodes(nodes), every=0.25)
        return pairs, time.monotonic() - t0

    def settle(self, office, nodes, timeout):
        """Waits until the team is quiet: the office has receipted every log it holds (so it
        writes no further receipt until something new arrives: SPEC §7 step 4) and every node
        holds the same entries. Returns the (author, seq) list."""
        def quiet():
            try:
                rows = office.sql(
                    "SELECT count(*) FROM authors a LEFT JOIN acks k ON k.peer = ?1"
                    " AND k.author = a.id WHERE a.head_seq > coalesce(k.seq, 0)"
                    " AND a.key != ?1", base64.b64decode(office.key))
            except sqlite3.Error:
                rows = [(0,)]  # no receipts in this version
            if rows[0][0]:
                return None
            sets = [n.pairs() for n in nodes]
            return sets[0] if all(x == sets[0] for x in sets) else None

        return self.wait_until(quiet, timeout, "the office receipted everything and all agree",
                               diag=lambda: self.diag_nodes(nodes), every=0.25)

    def assert_same_hashes(self, nodes):
        """Every node holds exactly the same entries, byte for byte (same entry hashes)."""
        ref = nodes[0].hashes()
        for n in nodes[1:]:
            h = n.hashes()
            self.assertEqual(set(h), set(ref), "%s and %s hold different entries" % (
                nodes[0].name, n.name))
            diff = [k for k in ref if ref[k] != h[k]]
            self.assertEqual(diff, [], "%s and %s differ in the hash of %s" % (
                nodes[0].name, n.name, diff[:5]))


def main():
    log("SEED=%d%s (outpost %s, outpostd %s)" % (SEED, " LONG" if LONG else "", OUTPOST,
                                                 OUTPOSTD))
    for b in (OUTPOST, OUTPOSTD):
        if not os.access(b, os.X_OK):
            sys.exit("integration tests: %s is not an executable; set OUTPOST_BIN and "
                     "OUTPOSTD_BIN" % b)
    unittest.main(verbosity=2)
