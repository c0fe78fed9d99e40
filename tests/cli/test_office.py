"""outpost team and outpost alerts (SPEC §9): the office's two views, on a real team.

One scenario is built once (setUpClass) with real nodes: an office and workers that joined
through invite/join, their entries carried by `outpost sync --once --peer` to a listening
outpostd (the office's, or a colleague's that relays), every clock fixed with OUTPOST_NOW:

  ann  healthy: six check-ins, energy rising, KPIs met (sum, mean and last value), a contact
  bob  overdue, said no to all three questions twice, KPIs below target (a sum and a last)
  cid  joined a month ago and was never heard of again: silent, overdue, no contact
  dan  clock two hours ahead, syncing straight to the office (skew at the handshake)
  ivy  clock two hours ahead, her entries relayed by ann (skew shown by receive times)
  eve  revoked; then connected to the office, and had ann offer her new entries
  fay  her node copied to a second machine that wrote other entries with the same seqs (fork;
       the evidence is written as ingest writes it, see Team.fork_evidence)
  hal  joined two days ago, a 60-character name, nothing to report yet

Contacts are written straight into the office's contacts table while `outpost contact` does
not exist (the projection is what the queries read). Every alert kind is checked for where it
must appear and where it must not; the thresholds by flag and by setting; team's JSON shape and
its 80-column table.
"""
import base64
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import unittest

import clitest
from clitest import CliTest

OUTPOSTD = os.path.join(os.path.dirname(os.path.abspath(clitest.BIN)), "outpostd")
NOW = datetime.datetime(2026, 11, 25, 9, 30, tzinfo=datetime.timezone.utc)  # clitest.NOW
SETUP = NOW - datetime.timedelta(days=30)
LONG_NAME = "Halvard Bjørnstjerne Christoffersen-Vasquez de la Montagne X"  # 60 characters
SANITIZER = re.compile(r"(AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer)")


def t(days=0, hours=0, minutes=0, base=NOW):
    return base + datetime.timedelta(days=days, hours=hours, minutes=minutes)


