#!/usr/bin/env python3
"""Log-level security cases (TESTING §C: C1, C10-C12, C14-C16) between real processes.

The table in tests/integration/SECURITY-log.md maps each case to the test here (and to the
unit tests that prove the same at the store and session level). In short:

C11  forged or corrupted entries from a real peer. Worker W's store is damaged on disk with
     sqlite3 (one case at a time, from a snapshot) and W's own `outpostd --once` then offers
     it to colleague B, a relay that cannot read W's bodies: a flipped signature (AUTH), a
     prev hash (CHAIN), a left-out entry inside a run (SEQ), a hole before the run that
     never closes however often B asks (GAP), a body over 64 KiB (TOOBIG), another author's
     entry spliced in (AUTHOR), a flipped ciphertext byte (BODYHASH). B logs each with its
     own code, stores nothing of the run, and its entries are byte for byte as before; the
     undamaged store then syncs. The damage is made to the sending node's files, so the real
     handshake and encrypted stream carry it.
C12  fork: W's directory copied to a second machine, both write on from seq N. The office
     keeps the first log, keeps the copy's signed entry as evidence, and `status` (count and `forked` with W's key) and
     `alerts` (kind fork, exit 1) name W.
C14  relay confidentiality: C reaches the office only through B. B verifies every entry it
     holds (`outpost verify`: every chain and signature, as ingest did) and a canary from
     C's check-in is in none of B's files (database, WAL) nor in a core dump of B's running
     agent (gdb's gcore; without gdb or under a sanitizer: its readable memory through
     /proc/PID/mem), which does hold its own directory path (the control).
C15  erasure: C erases its check-in (`outpost erase me SEQ`) while the three agents run. The
     office (a reader) and B (a relay) drop the body, keep the envelope, verify, and hold no
     copy of the canary or the ciphertext in the database or WAL; the office's projections
     forget the record (log body null, team's check-in count down by one). The office then
     erases one of B's records, and B's own node drops it. A replica that was offline (a copy of B's directory from before) loses the body on its first sync.
C16  stolen laptop: V sends W feedback; the office revokes W; W's later sync is refused
     (REVOKED); V, once it holds the revocation, cannot address W any more (exit 2, nothing
     written) and no key entry written after it is sealed to W. A thief's node made of W's
     identity.key and a copy of the office's whole database opens the feedback sent to W
     before the revocation (the control) and not one body written after it.
C1   a non-member's entries: held at the office under the 1 MiB quota (refused over it with
     QUOTA), relayed on to another member, never shown in `team`, `alerts` or `kpi report`.
C10  (replay) is proven in process: tests/unit/agent/session_test.c.

Run alone: ctest --test-dir BUILD -R integration.security_log --output-on-failure
(SEED=N re-runs a failure; INTEG_KEEP=1 keeps the directories.) No long mode.
"""
import base64
import copy
import os
import re
import shutil
import sqlite3
import subprocess

import net

QUOTA = 1024 * 1024


def raw_key(k):
    return base64.b64decode(k)


