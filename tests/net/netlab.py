"""netlab.py — bad networks on one machine, without netem (TESTING "Bad networks ..." and
B2-B6), for outpost's net tests. Python stdlib only.

A test builds its own network namespaces as root: a router namespace R and one namespace per
node, each node joined to R by a veth pair (node side `up0` 10.77.I.2/24, R side `r-NAME`
10.77.I.1/24), forwarding on in R. Impairments, all inside R:

  - nftables table `inet impair`, forward hook: chains `part` (partitions: `ip saddr A ip daddr
    B drop`), `flap` (a link down: everything in or out of its veth dropped) and `loss`
    (`numgen random mod 1000 < N drop`, not seeded);
  - tbf rate limits on a node's link, both directions (`tc qdisc ... tbf`);
  - tun_impair.py on TUN device `timp0` (seeded delay, jitter/reordering, loss, duplication),
    with the routing recipe of TESTING: every node address routed into timp0, and what comes
    back out of timp0 routed by table 100 to the node's veth, so each packet crosses the
    impairer exactly once per direction.

Real `outpostd` agents run in the node namespaces (`ip netns exec NS outpostd --listen
10.77.I.2:7420`); the `outpost` CLI runs in the test's own namespace (it needs only the node
directory and its control socket, a file). Namespace names are `opn<pid>-<node>`: tests may run
side by side, and namespaces left by a killed test are removed by the next one.

Where namespaces cannot be made (not root, no `ip`/`nft`/`tc`, no /dev/net/tun, netns refused)
the test prints why and exits with SKIP (77), registered as ctest SKIP_RETURN_CODE.

Environment (besides tests/integration/net.py's SEED, INTEG_KEEP, INTEG_SCALE):
  NET_LONG=1   long mode: full-length profiles (10 seeds of P1, 10-minute P3 and P4).
  NET_SEEDS=N  P1 seeds in long mode (default 10).
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import net  # noqa: E402  (tests/integration/net.py: nodes, agents, CLI helpers)

SKIP = 77
LONG = os.environ.get("NET_LONG", "") not in ("", "0")
PORT = 7420
PY = sys.executable or "python3"
IMPAIR = os.path.join(HERE, "tun_impair.py")
BULK = os.path.join(HERE, "tcp_bulk.py")
log = net.log


def _run(argv, check=True, input=None):
    kw = {"input": input.encode()} if input is not None else {"stdin": subprocess.DEVNULL}
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode,
                                                p.stderr.decode(errors="replace").strip()))
    return p.stdout.decode(errors="replace")


def why_not():
    """None when namespaces can be made here, else why not (in words)."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_NET_ADMIN; CI runs as root)"
    for tool, pkg in (("ip", "iproute2"), ("tc", "iproute2"), ("nft", "nftables")):
        if not shutil.which(tool):
            return "no `%s` (install the Debian package %s)" % (tool, pkg)
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError as e:
        return "cannot open /dev/net/tun (%s)" % e.strerror
    probe = "opn%d-probe" % os.getpid()
    try:
        _run(["ip", "netns", "add", probe])
        _run(["ip", "-n", probe, "link", "set", "lo", "up"])
        _run(["ip", "netns", "exec", probe, "nft", "add", "table", "inet", "probe"])
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        return "cannot make a network namespace with nftables: %s" % e
    finally:
        subprocess.run(["ip", "netns", "del", probe], stderr=subprocess.DEVNULL)
    return None


def skip_unless_possible():
    """Exits with SKIP (printing why) when namespaces cannot be made."""
    why = why_not()
    if why:
        sys.stdout.write("SKIP: net tests need network namespaces: %s\n" % why)
        sys.stdout.flush()
        sys.exit(SKIP)


