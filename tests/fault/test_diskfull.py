#!/usr/bin/env python3
"""A full disk (TESTING A4, T4), for real: a worker's node directory on a 4 MiB tmpfs, filled to
the last byte while its agent runs.

What it proves, with real `outpost` and `outpostd` processes:
  - `outpost checkin` and `outpost kpi record` are refused with exit status 4 and one line on
    stderr that says the disk is full and what to do; nothing of them is stored;
  - reads keep working: `outpost status`, `outpost log`, `outpost verify`;
  - the agent stays up, and outbound sync keeps working: check-ins written while the office
    was away reach the office after the disk filled up (the worker's agent sends what it holds);
  - once space is freed, the next check-in is accepted at once, and in the end the office holds
    every check-in the worker was told was saved, the worker gets what the office wrote while
    its disk was full (a KPI definition it could not store then), and both stores verify.

Needs root (mount -t tmpfs); without it the test says so and is skipped (exit 77). The
deterministic, unprivileged counterparts are unit.store.db (disk_full_is_disk_full, with
PRAGMA max_page_count) and fault.ioerr (SQLITE_FULL from the VFS shim at every write).
Environment as tests/integration/net.py (SEED, INTEG_KEEP, INTEG_SCALE).
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import net  # noqa: E402

SKIP = 77


def fill(path):
    """Writes `path` until the file system refuses even one more byte; returns bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (1 << 16, 4096, 512, 1):
            buf = b"\0" * chunk
            while True:
                try:
                    w = os.write(fd, buf)
                except OSError:
                    break
                n += w
                if w < chunk:
                    break
    finally:
        os.close(fd)
    return n


class DiskFull(net.IntegTest):

    def mount_tmpfs(self, d):
        os.makedirs(d)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", d],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if p.returncode != 0:
            self.fail("mount -t tmpfs failed: %s" % p.stdout.decode(errors="replace"))
        self.addCleanup(lambda: subprocess.run(["umount", "-l", d]))

    def test_full_disk(self):
        w_dir = os.path.join(self.tmp, "w1")
        self.mount_tmpfs(w_dir)
        office, (w,) = self.team(1)
        self.assertEqual(w.dir, w_dir)
        office.start()
        w.start()
        acked = []
        for i in range(3):
            w.checkin(note="before %d" % i)
            acked.append("before %d" % i)
        self.wait_until(lambda: self.office_notes(office, w) >= set(acked), 30,
                        "the office holds the first check-ins")
        # The office goes away; the worker writes on, then its disk fills up.
        office.stop()
        for i in range(3):
            w.checkin(note="queued %d" % i)
            acked.append("queued %d" % i)
        filler = os.path.join(w_dir, "filler")
        n = fill(filler)
        net.log("filled the tmpfs with %d bytes" % n)

        t0 = time.monotonic()
        r = w.run("checkin", "--thriving", "yes", "--note", "refused")
        self.assertEqual(r.code, 4, "checkin on a full disk: %r" % r)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertIn("disk", r.err)
        self.assertIn("full", r.err)
        self.assertIn("free some space", r.err)
        r = w.run("kpi", "record", "articles", "2", "--note", "refused kpi")
        self.assertEqual(r.code, 4, "kpi record on a full disk: %r" % r)
        self.assertEqual(len(r.err_lines), 1, r)
        # Reads work.
        st = w.ok_json("status")
        self.assertEqual(st["entries"]["own"], len(self.own_notes(w)) + self.own_other(w))
        self.assertTrue(st["disk"]["low"], st["disk"])          # T4: the watermark warning
        self.assertLess(st["disk"]["free_bytes"], 1024 * 1024, st["disk"])
        self.assertIn("disk      warning: only", w.ok("status").out)
        notes = [e["body"].get("note") for e in w.log() if e["body"]]
        self.assertNotIn("refused", notes)
        self.assertNotIn("refused kpi", notes)
        for a in acked:
            self.assertIn(a, notes)
        w.ok("verify")
        self.assertTrue(w.agent.alive(), "the worker's agent died on a full disk")
        # Outbound sync: the office comes back and gets what the worker queued, while what
        # the office has for the worker (a KPI definition) cannot be stored on its full disk.
        office.ok("kpi", "define", "articles", "--target", "3")
        office.start()
        w.run("sync")
        took = self.wait_until(lambda: self.office_notes(office, w) >= set(acked), 60,
                               "the office receives the queued check-ins from a full disk",
                               diag=lambda: self.diag_nodes([office, w]), every=0.25)
        net.log("queued check-ins reached the office %.1f s after the disk filled" %
                (time.monotonic() - t0))
        self.assertTrue(w.agent.alive(), "the worker's agent died on a full disk")
        text = w.agent.text()
        self.assertIn("the disk is full (DISK_FULL)", text)  # said plainly, as its own problem
        self.assertNotIn("peer sent bad data", text)         # not blamed on the office
        # Space again: writing resumes at once.
        os.unlink(filler)
        t1 = time.monotonic()
        w.checkin(note="after")
        acked.append("after")
        net.log("first check-in accepted %.2f s after space was freed" % (time.monotonic() - t1))
        self.wait_until(lambda: self.office_notes(office, w) >= set(acked), 60,
                        "the office holds every acknowledged check-in",
                        diag=lambda: self.diag_nodes([office, w]), every=0.25)
        self.assertTrue(w.agent.alive())
        # and what could not be stored while the disk was full arrives now
        w.run("sync")
        self.wait_until(lambda: w.sql("SELECT count(*) FROM kpi_defs WHERE kpi = 'articles'")
                        [0][0] == 1, 60, "the office's KPI definition reaches the worker",
                        diag=lambda: self.diag_nodes([office, w]), every=0.25)
        w.ok("verify")
        office.ok("verify")
        self.assertEqual(w.integrity(), ["ok"])
        mine = self.own_notes(w)
        self.assertEqual(sorted(mine), sorted(acked), "the worker holds exactly what it acked")
        del took

    def own_notes(self, w):
        return [r[0] for r in w.sql(
            "SELECT c.note FROM checkins c JOIN authors a ON a.id = c.author"
            " WHERE a.key = (SELECT v FROM meta WHERE k = 'key')")]

    def own_other(self, w):
        """Own entries that are not check-ins (key and join entries)."""
        return w.sql("SELECT count(*) FROM entries e JOIN authors a ON a.id = e.author"
                     " WHERE a.key = (SELECT v FROM meta WHERE k = 'key') AND e.kind != 1")[0][0]

    def office_notes(self, office, w):
        try:
            return {e["body"]["note"] for e in office.log("--author", w.key)
                    if e["body"] and e["body"].get("note")}
        except AssertionError:
            return set()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIP: fault.disk_full needs root to mount a 4 MiB tmpfs (CI runs as root); "
              "unit.store.db and fault.ioerr cover a full disk without it")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