class SecurityLog(net.IntegTest):

    # ---------------------------------------------------------------- helpers

    def rw(self, node, sql, *params):
        """A write to a node's database behind its back (no process has it open)."""
        con = sqlite3.connect(node.db_path, timeout=30)
        try:
            con.execute(sql, params)
            con.commit()
        finally:
            con.close()

    def copy_node(self, node, name):
        """A second directory holding node's files (the same key): a copied laptop."""
        dst = os.path.join(self.tmp, name)
        shutil.copytree(node.dir, dst, ignore=shutil.ignore_patterns("*.sock"))
        twin = copy.copy(node)
        twin.dir, twin.name, twin.agent = dst, name, None
        return twin

    def assert_absent(self, node, needles, when):
        """No needle in the node's database file or WAL. A running agent empties its WAL just
        after the erasure commits, once readers (this test's own queries among them) let it:
        so this waits for that, with a deadline, and says how long it took."""
        t0 = net.time.monotonic()
        found = []

        def clean():
            files = {n: d for n, d in node.files().items() if n.startswith("outpost.db")}
            self.assertIn("outpost.db", files)
            found[:] = [(w, n) for w, needle in needles for n, d in files.items()
                        if needle in d]
            return None if found else files

        files = self.wait_until(clean, 10, "%s: no copy in %s's files" % (when, node.name),
                                diag=lambda: "still found: %s" % found, every=0.05)
        net.log("%s: none of %s in %s's %s (after %.2f s)" % (
            when, [w for w, _ in needles], node.name,
            sorted("%s (%d B)" % (n, len(d)) for n, d in files.items()),
            net.time.monotonic() - t0))

    def body(self, node, author, seq):
        rows = node.sql("SELECT e.body FROM entries e JOIN authors a ON a.id = e.author"
                        " WHERE a.key = ? AND e.seq = ?", raw_key(author), seq)
        return rows[0][0] if rows else "absent"

    def memory_of(self, agent):
        """The running agent's memory: a gcore core file where gdb is there and the agent is
        not built with a sanitizer (whose shadow maps are terabytes); else every readable
        private mapping up to 256 MiB read through /proc/PID/mem. Returns (bytes, how)."""
        pid = agent.pid
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read()
        sanitized = "libasan" in maps or "libubsan" in maps
        if shutil.which("gcore") and not sanitized:
            core = os.path.join(self.tmp, "relay.core")
            p = subprocess.run(["gcore", "-o", core, str(pid)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120 * net.SCALE)
            path = "%s.%d" % (core, pid)
            if p.returncode == 0 and os.path.exists(path):
                with open(path, "rb") as f:
                    data = f.read()
                os.unlink(path)
                return data, "gcore core file"
            net.log("gcore failed (%d): %s" % (p.returncode, p.stdout[-500:]))
        chunks = []
        with open("/proc/%d/mem" % pid, "rb", 0) as mem:
            for line in maps.splitlines():
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                if not parts[1].startswith("r") or hi - lo > 256 << 20:
                    continue
                if len(parts) > 5 and parts[5].startswith("[v"):  # vvar, vdso, vsyscall
                    continue
                try:
                    mem.seek(lo)
                    chunks.append(mem.read(hi - lo))
                except OSError:
                    pass
        return b"".join(chunks), "/proc/%d/mem (%s)" % (pid, "sanitizer build" if sanitized
                                                        else "no gcore")

    # ---------------------------------------------------------------- C11

    def test_c11_forged_entries_from_a_real_peer(self):
        office, (w, b) = self.team(2)
        office.start()
        w.checkin(note="w before")
        b.checkin(note="b before")
        for n in (w, b, w):
            self.assertEqual(n.run("sync", "--once", "--peer", office.addr).code, 0)
        office.stop()
        b.start()
        # B first gets all W holds (the office may have written a receipt since B's sync):
        # from here on, only the damaged run could change B's store.
        self.assertEqual(w.run("sync", "--once", "--peer", b.addr).code, 0)
        head = w.status()["entries"]["own"]
        for i in range(4):
            w.checkin(note="w offline %d" % i)          # seqs head+1 .. head+4: what B lacks
        wid = w.sql("SELECT id FROM authors WHERE key = ?", raw_key(w.key))[0][0]
        rowid = lambda seq: (wid << 32) | seq
        snap = os.path.join(self.tmp, "w.snapshot")
        shutil.copytree(w.dir, snap)
        before = b.hashes()
        self.assertEqual(set(before), set(w.hashes()) - {(w.key, head + i) for i in range(1, 5)})
        self.assertEqual(max(s for (k, s) in before if k == w.key), head)
        short = re.escape(w.key[:8])

        def flip_env(seq, off):
            env = bytearray(w.sql("SELECT envelope FROM entries WHERE id = ?", rowid(seq))[0][0])
            env[off if off >= 0 else len(env) + off] ^= 0x01
            self.rw(w, "UPDATE entries SET envelope = ? WHERE id = ?", bytes(env), rowid(seq))

        def other_author(seq):
            env = bytearray(w.sql("SELECT envelope FROM entries WHERE id = ?", rowid(seq))[0][0])
            env[4:36] = raw_key(office.key)              # 0x99 0x01 0xc4 0x20 author ...
            self.rw(w, "UPDATE entries SET envelope = ? WHERE id = ?", bytes(env), rowid(seq))

        def flip_body(seq):
            body = bytearray(w.sql("SELECT body FROM entries WHERE id = ?", rowid(seq))[0][0])
            body[-1] ^= 0x80
            self.rw(w, "UPDATE entries SET body = ? WHERE id = ?", bytes(body), rowid(seq))

        cases = [
            # name, damage, code, whether the session ends with it
            ("bad signature (the run's last entry)", lambda: flip_env(head + 4, -1), "AUTH",
             True),
            ("bad prev hash", lambda: flip_env(head + 3, 40), "CHAIN", True),
            ("seq gap inside the run", lambda: self.rw(
                w, "DELETE FROM entries WHERE id = ?", rowid(head + 2)), "SEQ", True),
            ("hole before the run that never closes", lambda: self.rw(
                w, "DELETE FROM entries WHERE id = ?", rowid(head + 1)), "GAP", False),
            ("oversized body", lambda: self.rw(
                w, "UPDATE entries SET body = ? WHERE id = ?", os.urandom(65537),
                rowid(head + 2)), "TOOBIG", True),
            ("wrong author", lambda: other_author(head + 2), "AUTHOR", True),
            ("corrupted body", lambda: flip_body(head + 2), "BODYHASH", True),
        ]
        for name, damage, code, ends in cases:
            with self.subTest(name):
                shutil.rmtree(w.dir)
                shutil.copytree(snap, w.dir)
                damage()
                mark = b.agent.offset()
                res = w.run("sync", "--once", "--peer", b.addr)
                line = b.agent.wait_log(r"\(%s\)" % code, 20, "B logs %s" % code, since=mark)
                net.log("%s: W's sync --once exit %d; B: %s" % (name, res.code, line.string))
                if code != "TOOBIG":   # refused by the message decoder, before any author
                    b.agent.wait_log(r"refused a run of %s from %s: .*\(%s\)" % (
                        short, short, code), 5, since=mark)
                if ends:
                    b.agent.wait_log(r"peer sent bad data: .*\(%s\)" % code, 10, since=mark)
                    self.assertEqual(res.code, 3, res)
                self.assertEqual(b.hashes(), before, "%s: B's store changed" % name)
                self.assertEqual(b.sql("SELECT count(*) FROM forks")[0][0], 0)
        # The undamaged store syncs, and B verifies what it relays.
        shutil.rmtree(w.dir)
        shutil.copytree(snap, w.dir)
        res = w.run("sync", "--once", "--peer", b.addr)
        self.assertEqual(res.code, 0, res)
        self.assertEqual(max(s for (k, s) in b.hashes() if k == w.key), head + 4)
        b.stop()
        doc = b.verify()
        self.assertEqual(doc["entries"], b.total())

    # ---------------------------------------------------------------- C12

    def test_c12_fork_kept_as_evidence_and_shown(self):
        office, (w,) = self.team(1)
        office.start()
        w.checkin(note="shared history")
        self.assertEqual(w.run("sync", "--once", "--peer", office.addr).code, 0)
        twin = self.copy_node(w, "w-copy")            # a restored backup on a second laptop
        w.checkin(note="the laptop's seq")
        twin.checkin(note="the copy's seq")
        twin.checkin(note="the copy goes on")
        # (Two branches with the same head look alike to the have-vector summary, which is by
        # seq: the fork shows once one branch goes further, as a used copy does.)
        seq = w.status()["entries"]["own"]
        self.assertEqual(twin.status()["entries"]["own"], seq + 1)
        self.assertEqual(w.run("sync", "--once", "--peer", office.addr).code, 0)
        held = office.hashes()[(w.key, seq)]
        mark = office.agent.offset()
        twin.run("sync", "--once", "--peer", office.addr)
        office.agent.wait_log(r"refused a run of %s .*\((FORK|CHAIN)\)" % re.escape(w.key[:8]),
                              10, "the office logs the fork", since=mark)
        self.assertEqual(office.hashes()[(w.key, seq)], held, "the first entry stays")
        ev = office.sql("SELECT f.seq, f.envelope FROM forks f JOIN authors a"
                        " ON a.id = f.author WHERE a.key = ?", raw_key(w.key))
        twin_env = twin.sql("SELECT envelope FROM entries e JOIN authors a ON a.id = e.author"
                            " WHERE a.key = ? AND e.seq = ?", raw_key(w.key), seq + 1)[0][0]
        self.assertIn((seq + 1, twin_env), ev, "the copy's entry is kept as evidence")
        self.assertNotIn((w.key, seq + 1), office.hashes(), "nothing of the copy is stored")
        st = office.status()
        self.assertGreaterEqual(st["forks"], 1)
        self.assertEqual([f["key"] for f in st["forked"]], [w.key])
        self.assertEqual(st["forked"][0]["seq"], seq + 1)
        text = office.run("status").out
        self.assertIn(w.key, text)
        self.assertRegex(text, r"forks\s+\d+")
        res = office.run("alerts", "--json")
        self.assertEqual(res.code, 1, res)
        self.assertIn(("fork", w.key), [(a["kind"], a["key"]) for a in res.json()])
        office.stop()
        office.verify()

    # ---------------------------------------------------------------- C14, C15

    def relay_team(self):
        """An office, B, and C that reaches the office only through B (test_relay's shape)."""
        office = self.node("office", office=True)
        b = self.node("b", site="Client B")
        c = self.node("c", site="Client C")
        b.join(office)
        c.join(office, addrs=[])
        c.peers_add(b.addr, b.key)
        return office, b, c

    def test_c14_relay_holds_no_plaintext_in_files_or_memory(self):
        office, b, c = self.relay_team()
        canary = "%032x" % self.rng.getrandbits(128)
        c.checkin(note="c14 canary %s" % canary)
        c.kpi_record("articles", 3, note="c14 canary %s" % canary)
        c_pairs = set(c.pairs())
        office.start()
        b.start()
        c.start(listen=False)
        self.wait_until(lambda: c_pairs <= set(office.pairs()), 60, "C's entries at the office",
                        diag=lambda: self.diag_nodes([office, b, c]))
        # B verified every entry on ingest; `verify` re-checks every chain and signature (B's
        # agent runs: a receipt may arrive meanwhile).
        n0 = b.total()
        doc = b.verify()
        self.assertTrue(n0 <= doc["entries"] <= b.total(), (n0, doc))
        self.assertTrue(c_pairs <= set(b.pairs()))
        needles = [("canary", canary.encode()), ("CANARY", canary.upper().encode()),
                   ("raw canary", bytes.fromhex(canary))]
        self.assert_absent(b, needles, "while B's agent runs")
        mem, how = self.memory_of(b.agent)
        net.log("scanned %d bytes of B's agent memory (%s)" % (len(mem), how))
        self.assertIn(b.dir.encode(), mem, "control: B's own directory path is in its memory")
        for what, needle in needles:
            self.assertNotIn(needle, mem, "%s in B's agent memory (%s)" % (what, how))
        for n in (c, b, office):
            n.stop()
        self.assert_absent(b, needles, "after B's agent stopped")

    def test_c15_erase_reaches_every_replica(self):
        office, b, c = self.relay_team()
        canary = "%032x" % self.rng.getrandbits(128)
        c.checkin(note="c15 canary %s" % canary)
        seq = c.status()["entries"]["own"]
        c.checkin(note="another check-in")
        b_canary = "%032x" % self.rng.getrandbits(128)
        b.checkin(note="b's record %s" % b_canary)
        b_seq = b.status()["entries"]["own"]
        office.start()
        b.start()
        c.start(listen=False)
        c_pairs = set(c.pairs())
        self.wait_until(lambda: c_pairs <= set(office.pairs()), 60, "C's entries at the office",
                        diag=lambda: self.diag_nodes([office, b, c]))
        cipher = self.body(b, c.key, seq)
        self.assertIsInstance(cipher, bytes)
        needles = [("canary", canary.encode()), ("ciphertext", cipher[24:56])]
        # The office shows C's bodies once it has admitted C, just after they arrive.
        notes = lambda: [e["body"]["note"] for e in office.log("--author", c.key)
                         if e["kind"] == "checkin" and e["seq"] == seq and e["body"]]
        self.wait_until(lambda: notes(), 30, "the office shows C's check-in")
        self.assertEqual(notes(), ["c15 canary %s" % canary], "the office reads it")
        checkins = {m["key"]: m["checkins"] for m in office.ok_json("team")}[c.key]
        # A replica that goes offline now, holding the body, and comes back after the erasure.
        b.stop()
        late = self.copy_node(b, "late")
        self.assertEqual(self.body(late, c.key, seq), cipher)
        b.start()

        doc = c.ok_json("erase", "me", seq)
        self.assertEqual((doc["seq"], doc["kind"], doc["already"]), (seq, "checkin", False))
        erase = (c.key, doc["erase_seq"])
        self.wait_until(lambda: erase in set(office.pairs()) and erase in set(b.pairs()), 30,
                        "the erase entry at the office and at B",
                        diag=lambda: self.diag_nodes([office, b, c]))
        for n in (c, b, office):
            self.assertIsNone(self.body(n, c.key, seq), "%s holds the body" % n.name)
            self.assertIn((c.key, seq), set(n.pairs()), "%s keeps the envelope" % n.name)
            self.assertEqual(n.sql("SELECT count(*) FROM erased")[0][0], 1)
            n.verify()
            self.assert_absent(n, needles, "after the erasure, agents running")
        ent = [e for e in office.log("--author", c.key) if e["seq"] == seq][0]
        self.assertIsNone(ent["body"])
        self.assertIn("(erased", office.ok("log", "--author", c.key).out)
        after = {m["key"]: m["checkins"] for m in office.ok_json("team")}[c.key]
        self.assertEqual(after, checkins - 1, "team forgets the erased check-in")
        # Erasing again: nothing to do; and an erase of someone else's record is refused.
        self.assertTrue(c.ok_json("erase", "me", seq)["already"])
        res = b.run("erase", c.key, seq)
        self.assertEqual(res.code, 2, res)

        # The office erases a worker's record: the worker's own node drops it too.
        self.wait_until(lambda: (b.key, b_seq) in set(office.pairs()), 30, "B's record")
        doc = office.ok_json("erase", b.key, b_seq)
        self.assertEqual(doc["kind"], "checkin")
        self.wait_until(lambda: self.body(b, b.key, b_seq) is None, 30,
                        "B drops its own record on the office's erase",
                        diag=lambda: self.diag_nodes([office, b, c]))
        self.assertEqual(b.sql("SELECT count(*) FROM checkins")[0][0], 0)
        needles.append(("b's canary", b_canary.encode()))
        for n in (b, office):
            self.assert_absent(n, needles, "after the office's erasure")

        # The offline replica connects once and drops its copy (B's agent stopped first: the
        # copy has B's key, and the office keeps one link per key).
        for n in (c, b):
            n.stop()
        self.assertEqual(late.run("sync", "--once", "--peer", office.addr).code, 0)
        self.assertIsNone(self.body(late, c.key, seq))
        late.verify()
        office.stop()
        for n in (c, b, office, late):
            self.assert_absent(n, needles, "after the agents stopped")

    # ---------------------------------------------------------------- C16

    def test_c16_stolen_laptop(self):
        office, (w, v) = self.team(2)
        office.start()
        for n in (w, v, w, v):
            self.assertEqual(n.run("sync", "--once", "--peer", office.addr).code, 0)
        before_text = "sealed to W before the revocation %032x" % self.rng.getrandbits(128)
        v.ok("feedback", w.key, before_text)
        office.ok("feedback", w.key, "office to W before")
        self.assertEqual(v.run("sync", "--once", "--peer", office.addr).code, 0)
        office.ok("revoke", w.key)
        heads = {k: max(s for (a, s) in office.pairs() if a == k) for k in (office.key, v.key)}

        # The thief's laptop: its sync is refused and nothing of it is stored.
        w.checkin(note="from the stolen laptop")
        mark = office.agent.offset()
        res = w.run("sync", "--once", "--peer", office.addr)
        self.assertEqual(res.code, 3, res)
        office.agent.wait_log(r"REVOKED", 10, since=mark)
        self.assertNotIn((w.key, w.status()["entries"]["own"]), set(office.pairs()))

        # V learns the revocation; nothing new can be addressed to W.
        self.assertEqual(v.run("sync", "--once", "--peer", office.addr).code, 0)
        n_before = v.total()
        res = v.run("feedback", w.key, "after the revocation")
        self.assertEqual(res.code, 2, res)
        self.assertEqual(v.total(), n_before, "nothing written")
        res = office.run("feedback", w.key, "after the revocation")
        self.assertEqual(res.code, 2, res)
        after_canary = "%032x" % self.rng.getrandbits(128)
        v.checkin(note="after %s" % after_canary)
        v.ok("feedback", "office", "to the office after %s" % after_canary)
        office.ok("feedback", v.key, "to V after %s" % after_canary)
        office.ok("contact", v.key, "--topic", "wellbeing", "--note", "after %s" % after_canary)
        office.ok("kpi", "define", "calls", "--target", "5", "--for", v.key)
        self.assertEqual(v.run("sync", "--once", "--peer", office.addr).code, 0)

        # No key entry written after the revocation names W among its readers.
        wk = raw_key(w.key)
        new_keys = office.sql("SELECT a.key, e.seq, e.body FROM entries e JOIN authors a"
                              " ON a.id = e.author WHERE e.kind = 8")
        for k, s, body in new_keys:
            author = base64.b64encode(k).decode()
            if author in heads and s > heads[author]:
                self.assertNotIn(wk, body, "key entry %s:%d is sealed to W" % (author[:8], s))

        # The thief: W's identity.key with a copy of the office's whole database.
        office.stop()
        thief = os.path.join(self.tmp, "thief")
        os.makedirs(thief, mode=0o700)
        shutil.copy2(os.path.join(w.dir, "identity.key"), thief)
        for f in os.listdir(office.dir):
            if f.startswith("outpost.db"):
                shutil.copy2(os.path.join(office.dir, f), thief)
        t = copy.copy(w)
        t.dir, t.name, t.agent = thief, "thief", None
        self.rw(t, "UPDATE meta SET v = 'worker' WHERE k = 'role'")
        self.rw(t, "UPDATE meta SET v = ? WHERE k = 'key'", wk)
        t.ok("reindex")
        entries = t.log()
        readable = [e for e in entries if e["body"] is not None]
        texts = [e["body"].get("text") for e in readable if e["kind"] == "feedback"]
        self.assertIn(before_text, texts, "control: the thief opens what was sealed to W")
        late = [e for e in entries if e["author"] in heads and e["seq"] > heads[e["author"]]]
        self.assertTrue(any(e["kind"] == "checkin" for e in late), late)
        sealed = {(base64.b64encode(k).decode(), s) for k, s in office.sql(
            "SELECT a.key, e.seq FROM entries e JOIN authors a ON a.id = e.author"
            " WHERE e.epoch != 0")}
        opened = [(e["author"][:8], e["seq"], e["kind"]) for e in late
                  if (e["author"], e["seq"]) in sealed and e["body"] is not None]
        self.assertEqual(opened, [], "the stolen keys open bodies written after the rotation")
        n_sealed = sum(1 for e in late if (e["author"], e["seq"]) in sealed)
        net.log("%d sealed entries written after the revocation; the thief opens none"
                % n_sealed)
        self.assertGreaterEqual(n_sealed, 4)
        for e in entries:
            self.assertNotIn(after_canary, str(e["body"]))

    # ---------------------------------------------------------------- C1

    def test_c1_non_member_held_relayed_never_shown(self):
        office, (q, r) = self.team(2)
        # X: a synthetic author no office admitted, sealed to the office (so the office could
        # read it: what it must not do is count it). ~0.5 MiB, under the quota.
        q.gen(1500, 1, self.rng.randrange(1, 1 << 30), office=office)
        x = [k for k in {a for a, _ in q.pairs()} if k not in (q.key, office.key)]
        self.assertEqual(len(x), 1, x)
        x = x[0]
        office.start()
        for n in (q, r):
            self.assertEqual(n.run("sync", "--once", "--peer", office.addr).code, 0, n.name)
        x_at = lambda n: {p for p in n.pairs() if p[0] == x}
        held = x_at(office)
        self.assertEqual(held, x_at(q), "held at the office, under its quota")
        self.assertEqual(x_at(r), held, "relayed on to another member")
        x_bytes = office.sql("SELECT sum(length(e.envelope) + coalesce(length(e.body), 0))"
                             " FROM entries e JOIN authors a ON a.id = e.author"
                             " WHERE a.key = ?", raw_key(x))[0][0]
        net.log("X: %d entries, %d bytes at the office" % (len(held), x_bytes))
        self.assertLessEqual(x_bytes, QUOTA)
        self.assertEqual(office.sql("SELECT count(*) FROM checkins c JOIN authors a"
                                    " ON a.id = c.author WHERE a.key = ?", raw_key(x))[0][0], 0)
        for cmd in (("team", "--json"), ("alerts", "--json"), ("kpi", "report", "--json")):
            res = office.run(*cmd)
            self.assertIn(res.code, (0, 1), res)
            self.assertNotIn(x, res.out, "%s shows the non-member" % " ".join(cmd))
        office.stop()
        office.verify()


if __name__ == "__main__":
    net.main()