def remove_stale():
    """Deletes namespaces `opn<pid>-*` whose test process is gone (a test killed by ctest's
    timeout cannot clean up after itself)."""
    try:
        names = _run(["ip", "netns", "list"], check=False).split()
    except OSError:
        return
    for n in names:
        m = re.match(r"opn(\d+)-", n)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            subprocess.run(["ip", "netns", "del", n], stderr=subprocess.DEVNULL)


class Topo:
    """Router namespace R plus one namespace per node name, nodes 1..N on 10.77.I.0/24."""

    def __init__(self, names):
        remove_stale()
        self.tag = "opn%d" % os.getpid()
        self.r = "%s-r" % self.tag
        self.names = list(names)
        self.ns = {n: "%s-%s" % (self.tag, n) for n in self.names}
        self.ip = {n: "10.77.%d.2" % (i + 1) for i, n in enumerate(self.names)}
        self.procs = []
        self.impair = None
        self.made = []
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def rif(self, name):
        """R's veth towards node `name`."""
        return "r-%s" % name[:12]

    def _build(self):
        for ns in [self.r] + list(self.ns.values()):
            _run(["ip", "netns", "add", ns])
            self.made.append(ns)
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        for i, n in enumerate(self.names):
            ns, rif = self.ns[n], self.rif(n)
            _run(["ip", "link", "add", "up0", "netns", ns, "type", "veth", "peer", "name", rif,
                  "netns", self.r])
            _run(["ip", "-n", ns, "addr", "add", "%s/24" % self.ip[n], "dev", "up0"])
            _run(["ip", "-n", self.r, "addr", "add", "10.77.%d.1/24" % (i + 1), "dev", rif])
            _run(["ip", "-n", ns, "link", "set", "up0", "up"])
            _run(["ip", "-n", self.r, "link", "set", rif, "up"])
            _run(["ip", "-n", ns, "route", "add", "default", "via", "10.77.%d.1" % (i + 1)])
        self.sh(self.r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.nft("""
            table inet impair {
                chain part { }
                chain flap { }
                chain loss { }
                chain forwarding {
                    type filter hook forward priority 0; policy accept;
                    jump part
                    jump flap
                    jump loss
                }
            }""")

    # --- running things
    def sh(self, ns, *argv, check=True, input=None):
        return _run(["ip", "netns", "exec", ns] + [str(a) for a in argv], check=check,
                    input=input)

    def popen(self, ns, argv, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(a) for a in argv], **kw)
        self.procs.append(p)
        return p

    def nft(self, script):
        self.sh(self.r, "nft", "-f", "-", input=script)

    # --- impairments
    def impair_start(self, delay_ms, jitter_ms, loss, dup, seed):
        """Starts tun_impair.py in R and routes every node's traffic through it."""
        p = self.popen(self.r, [PY, IMPAIR, "timp0", delay_ms, jitter_ms, loss, dup, seed],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = p.stdout.readline().decode()
        if not line.startswith("ready"):
            raise RuntimeError("tun_impair.py did not start: %r %r" % (
                line, p.stderr.read().decode()))
        self.impair = p
        r = self.r
        _run(["ip", "-n", r, "link", "set", "timp0", "up"])
        self.sh(r, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.timp0.rp_filter=0")
        for i, n in enumerate(self.names):
            _run(["ip", "-n", r, "route", "add", "%s/32" % self.ip[n], "dev", "timp0"])
            _run(["ip", "-n", r, "route", "add", "10.77.%d.0/24" % (i + 1), "dev", self.rif(n),
                  "table", "100"])
        _run(["ip", "-n", r, "rule", "add", "iif", "timp0", "table", "100"])
        log("impairer: %s ms +- %s ms each way, loss %s, dup %s, seed %s" % (
            delay_ms, jitter_ms, loss, dup, seed))

    def impair_stop(self):
        """Stops the impairer; returns its counters line."""
        if not self.impair or self.impair.poll() is not None:
            return ""
        self.impair.send_signal(signal.SIGTERM)
        try:
            _, err = self.impair.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.impair.kill()
            _, err = self.impair.communicate()
        return err.decode(errors="replace").strip()

    def rate(self, name, kbit):
        """tbf: `kbit` kbit/s each way on node `name`'s link (queue: 500 ms at that rate)."""
        limit = max(kbit * 1000 // 8 // 2, 3000)
        for ns, dev in ((self.ns[name], "up0"), (self.r, self.rif(name))):
            _run(["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                  "rate", "%dkbit" % kbit, "burst", "4kb", "limit", str(limit)])
        log("tbf: %d kbit/s each way on %s's link" % (kbit, name))

    def loss(self, permille):
        """Random loss on every forwarded packet (nft numgen; not seeded), 0 removes it."""
        rules = "flush chain inet impair loss\n"
        if permille:
            rules += ("add rule inet impair loss iifname != \"timp0\" numgen random mod 1000"
                      " < %d drop\n" % permille)
        self.nft(rules)

    def link(self, name, up):
        """Takes node `name`'s link down (every packet in or out dropped) or up again."""
        rif = self.rif(name)
        rules = "flush chain inet impair flap\n"
        if not up:
            rules += ("add rule inet impair flap iifname \"%s\" drop\n"
                      "add rule inet impair flap oifname \"%s\" drop\n" % (rif, rif))
        self.nft(rules)

    def partition(self, groups):
        """Lets nodes talk only within a group of `groups` (lists of names; a name in two
        groups is a bridge). None or [] heals."""
        rules = "flush chain inet impair part\n"
        if groups:
            for a in self.names:
                for b in self.names:
                    if a != b and not any(a in g and b in g for g in groups):
                        rules += "add rule inet impair part ip saddr %s ip daddr %s drop\n" % (
                            self.ip[a], self.ip[b])
        self.nft(rules)

    def counters(self, name):
        """(bytes R sent to node `name`, bytes R received from it) on its veth: IP bytes on
        the wire of that link, retransmissions and duplicates included."""
        doc = json.loads(_run(["ip", "-j", "-s", "-n", self.r, "link", "show", "dev",
                               self.rif(name)]))
        st = doc[0]["stats64"]
        return st["tx"]["bytes"], st["rx"]["bytes"]

    def close(self):
        self.impair_stop()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.made = []


class NsAgent(net.Agent):
    """outpostd of a node, run in the node's namespace and listening on its address there."""

    def __init__(self, node, ns, args=()):  # pylint: disable=super-init-not-called
        self.node = node
        self.t = node.t
        self.log_path = os.path.join(self.t.tmp, "%s.agent.log" % node.name)
        with open(self.log_path, "ab") as f:
            f.write(("---- %s start in %s (listen %s)\n" % (
                time.strftime("%H:%M:%S"), ns, node.addr)).encode())
            self.mark = f.tell()
        self.argv = ["ip", "netns", "exec", ns, net.OUTPOSTD, "--dir", node.dir, "--listen",
                     node.addr] + list(args)
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=self._logf, env=net._env(self.t.tmp), cwd=self.t.tmp)
        self.started = time.monotonic()
        self.returncode = None
        self.t.agents.append(self)
        self.wait_log(r"listening on %s" % re.escape(node.addr), 20,
                      "outpostd of %s listening" % node.name)


class NetTest(net.IntegTest):
    """Base class: a topology per test (torn down at the end, also on failure), nodes whose
    agents run in their namespaces, and the measurements shared by the profiles."""

    topo = None

    def make_team(self, workers, peers_among_workers=False):
        """Office plus `workers` workers, each in its namespace; every worker joined (invite
        naming the office's namespace address). Agents not started."""
        names = ["office"] + ["w%d" % (i + 1) for i in range(workers)]
        self.topo = Topo(names)
        self.addCleanup(self.topo.close)
        office = self.node("office", office=True)
        self._place(office)
        ws = []
        for i in range(workers):
            w = self.node("w%d" % (i + 1), site="Site %d" % (i + 1))
            self._place(w)
            w.join(office)
            ws.append(w)
        if peers_among_workers:
            for w in ws:
                for o in ws:
                    if o is not w:
                        w.peers_add(o.addr, o.key)
        return office, ws

    def _place(self, node):
        node.ns = self.topo.ns[node.name]
        node.port = PORT
        node.addr = "%s:%d" % (self.topo.ip[node.name], PORT)

    def start_agent(self, node):
        node.agent = NsAgent(node, node.ns)
        return node.agent

    # --- observations (the SQLite files, read-only: safe while the agents run)
    @staticmethod
    def heads(node):
        """{author key (bytes): head seq} of every log the node holds."""
        return {bytes(k): s for k, s in node.sql("SELECT key, head_seq FROM authors"
                                                 " WHERE head_seq > 0")}

    @staticmethod
    def entry_bytes(node, authors=None):
        """Bytes of the entries (envelope + body) the node holds, of `authors` (keys) or all."""
        rows = node.sql("SELECT a.key, sum(length(e.envelope) + coalesce(length(e.body), 0))"
                        " FROM entries e JOIN authors a ON a.id = e.author GROUP BY a.key")
        return sum(n for k, n in rows if authors is None or bytes(k) in authors)

    def heads_reached(self, node, want):
        """True when node holds at least `want` ({author: seq})."""
        h = self.heads(node)
        return all(h.get(a, 0) >= s for a, s in want.items())

    def wait_heads(self, nodes, want, timeout, what):
        t0 = time.monotonic()
        self.wait_until(lambda: all(self.heads_reached(n, want) for n in nodes), timeout,
                        what, diag=lambda: self.diag_nodes(nodes), every=0.25)
        return time.monotonic() - t0

    def wait_same_heads(self, nodes, timeout, what):
        """Waits until every node holds the same per-author heads; returns the seconds."""
        t0 = time.monotonic()

        def same():
            hs = [self.heads(n) for n in nodes]
            return all(h == hs[0] for h in hs)

        self.wait_until(same, timeout, what, diag=lambda: self.diag_nodes(nodes), every=0.25)
        return time.monotonic() - t0

    def tcp_baseline(self, senders, office, share, timeout, during=None):
        """The plain TCP transfer of the same bytes over the same path: every sender in
        `senders` sends share[name] bytes to a receiver in the office's namespace at once.
        `during`, if given, is called repeatedly while it runs (e.g. to flap the link).
        Returns (seconds, bytes, office-link wire bytes (to the office, from it))."""
        port = PORT + 1
        rx = self.topo.popen(office.ns, [PY, BULK, "recv", self.topo.ip["office"], port,
                                         len(senders)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(rx.stdout.readline().decode().strip(), "listening")
        c0 = self.topo.counters("office")
        t0 = time.monotonic()
        txs = [self.topo.popen(w.ns, [PY, BULK, "send", self.topo.ip["office"], port,
                                      share[w.name]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for w in senders]
        deadline = t0 + timeout * net.SCALE
        while rx.poll() is None:
            if time.monotonic() > deadline:
                rx.kill()
                self.fail("the TCP baseline did not finish within %.0f s" % timeout)
            if during:
                during(time.monotonic() - t0)
            time.sleep(0.05)
        secs = time.monotonic() - t0
        c1 = self.topo.counters("office")
        doc = json.loads(rx.stdout.read().decode())
        for t in txs:
            t.wait(30)
        self.assertEqual(doc["bytes"], sum(share[w.name] for w in senders),
                         "the TCP baseline lost bytes")
        return secs, doc["bytes"], (c1[0] - c0[0], c1[1] - c0[1])


def received_twice(nodes):
    """(entries received although already held, links made), summed over the nodes' agent
    logs (each link logs what it carried when it closes; see agent/node.c)."""
    again = links = 0
    for n in nodes:
        text = n.agent.text()
        again += sum(int(m) for m in re.findall(
            r"link to \S+ carried: sent \d+ entries, received \d+ new and (\d+) already held",
            text))
        links += len(re.findall(r"connected to \S+ at", text))
    return again, links


def kbit(nbytes, secs):
    return nbytes * 8 / 1000.0 / secs if secs > 0 else float("inf")


def report(name, **fig):
    """One line of figures (FIGURES name: k=v ...), easy to grep from ctest -V output."""
    log("FIGURES %s: %s" % (name, " ".join("%s=%s" % (k, ("%.1f" % v) if isinstance(v, float)
                                                         else v) for k, v in fig.items())))


def main():
    skip_unless_possible()
    net.main()


class BulkProfile(NetTest):
    """B3/B4 shape: workers that wrote offline, then the link: an office and `workers` workers,
    each holding `per_worker` entries the office lacks (its own check-ins plus the log of a
    colleague it carries, made by `outpost-bench gen`, sealed to the office), agents started
    over the impaired network. Measures, in this order on the same network:

      1. the plain TCP baseline: each worker sends its share (the entry bytes it holds that the
         office lacks) to the office's namespace at once, one TCP connection each;
      2. the sync: agents started (office first), time until the office holds every worker's
         entries (t_office: B3's "converge at the office") and until every node holds the
         same per-author heads (t_all; the office also relays each worker's entries to the
         others, so twice as much leaves the office as reaches it);
    then checks every node holds the same entries byte for byte, `outpost verify` passes on
    each, and no agent reported a sanitizer error; the agents stop cleanly and their per-link
    counters give the entries received twice (resends after a cut)."""

    OWN = 10  # own check-ins per worker (real `outpost checkin`), the rest generated

    def bulk_run(self, label, workers, per_worker, deadline, impair=None, rate_kbit=None,
                 seed=1):
        office, ws = self.make_team(workers)
        rng = self.rng
        for w in ws:
            w.gen(per_worker - self.OWN - 2, 1, seed=rng.randrange(1, 1 << 30), office=office)
            for j in range(self.OWN):
                w.checkin(note="%s offline %d" % (w.name, j))
        if impair:
            self.topo.impair_start(*impair, seed=seed)
        if rate_kbit:
            self.topo.rate("office", rate_kbit)
        oh = self.heads(office)
        want, share = {}, {}
        for w in ws:
            h = self.heads(w)
            lacks = set(h) - set(oh)
            want.update({a: h[a] for a in lacks})
            share[w.name] = self.entry_bytes(w, lacks)
        entries = sum(want.values())
        payload = sum(share.values())
        net.log("%s: %d workers, %d entries (%d bytes of entries) the office lacks" % (
            label, workers, entries, payload))

        tcp_s, _, tcp_wire = self.tcp_baseline(ws, office, share, deadline)
        net.log("TCP baseline: %d bytes in %.1f s (%.0f kbit/s)" % (payload, tcp_s,
                                                                   kbit(payload, tcp_s)))
        self.start_agent(office)
        c0 = self.topo.counters("office")
        t0 = time.monotonic()
        for w in ws:
            self.start_agent(w)
        self.wait_heads([office], want, deadline, "%s: the office holds every worker's "
                        "entries" % label)
        t_office = time.monotonic() - t0
        c1 = self.topo.counters("office")
        nodes = [office] + ws
        self.wait_same_heads(nodes, deadline, "%s: every node holds the same heads" % label)
        t_all = time.monotonic() - t0
        c2 = self.topo.counters("office")
        self.assert_same_hashes(nodes)
        for n in nodes:
            n.verify()
        for w in ws:
            w.stop()
        office.stop()
        again, links = received_twice(nodes)
        self.assertLessEqual(again, Churn.BATCH * max(links, 1),
                             "%d entries received twice over %d links: a resumed sync re-sent "
                             "more than a batch per link" % (again, links))
        imp = self.topo.impair_stop()
        if imp:
            net.log(imp)
        fig = dict(entries=entries, payload_bytes=payload, t_office_s=t_office, t_all_s=t_all,
                   wire_to_office=c1[0] - c0[0], wire_to_office_all=c2[0] - c0[0],
                   wire_from_office=c2[1] - c0[1],
                   sync_kbit=kbit(payload, t_office), tcp_s=tcp_s,
                   tcp_kbit=kbit(payload, tcp_s), tcp_wire_to_office=tcp_wire[0],
                   ratio=(tcp_s / t_office), links=links, received_twice=again)
        report(label, **fig)
        return fig


class Churn(NetTest):
    """B5/B6 shape: a link that changes under the agents while everyone keeps writing.

    Each worker starts with a backlog the office lacks (a colleague's log, `outpost-bench
    gen`). `schedule` is a list of (second, state) and `apply(state)` puts a state on the
    network (a link down or up, a partition); the same schedule, from its own start, runs
    twice in the same run:

      1. under the plain TCP baseline: each worker sends its backlog's bytes to the office;
      2. under the agents, for `duration` seconds, while a random node (office or worker)
         writes a check-in about every second (`outpost checkin --json`: an acknowledged
         append, recorded with its author, seq and note).

    Then the network heals (the last state of a schedule is the healed one) and the test waits
    until every node holds the same per-author heads, including every acknowledged append;
    then checks, on every node: the same entries byte for byte, each acknowledged append
    present once at its (author, seq) with the author's own hash, no gap in any log (count =
    head), `outpost verify` clean; at the office (which reads every body) each author's
    acknowledged notes in seq order, in the order they were acknowledged (Elle-style
    list-append). The agents stop cleanly and their per-link counters give the entries that
    were received twice: in a star (`resend_bound`), a resumed sync re-sends at most one batch
    (256 entries) per link. In a mesh (P4) a node also gets the same entries from several peers
    at once (each relays what it stores at once): that is reported, not bounded."""

    BATCH = 256

    def churn_run(self, label, workers, backlog, duration, schedule, apply, rate_kbit=None,
                  peers_among_workers=False, deadline=300, resend_bound=True, loss_permille=0):
        office, ws = self.make_team(workers, peers_among_workers)
        nodes = [office] + ws
        rng = self.rng
        for w in ws:
            w.gen(backlog, 1, seed=rng.randrange(1, 1 << 30), office=office)
        if rate_kbit:
            for n in nodes:
                self.topo.rate(n.name, rate_kbit)
        if loss_permille:
            self.topo.loss(loss_permille)
            net.log("nft: %.1f %% of forwarded packets dropped at random" % (loss_permille / 10))
        oh = self.heads(office)
        want, share = {}, {}
        for w in ws:
            h = self.heads(w)
            lacks = set(h) - set(oh)
            want.update({a: h[a] for a in lacks})
            share[w.name] = self.entry_bytes(w, lacks)
        payload = sum(share.values())
        net.log("%s: %d nodes, backlog %d entries (%d bytes) the office lacks; %d s of churn"
                % (label, len(nodes), sum(want.values()), payload, duration))

        state = {"cur": object()}

        def step(elapsed):
            s = None
            for t, st in schedule:
                if t <= elapsed:
                    s = st
            if s != state["cur"]:
                state["cur"] = s
                apply(s)

        tcp_s, _, _ = self.tcp_baseline(ws, office, share, deadline + duration, during=step)
        apply(schedule[-1][1])
        state["cur"] = object()
        net.log("TCP baseline under the same schedule: %d bytes in %.1f s" % (payload, tcp_s))

        self.start_agent(office)
        for w in ws:
            self.start_agent(w)
        t0 = time.monotonic()
        acked = []            # (author key b64, seq, note)
        t_backlog = None
        next_write = 0.5
        k = 0
        while True:
            el = time.monotonic() - t0
            if el >= duration:
                break
            step(el)
            if el >= next_write:
                n = rng.choice(nodes)
                note = "%s append %d" % (n.name, k)
                doc = n.ok_json("checkin", "--delivering", "yes", "--thriving", "yes",
                                "--support", "yes", "--energy", "3", "--note", note)
                acked.append((doc["author"], doc["seq"], note))
                k += 1
                next_write = el + rng.uniform(0.5, 1.5)
            if t_backlog is None and self.heads_reached(office, want):
                t_backlog = el
            time.sleep(0.2)
        step(duration + 1e9)  # the healed state
        t_heal = time.monotonic()
        oh_heal = self.heads(office)
        t_first = None
        expect = {}
        for a, s, _ in acked:
            expect[base64.b64decode(a)] = max(expect.get(base64.b64decode(a), 0), s)
        expect.update(want)

        def converged():
            nonlocal t_first, t_backlog
            h = self.heads(office)
            now = time.monotonic()
            if t_first is None and h != oh_heal:
                t_first = now - t_heal
            if t_backlog is None and all(h.get(a, 0) >= s for a, s in want.items()):
                t_backlog = now - t0
            hs = [h] + [self.heads(n) for n in ws]
            return (all(x == hs[0] for x in hs)
                    and all(h.get(a, 0) >= s for a, s in expect.items()))

        self.wait_until(converged, deadline, "%s: convergence after the heal" % label,
                        diag=lambda: self.diag_nodes(nodes), every=0.25)
        t_conv = time.monotonic() - t_heal
        self.check_appends(nodes, acked)
        for n in nodes:
            n.stop()
        again, links = received_twice(nodes)
        if resend_bound:
            self.assertLessEqual(again, self.BATCH * max(links, 1),
                                 "%d entries received twice over %d links: a resumed sync re-sent "
                                 "more than a batch per link" % (again, links))
        fig = dict(appends=len(acked), backlog_bytes=payload,
                   t_backlog_s=t_backlog if t_backlog is not None else "none",
                   sync_kbit=kbit(payload, t_backlog) if t_backlog else 0.0,
                   tcp_s=tcp_s, tcp_kbit=kbit(payload, tcp_s),
                   t_first_after_heal_s=t_first if t_first is not None else "none",
                   t_converge_after_heal_s=t_conv, links=links, received_twice=again)
        report(label, **fig)
        return fig

    def check_appends(self, nodes, acked):
        own = {}      # author b64 -> {(author, seq): hash} from the author's own store
        for n in nodes:
            own[n.key] = n.hashes()
        office = nodes[0]
        held = {n.name: n.hashes() for n in nodes}
        self.assert_same_hashes(nodes)
        for n in nodes:
            n.verify()
            gaps = n.sql("SELECT a.key, a.head_seq, count(e.id) FROM authors a LEFT JOIN entries"
                         " e ON e.author = a.id GROUP BY a.id HAVING count(e.id) != a.head_seq")
            self.assertEqual(gaps, [], "%s: a log with a gap or a duplicate" % n.name)
            for a, s, note in acked:
                self.assertIn((a, s), held[n.name], "%s lacks the acknowledged append %r" % (
                    n.name, (a[:8], s, note)))
                self.assertEqual(held[n.name][(a, s)], own[a][(a, s)],
                                 "%s holds another entry at %s:%d" % (n.name, a[:8], s))
        by_author = {}
        for a, s, note in acked:
            by_author.setdefault(a, []).append((s, note))
        for a, appends in by_author.items():
            seqs = [s for s, _ in appends]
            self.assertEqual(seqs, sorted(set(seqs)), "acknowledged seqs of %s not increasing"
                             % a[:8])
            bodies = {e["seq"]: (e["body"] or {}).get("note")
                      for e in office.log("--author", a, "--kind", "checkin")}
            self.assertEqual([bodies.get(s) for s, _ in appends], [n for _, n in appends],
                             "the office reads %s's appends out of order or changed" % a[:8])