def iso(when):
    """How OUTPOST_NOW is given."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def js(when):
    """How the JSON outputs spell a time."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def ms(when):
    return int(when.timestamp() * 1000)


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Team:
    """The nodes of the scenario under one root, and the commands that build it."""

    def __init__(self, root):
        self.root = root
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.path.join(root, "home"),
            "LANG": "C.UTF-8",
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                self.env[k] = os.environ[k]
        self.keys = {}

    def dir(self, name):
        return os.path.join(self.root, name)

    def run(self, name, when, *args, ok=True):
        e = dict(self.env, OUTPOST_NOW=iso(when))
        p = subprocess.run([clitest.BIN, "--dir", self.dir(name)] + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=clitest.TIMEOUT)
        out, err = p.stdout.decode(), p.stderr.decode()
        if SANITIZER.search(err):
            raise AssertionError("sanitizer report in outpost %s: %s" % (args, err))
        if ok and p.returncode != 0:
            raise AssertionError("outpost --dir %s %s -> exit %d\n%s%s" % (
                name, " ".join(map(str, args)), p.returncode, out, err))
        return p.returncode, out, err

    def init(self, name, when, office=False):
        args = ["init", "--name", name, "--json"] + (["--office"] if office else [])
        self.keys[name] = json.loads(self.run(name, when, *args)[1])["key"]

    def join(self, name, when, invite_name=None):
        """A worker: init, the office's invite, join with the code."""
        self.init(name, when)
        code = json.loads(self.run("office", when, "invite", "--name", invite_name or name,
                                   "--site", "Site " + name, "--json")[1])["code"]
        self.run(name, when, "join", code)

    # --- agents

    def start(self, name, when):
        """outpostd for name listening on a free port with its clock at when; returns it."""
        port = free_port()
        log = open(os.path.join(self.root, "%s.agent.log" % name), "ab")
        mark = log.tell()
        p = subprocess.Popen([OUTPOSTD, "--dir", self.dir(name), "--listen",
                              "127.0.0.1:%d" % port], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, env=dict(self.env, OUTPOST_NOW=iso(when)))
        deadline = time.monotonic() + 30
        while True:
            with open(log.name, "rb") as f:
                f.seek(mark)
                if b"listening on" in f.read():
                    break
            if p.poll() is not None or time.monotonic() > deadline:
                p.kill()
                raise AssertionError("outpostd of %s did not start" % name)
            time.sleep(0.02)
        return {"proc": p, "log": log, "addr": "127.0.0.1:%d" % port, "name": name, "mark": mark}

    def stop(self, agent):
        agent["proc"].send_signal(signal.SIGTERM)
        try:
            code = agent["proc"].wait(30)
        except subprocess.TimeoutExpired:
            agent["proc"].kill()
            raise AssertionError("outpostd of %s did not stop" % agent["name"])
        agent["log"].close()
        with open(agent["log"].name, "rb") as f:
            f.seek(agent["mark"])
            text = f.read().decode("utf-8", "replace")
        if code != 0 or SANITIZER.search(text):
            raise AssertionError("outpostd of %s: exit %d\n%s" % (agent["name"], code, text))
        return text

    def sync(self, name, agent, when, ok=True):
        """`outpost sync --once --peer` from name to a listening agent, name's clock at when."""
        return self.run(name, when, "sync", "--once", "--peer", agent["addr"], ok=ok)

    # --- records

    def checkin(self, name, when, answer="yes", energy=3, note=None):
        args = ["checkin", "--delivering", answer, "--thriving", answer, "--support", answer,
                "--energy", energy]
        self.run(name, when, *(args + (["--note", note] if note else [])))

    def kpi(self, name, when, kpi, value, at):
        self.run(name, when, "kpi", "record", kpi, value, "--at", at)

    def fork_evidence(self, name, when):
        """The office keeps, as fork evidence, name's first entry that differs from the one it
        holds at that seq. Sync cannot deliver it here: the copy's run starts above the seq
        the office holds, so it is refused as not extending the log (OP_E_CHAIN) and no
        overlapping entry is ever compared; the evidence is written as ingest would write
        it, from the copy's real entry."""
        mine = sqlite3.connect(os.path.join(self.dir(name), "outpost.db"))
        con = sqlite3.connect(os.path.join(self.dir("office"), "outpost.db"))
        try:
            key = base64.b64decode(self.keys[name])
            (aid,) = con.execute("SELECT id FROM authors WHERE key = ?", (key,)).fetchone()
            held = dict(con.execute("SELECT seq, hash FROM entries WHERE author = ?", (aid,)))
            for seq, h, env, body in mine.execute(
                    "SELECT e.seq, e.hash, e.envelope, e.body FROM entries e JOIN authors a"
                    " ON a.id = e.author WHERE a.key = ? ORDER BY e.seq", (key,)):
                if seq in held and held[seq] != h:
                    con.execute("INSERT INTO forks(author, seq, envelope, body, received)"
                                " VALUES(?, ?, ?, ?, ?)", (aid, seq, env, body, ms(when)))
                    con.commit()
                    return seq
            raise AssertionError("%s's log does not contradict the office's" % name)
        finally:
            mine.close()
            con.close()

    def contact(self, name, when):
        """The leader's contact with name, written by the office at when."""
        code = subprocess.run([clitest.BIN, "contact", "--help"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=self.env).returncode
        if code == 0:
            self.run("office", when, "contact", self.keys[name], "--topic", "wellbeing")
            return
        con = sqlite3.connect(os.path.join(self.dir("office"), "outpost.db"))
        try:
            (aid,) = con.execute("SELECT id FROM authors WHERE key = (SELECT v FROM meta"
                                 " WHERE k = 'key')").fetchone()
            n = con.execute("SELECT count(*) FROM contacts").fetchone()[0] + 1
            seq = (1 << 31) + n  # beyond any real seq of the office's log
            con.execute("INSERT INTO contacts(id, author, seq, ts, with_key, topic) VALUES"
                        "(?, ?, ?, ?, ?, 'wellbeing')", ((aid << 32) | seq, aid, seq, ms(when),
                                                         base64.b64decode(self.keys[name])))
            con.commit()
        finally:
            con.close()


def build(team):
    office = "office"
    # A month ago: the office, its KPIs, and seven workers who join and sync at once.
    team.init(office, t(hours=-1, base=SETUP), office=True)
    team.run(office, SETUP, "kpi", "define", "articles", "--target", 3, "--unit", "articles")
    team.run(office, SETUP, "kpi", "define", "csat", "--target", 90, "--unit", "%")
    r = team.run(office, SETUP, "kpi", "define", "--help")
    last = ["--aggregate", "last"] if "--aggregate" in r[1] else []
    team.run(office, SETUP, "kpi", "define", "backlog", "--target", 5, "--unit", "tickets",
             "--direction", "at_most", "--period", "month", *last)
    if not last:  # this build's kpi define sets no aggregate: as a definition with "last" would
        con = sqlite3.connect(os.path.join(team.dir(office), "outpost.db"))
        con.execute("UPDATE kpi_defs SET aggregate = 'last' WHERE kpi = 'backlog'")
        con.commit()
        con.close()
    workers = ["ann", "bob", "cid", "dan", "eve", "fay", "ivy"]
    for w in workers:
        team.join(w, SETUP)
    a = team.start(office, SETUP)
    for w in workers:
        team.sync(w, a, SETUP)
    team.stop(a)
    shutil.copytree(team.dir("fay"), team.dir("fay2"))  # the same key on a second machine
    team.keys["fay2"] = team.keys["fay"]

    # eve is revoked five days ago; two days ago she connects anyway, and hal joins.
    team.run(office, t(days=-5), "revoke", team.keys["eve"])
    team.checkin("eve", t(days=-2), note="after revocation")
    team.join("hal", t(days=-2), invite_name=LONG_NAME)
    a = team.start(office, t(days=-2))
    team.sync("hal", a, t(days=-2))
    team.sync("eve", a, t(days=-2), ok=False)  # refused after the handshake
    team.stop(a)

    # Written offline.
    for i, e in enumerate([2, 2, 2, 4, 4, 5]):
        team.checkin("ann", t(days=i - 6), energy=e)
    team.kpi("ann", t(days=-3), "articles", 2, "2026-11-17")
    team.kpi("ann", t(days=-3), "articles", 2, "2026-11-20")
    team.kpi("ann", t(days=-3), "csat", 95, "2026-11-17")
    team.kpi("ann", t(days=-3), "csat", 85, "2026-11-20")
    team.kpi("ann", t(days=-3), "backlog", 9, "2026-10-05")
    team.kpi("ann", t(days=-3), "backlog", 4, "2026-10-28")
    team.kpi("ann", t(days=-1), "articles", 1, "2026-11-24")
    team.checkin("bob", t(days=-12), energy=4)
    team.checkin("bob", t(days=-11), answer="no", energy=2)
    team.checkin("bob", t(days=-10), answer="no", energy=1, note="rough week")
    team.kpi("bob", t(days=-10), "articles", 1, "2026-11-18")
    team.kpi("bob", t(days=-10), "backlog", 8, "2026-10-20")
    team.kpi("bob", t(days=-10), "backlog", 7, "2026-10-20")  # the last one of that day counts
    for w in ("dan", "ivy"):
        team.kpi(w, t(days=-6), "articles", 3, "2026-11-18")
        team.checkin(w, t(hours=1))  # two hours ahead of the office (NOW - 1 h)
    team.checkin("fay", t(days=-2), note="from the laptop")
    team.checkin("fay2", t(days=-2), note="from the copy")

    # ann's agent relays for eve (revoked: ann does not know yet) and for ivy.
    a = team.start("ann", t(hours=-2))
    team.sync("eve", a, t(hours=-2))
    team.sync("ivy", a, t(hours=1))
    team.stop(a)

    # An hour ago the office hears from the rest.
    a = team.start(office, t(hours=-1))
    team.sync("ann", a, t(hours=-1))
    team.sync("bob", a, t(hours=-1))
    team.sync("dan", a, t(hours=1))  # its clock two hours ahead
    team.sync("fay", a, t(hours=-1))
    team.sync("fay2", a, t(hours=-1), ok=False)  # a log that contradicts fay's: refused
    team.stop(a)
    team.fork_evidence("fay2", t(hours=-1))

    team.contact("ann", t(days=-2))
    team.contact("bob", t(days=-5))
    team.contact("dan", t(days=-3))
    team.contact("ivy", t(days=-3))


EXPECTED = {
    ("bob", "overdue_checkin"), ("bob", "not_thriving"), ("bob", "no_support"),
    ("bob", "not_delivering"), ("bob", "kpi_below_target"),
    ("cid", "silent"), ("cid", "overdue_checkin"), ("cid", "no_contact"),
    ("cid", "kpi_below_target"),
    ("dan", "clock_skew"), ("ivy", "clock_skew"),
    ("eve", "revoked_activity"),
    ("fay", "fork"), ("fay", "no_contact"), ("fay", "kpi_below_target"),
}


class OfficeTest(CliTest):
    team = None

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="outpost-office-")
        os.makedirs(os.path.join(cls.root, "home"))
        cls.team = Team(cls.root)
        t0 = time.monotonic()
        try:
            build(cls.team)
        except BaseException:
            print("scenario kept in %s" % cls.root)
            raise
        print("scenario built in %.1f s" % (time.monotonic() - t0))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.dir = self.team.dir("office")
        self.keys = self.team.keys

    # --- helpers

    def office_copy(self):
        """A copy of the office's node to change (the scenario is shared by the tests)."""
        d = os.path.join(self.tmp, "office")
        shutil.copytree(self.team.dir("office"), d)
        return d

    def alerts(self, *args, dir=True, code=1):
        r = self.run_cli("alerts", "--json", *args, dir=dir)
        self.assertEqual(r.code, code, r)
        self.assertNotIn("Sanitizer", r.err, r)
        doc = r.json()
        self.assertIsInstance(doc, list)
        for a in doc:
            self.assertEqual(set(a), {"kind", "key", "name", "since", "detail"}, a)
        return doc

    def who(self, doc):
        """{(worker, kind)} of an alerts document, by the scenario's names."""
        names = {v: k for k, v in self.keys.items() if k != "fay2"}
        return {(names[a["key"]], a["kind"]) for a in doc}

    def find(self, doc, name, kind):
        hits = [a for a in doc if a["key"] == self.keys[name] and a["kind"] == kind]
        self.assertTrue(hits, "no %s alert for %s in %s" % (kind, name, doc))
        return hits

    def team_json(self):
        doc = self.ok_json("team")
        return doc, {m["key"]: m for m in doc}

    # --- alerts

    def test_every_kind_where_it_belongs_and_nowhere_else(self):
        doc = self.alerts()
        self.assertEqual(self.who(doc), EXPECTED)
        kinds = {a["kind"] for a in doc}
        self.assertEqual(kinds, {"overdue_checkin", "not_thriving", "no_support",
                                 "not_delivering", "kpi_below_target", "silent", "no_contact",
                                 "fork", "revoked_activity", "clock_skew"})
        names = {v: k for k, v in self.keys.items() if k != "fay2"}
        for a in doc:  # names, and a since that is a time and not in the future
            self.assertEqual(a["name"], names[a["key"]])
            self.assertRegex(a["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertLessEqual(a["since"], js(NOW), a)
            self.assertTrue(a["detail"], a)

    def test_since_and_detail(self):
        doc = self.alerts()
        (a,) = self.find(doc, "bob", "overdue_checkin")
        self.assertEqual(a["since"], js(t(days=-3)))  # last check-in 10 days ago + 7
        self.assertIn("10 days", a["detail"])
        for kind in ("not_thriving", "no_support", "not_delivering"):
            (a,) = self.find(doc, "bob", kind)
            self.assertEqual(a["since"], js(t(days=-11)), a)  # the first of two no's
            self.assertIn("last 2 check-ins", a["detail"])
        kpis = sorted(self.find(doc, "bob", "kpi_below_target"), key=lambda a: a["detail"])
        self.assertEqual(len(kpis), 2, kpis)
        self.assertIn("articles 1 of 3 in 2026-W47 (33%)", kpis[0]["detail"])
        self.assertEqual(kpis[0]["since"], "2026-11-23T00:00:00.000Z")  # when the week closed
        self.assertIn("backlog 7, at most 5, in 2026-10", kpis[1]["detail"])  # the last value
        self.assertEqual(kpis[1]["since"], "2026-11-01T00:00:00.000Z")
        (a,) = self.find(doc, "cid", "silent")
        self.assertEqual(a["since"], js(t(days=3, base=SETUP)))
        (a,) = self.find(doc, "cid", "overdue_checkin")  # never checked in: from admission
        self.assertEqual(a["since"], js(t(days=7, base=SETUP)))
        self.assertIn("since joining 30 days ago", a["detail"])
        (a,) = self.find(doc, "cid", "no_contact")
        self.assertEqual(a["since"], js(t(days=14, base=SETUP)))
        (a,) = self.find(doc, "cid", "kpi_below_target")
        self.assertIn("articles: nothing in 2026-W47", a["detail"])
        (a,) = self.find(doc, "dan", "clock_skew")  # measured at the handshake
        self.assertEqual(a["since"], js(t(hours=-1)))
        self.assertIn("ahead 120 min", a["detail"])
        (a,) = self.find(doc, "ivy", "clock_skew")  # shown by when her entries arrived
        self.assertEqual(a["since"], js(t(hours=-1)))
        self.assertIn("ahead by 120+ min", a["detail"])
        eve = sorted(self.find(doc, "eve", "revoked_activity"), key=lambda a: a["since"])
        self.assertEqual([a["since"] for a in eve], [js(t(days=-2)), js(t(hours=-1))])
        self.assertIn("connected 1 time after revocation", eve[0]["detail"])
        self.assertIn("entries offered", eve[1]["detail"])
        (a,) = self.find(doc, "fay", "fork")
        self.assertEqual(a["since"], js(t(hours=-1)))
        self.assertIn("seq", a["detail"])

    def test_most_urgent_first(self):
        order = [a["kind"] for a in self.alerts()]
        rank = ["revoked_activity", "fork", "not_thriving", "no_support", "silent",
                "overdue_checkin", "not_delivering", "kpi_below_target", "no_contact",
                "clock_skew"]
        self.assertEqual(order, sorted(order, key=rank.index))

    def test_thresholds_by_flag(self):
        base = self.who(self.alerts())
        cases = [
            (["--overdue-days", "11"], {("bob", "overdue_checkin")}),
            (["--overdue-days", "31"], {("bob", "overdue_checkin"), ("cid", "overdue_checkin")}),
            (["--silent-days", "31"], {("cid", "silent")}),
            (["--no-contact-days", "31"], {("cid", "no_contact"), ("fay", "no_contact")}),
            (["--skew-minutes", "121"], {("dan", "clock_skew"), ("ivy", "clock_skew")}),
        ]
        for args, gone in cases:
            with self.subTest(args=args):
                self.assertEqual(self.who(self.alerts(*args)), base - gone)
        # lower thresholds find more: bob's contact five days ago, ann's two days ago
        more = self.who(self.alerts("--no-contact-days", "4"))
        self.assertEqual(more - base, {("bob", "no_contact")})
        more = self.who(self.alerts("--silent-days", "1", "--overdue-days", "1"))
        self.assertIn(("hal", "overdue_checkin"), more)  # joined two days ago, no check-in
        self.assertIn(("hal", "silent"), more)
        self.assertNotIn(("ann", "overdue_checkin"), more)  # one day ago: not over one day

    def test_thresholds_by_setting(self):
        self.dir = self.office_copy()
        r = self.ok("alerts", "--set", "overdue-days=11", "--set", "skew-minutes=121")
        self.assertIn("overdue-days", r.out)
        doc = self.ok_json("alerts", "--set", "silent-days=31")
        self.assertEqual(doc, {"overdue-days": 11, "silent-days": 31, "no-contact-days": 14,
                               "skew-minutes": 121})
        got = self.who(self.alerts())
        self.assertEqual(got, EXPECTED - {("bob", "overdue_checkin"), ("dan", "clock_skew"),
                                          ("ivy", "clock_skew"), ("cid", "silent")})
        # a flag still wins for one run
        self.assertIn(("bob", "overdue_checkin"), self.who(self.alerts("--overdue-days", "7")))
        doc = self.ok_json("alerts", "--set", "overdue-days=", "--set", "silent-days=",
                           "--set", "skew-minutes=")
        self.assertEqual(doc["overdue-days"], 7)
        self.assertEqual(self.who(self.alerts()), EXPECTED)

    def test_a_good_handshake_clears_the_skew_shown_by_entries(self):
        # ivy connects herself, her clock now right: the newer measurement wins.
        team = Team(self.tmp)
        team.keys = dict(self.keys)
        for n in ("office", "ivy"):
            shutil.copytree(self.team.dir(n), team.dir(n))
        os.makedirs(os.path.join(self.tmp, "home"), exist_ok=True)
        a = team.start("office", t(minutes=-30))
        team.sync("ivy", a, t(minutes=-30))
        team.stop(a)
        self.dir = team.dir("office")
        self.assertEqual(self.who(self.alerts()), EXPECTED - {("ivy", "clock_skew")})

    def test_people_output(self):
        r = self.run_cli("alerts")
        self.assertEqual(r.code, 1, r)
        lines = r.out.splitlines()
        self.assertTrue(lines[0].startswith("ALERT"), r.out)
        self.assertEqual(len(lines), 1 + len(self.alerts()), r.out)
        for line in lines:
            self.assertLessEqual(len(line), 80, line)
        self.assertIn("not_thriving", r.out)
        self.assertIn("11 d ago", r.out)  # bob has not been thriving since 11 days ago
        self.assertEqual(r.err, "")

    def test_bad_flags(self):
        for args, word in [(["--overdue-days", "0"], "overdue-days"),
                           (["--silent-days", "x"], "silent-days"),
                           (["--skew-minutes", "-1"], "skew-minutes"),
                           (["--set", "nope=3"], "NAME"),
                           (["--set", "overdue-days=0"], "overdue-days"),
                           (["--set", "overdue-days"], "NAME"),
                           (["--set", "overdue-days=3", "--silent-days", "2"], "--set"),
                           (["extra"], "extra")]:
            with self.subTest(args=args):
                self.assert_error(self.run_cli("alerts", *args), 2, word)
        self.assert_error(self.run_cli("team", "extra"), 2, "extra")
        self.assert_error(self.run_cli("team", "--period", "2026-W47"), 2, "--period")
        r = self.ok("alerts", "--help")
        for word in ("overdue-days", "--set", "clock_skew", "revoked_activity", "exit status 1"):
            self.assertIn(word.lower(), r.out.lower())

    # --- team

    def test_team_json(self):
        doc, by = self.team_json()
        keys = self.keys
        self.assertEqual(len(doc), 8, doc)
        self.assertEqual(doc[-1]["key"], keys["eve"], "revoked members come last")
        for m in doc:
            for k in ("key", "name", "site", "last_checkin", "checkins", "thriving", "support",
                      "delivering", "last_seen", "kpis", "kpis_last_period", "energy_trend",
                      "last_contact", "revoked"):
                self.assertIn(k, m)
            for kpi in m["kpis"] + m["kpis_last_period"]:
                self.assertTrue({"id", "value", "target", "attainment"} <= set(kpi), kpi)
        ann = by[keys["ann"]]
        self.assertEqual((ann["name"], ann["site"]), ("ann", "Site ann"))
        self.assertEqual(ann["checkins"], 6)
        self.assertEqual(ann["last_checkin"], js(t(days=-1)))
        self.assertEqual((ann["delivering"], ann["thriving"], ann["support"]), (True, True, True))
        self.assertEqual(ann["energy"], 5)
        self.assertEqual(ann["energy_trend"], "rising")
        self.assertEqual(ann["last_contact"], js(t(days=-2)))
        self.assertEqual(ann["last_seen"], js(t(hours=-1)))
        self.assertIs(ann["revoked"], False)
        now = {k["id"]: k for k in ann["kpis"]}
        self.assertEqual((now["articles"]["value"], now["articles"]["target"]), (1, 3))
        self.assertAlmostEqual(now["articles"]["attainment"], 1 / 3)
        self.assertEqual(now["articles"]["period"], "2026-W48")
        self.assertIsNone(now["csat"]["value"])  # a mean of nothing: unknown, not 0
        self.assertIsNone(now["csat"]["attainment"])
        last = {k["id"]: k for k in ann["kpis_last_period"]}
        self.assertEqual((last["articles"]["value"], last["articles"]["aggregate"]), (4, "sum"))
        self.assertEqual((last["csat"]["value"], last["csat"]["aggregate"]), (90, "mean"))
        self.assertEqual(last["csat"]["attainment"], 1)
        self.assertEqual((last["backlog"]["value"], last["backlog"]["aggregate"]), (4, "last"))
        self.assertEqual(last["backlog"]["period"], "2026-10")
        self.assertEqual(last["backlog"]["attainment"], 1)

        bob = by[keys["bob"]]
        self.assertEqual((bob["delivering"], bob["thriving"], bob["support"]),
                         (False, False, False))
        self.assertEqual(bob["checkins"], 3)
        self.assertIsNone(bob["energy_trend"])  # three check-ins: nothing to compare yet
        cid = by[keys["cid"]]
        self.assertEqual((cid["checkins"], cid["last_checkin"], cid["thriving"]), (0, None, None))
        self.assertEqual(cid["last_seen"], js(SETUP))
        self.assertIsNone(cid["last_contact"])
        dan = by[keys["dan"]]  # a clock ahead cannot make anyone look fresher than the office saw
        self.assertEqual(dan["last_checkin"], js(t(hours=-1)))
        self.assertEqual(dan["last_seen"], js(t(hours=-1)))
        self.assertEqual(by[keys["ivy"]]["last_seen"], js(t(hours=-1)))
        eve = by[keys["eve"]]
        self.assertIs(eve["revoked"], True)
        hal = by[keys["hal"]]
        self.assertEqual(hal["name"], LONG_NAME)
        self.assertEqual(hal["last_seen"], js(t(days=-2)))

    def test_team_table_fits_80_columns(self):
        r = self.ok("team")
        lines = r.out.splitlines()
        self.assertTrue(lines[0].startswith("NAME"), r.out)
        for line in lines:
            self.assertLessEqual(len(line), 80, line)
        rows = {line.split("  ")[0].rstrip("…").strip(): line for line in lines[1:]}
        self.assertNotIn(LONG_NAME, r.out)
        hal = [line for line in lines if line.startswith(LONG_NAME[:8])]
        self.assertEqual(len(hal), 1, r.out)
        self.assertIn("…", hal[0])
        self.assertIn("(revoked)", rows["eve"])
        self.assertIn("y y y", rows["ann"])
        self.assertIn("↑", rows["ann"])
        self.assertIn("n n n", rows["bob"])
        self.assertIn("never", rows["cid"])
        self.assertIn("33%", rows["ann"])  # lowest KPI this period: articles 1 of 3
        self.assertEqual(lines[-1][:5], "D T S", r.out)

    def test_team_help(self):
        r = self.ok("team", "--help")
        self.assertIn("energy", r.out)
        self.assertIn("--json", r.out)

    # --- not an office, or nothing yet

    def test_on_a_worker(self):
        for cmd in ("team", "alerts"):
            with self.subTest(cmd=cmd):
                r = self.run_cli(cmd, dir=self.team.dir("ann"))
                self.assert_error(r, 2, "%s is an office command" % cmd)

    def test_empty_office(self):
        self.dir = os.path.join(self.tmp, "new")
        self.init("Home", office=True, site=None)
        self.assertEqual(self.ok_json("team"), [])
        self.assertIn("No members yet", self.ok("team").out)
        self.assertEqual(self.alerts(code=0), [])
        r = self.ok("alerts")
        self.assertIn("No alerts", r.out)


if __name__ == "__main__":
    clitest.main()
