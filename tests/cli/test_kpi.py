"""outpost kpi define | record | list | report: definitions, values summed per period, ISO
weeks (including week 53), months and days, attainment, and values recorded before their
KPI is defined."""
import json

import clitest
from clitest import NOW_TS, CliTest


class KpiTest(CliTest):
    def setUp(self):
        super().setUp()
        self.key = self.init()["key"]

    def define(self, kpi, *args):
        return self.ok_json("kpi", "define", kpi, *args)

    def record(self, kpi, value, at=None, *args, now=clitest.NOW):
        """kpi record --json; the positionals go after '--' so negative values work."""
        extra = ["--at", at] if at else []
        r = self.ok("kpi", "record", "--json", *extra, *args, "--", kpi, str(value), now=now)
        return r.json()

    def report(self, period=None, now=clitest.NOW):
        args = ["kpi", "report"] + (["--period", period] if period else [])
        return self.ok_json(*args, now=now)

    def row(self, period, kpi, now=clitest.NOW):
        """The report row of this node for kpi."""
        rows = [r for r in self.report(period, now=now) if r["kpi"] == kpi]
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def value(self, period, kpi):
        v = self.row(period, kpi)["value"]
        return 0 if v is None else v  # nothing recorded: null or 0 are both honest

    # --- define and list ------------------------------------------------------------------

    def test_define_and_list(self):
        doc = self.define("articles", "--target", "3", "--unit", "articles", "--period", "week",
                          "--direction", "at_least", "--title", "Articles \"published\" ø")
        self.assertEqual(doc["author"], self.key)
        self.assertEqual(doc["kind"], "kpi_def")
        self.assertIs(doc["saved"], True)
        self.define("reply-hours", "--target", "4", "--direction", "at_most", "--period", "day")
        lst = self.ok_json("kpi", "list")
        self.assertEqual([d["id"] for d in lst], ["articles", "reply-hours"])
        a, r = lst
        self.assertEqual(a["title"], "Articles \"published\" ø")
        self.assertEqual(a["target"], 3)
        self.assertEqual(a["unit"], "articles")
        self.assertEqual(a["period"], "week")
        self.assertEqual(a["direction"], "at_least")
        self.assertIsNone(a["for"])
        self.assertEqual(a["defined_by"], self.key)
        self.assertEqual(a["ts"], NOW_TS)
        self.assertEqual((r["target"], r["direction"], r["period"]), (4, "at_most", "day"))
        self.assertIsNone(r["unit"])
        self.assertIsNone(r["title"])

    def test_defaults(self):
        self.define("calls", "--target", "10")
        (d,) = self.ok_json("kpi", "list")
        self.assertEqual((d["period"], d["direction"]), ("week", "at_least"))

    def test_list_empty(self):
        self.assertEqual(self.ok_json("kpi", "list"), [])
        self.assertEqual(self.report(), [])
        self.assertTrue(self.ok("kpi", "list").out.strip())

    def test_redefine_takes_the_newest(self):
        self.define("calls", "--target", "10")
        self.ok("kpi", "define", "calls", "--target", "12", "--period", "month",
                now="2026-11-25T10:00:00Z")
        (d,) = self.ok_json("kpi", "list")
        self.assertEqual((d["target"], d["period"]), (12, "month"))
        # at the same instant, the later entry wins
        self.ok("kpi", "define", "calls", "--target", "14", now="2026-11-25T10:00:00Z")
        (d,) = self.ok_json("kpi", "list")
        self.assertEqual((d["target"], d["period"]), (14, "week"))

    def test_redefine_with_the_clock_set_back_still_takes_the_newest(self):
        # TESTING B7: one author's later definition (higher seq) wins even when its clock was
        # set back in between; `kpi list`, `kpi report` and its period all follow it
        self.ok("kpi", "define", "calls", "--target", "10", now="2026-11-25T10:00:00Z")
        self.ok("kpi", "define", "calls", "--target", "12", "--period", "day",
                now="2026-11-24T10:00:00Z")
        (d,) = self.ok_json("kpi", "list")
        self.assertEqual((d["target"], d["period"]), (12, "day"))
        self.ok("kpi", "record", "calls", "6", "--at", "2026-11-23", now="2026-11-24T10:00:00Z")
        row = self.row("2026-11-23", "calls", now="2026-11-24T10:00:00Z")
        self.assertEqual((row["target"], row["value"]), (12, 6))
        self.ok("kpi", "define", "calls", "--target", "9", "--period", "week",
                now="2026-11-24T09:00:00Z")  # set back once more
        (d,) = self.ok_json("kpi", "list")
        self.assertEqual((d["target"], d["period"]), (9, "week"))

    def test_define_for_a_member(self):
        other = self.init("Bob", dir=self.tmp + "/bob")["key"]
        self.define("visits", "--target", "2", "--for", other)
        (d,) = self.ok_json("kpi", "list")
        self.assertEqual(d["for"], other)
        self.assertNotIn("visits", [r["kpi"] for r in self.report()],
                         "a KPI for someone else is not this node's to report")

    def test_decimal_and_negative_targets_and_values(self):
        self.define("temp", "--target", "-2.5", "--direction", "at_most")
        self.ok("kpi", "record", "temp", "--", "-3")
        self.ok("kpi", "record", "temp", "1.25e0", "--at", "2026-11-24")
        self.assertAlmostEqual(self.value("2026-W48", "temp"), -1.75)

    # --- record -----------------------------------------------------------------------------

    def test_record_json_and_log(self):
        self.define("articles", "--target", "3")
        doc = self.record("articles", 2, "2026-11-24", "--note", "two \"drafts\" ø")
        self.assertEqual((doc["author"], doc["kind"], doc["saved"]), (self.key, "kpi_value", True))
        (e,) = self.log("--kind", "kpi_value")
        self.assertEqual(e["seq"], doc["seq"])
        self.assertEqual(e["body"], {"id": "articles", "value": 2, "at": "2026-11-24",
                                     "note": "two \"drafts\" ø"})

    def test_record_defaults_to_today(self):
        self.define("articles", "--target", "3")
        self.record("articles", 1)
        self.record("articles", 1, None, now="2026-11-25T23:59:59Z")
        self.record("articles", 1, None, now="2026-11-26T00:00:00Z")
        ats = [e["body"]["at"] for e in self.log("--kind", "kpi_value")]
        self.assertEqual(ats, ["2026-11-26", "2026-11-25", "2026-11-25"])

    def test_undefined_kpi_is_saved_with_a_warning(self):
        r = self.run_cli("kpi", "record", "interviews", "2", "--at", "2026-11-24", "--json")
        self.assertEqual(r.code, 0, r)
        doc = r.json()  # stdout is still exactly one JSON document
        self.assertIs(doc["saved"], True)
        self.assertEqual(len(r.err_lines), 1, r)
        self.assertIn("warning", r.err.lower())
        self.assertIn("interviews", r.err)
        self.assertEqual(len(self.log("--kind", "kpi_value")), 1)
        # once the definition arrives, the value is reported against it
        self.define("interviews", "--target", "4")
        row = self.row("2026-W48", "interviews")
        self.assertEqual((row["value"], row["target"]), (2, 4))
        self.assertAlmostEqual(row["attainment"], 0.5)
        self.assertIs(row["met"], False)
        # and a defined KPI records without a warning
        r = self.ok("kpi", "record", "interviews", "2")
        self.assertEqual(r.err, "")

    # --- report: sums, periods ----------------------------------------------------------------

    def test_report_sums_per_week_month_day(self):
        self.define("articles", "--target", "3", "--unit", "articles")
        for at, v in (("2026-11-22", 100),   # Sunday: week 47
                      ("2026-11-23", 1),     # Monday: first day of week 48
                      ("2026-11-25", 0.5),
                      ("2026-11-25", 1),
                      ("2026-11-29", 1.5),   # Sunday: last day of week 48
                      ("2026-11-30", 1000),  # Monday: week 49, still November
                      ("2026-12-01", 5000),  # December
                      ("2026-10-31", 7)):    # October
            self.record("articles", v, at)
        w48 = self.row("2026-W48", "articles")
        self.assertEqual((w48["period"], w48["from"], w48["to"]),
                         ("2026-W48", "2026-11-23", "2026-11-29"))
        self.assertEqual(w48["value"], 4)
        self.assertEqual(w48["key"], self.key)
        self.assertEqual(w48["name"], "Ann")
        self.assertEqual((w48["target"], w48["unit"], w48["direction"]), (3, "articles", "at_least"))
        self.assertAlmostEqual(w48["attainment"], 4 / 3)
        self.assertIs(w48["met"], True)
        self.assertEqual(self.value("2026-W47", "articles"), 100)
        self.assertEqual(self.value("2026-W49", "articles"), 6000)
        m = self.row("2026-11", "articles")
        self.assertEqual((m["period"], m["from"], m["to"]), ("2026-11", "2026-11-01", "2026-11-30"))
        self.assertEqual(m["value"], 1104)
        d = self.row("2026-11-25", "articles")
        self.assertEqual((d["period"], d["from"], d["to"]), ("2026-11-25",) * 3)
        self.assertEqual(d["value"], 1.5)
        self.assertEqual(self.value("2026-11-24", "articles"), 0)
        self.assertEqual(self.value("2026-10", "articles"), 7)
        self.assertEqual(self.value("2026-12", "articles"), 5000)

    def test_iso_week_53(self):
        self.define("calls", "--target", "1")
        self.record("calls", 1, "2026-12-27")   # Sunday of week 52
        self.record("calls", 10, "2026-12-28")  # Monday of week 53
        self.record("calls", 100, "2027-01-03")  # Sunday: still 2026-W53
        self.record("calls", 1000, "2027-01-04")  # Monday: 2027-W01
        w53 = self.row("2026-W53", "calls")
        self.assertEqual((w53["from"], w53["to"]), ("2026-12-28", "2027-01-03"))
        self.assertEqual(w53["value"], 110)
        self.assertEqual(self.value("2026-W52", "calls"), 1)
        w1 = self.row("2027-W01", "calls")
        self.assertEqual((w1["from"], w1["to"]), ("2027-01-04", "2027-01-10"))
        self.assertEqual(w1["value"], 1000)
        self.assertEqual(self.value("2027-01", "calls"), 1100)

    def test_iso_week_1_starts_in_the_previous_year(self):
        self.define("calls", "--target", "1")
        self.record("calls", 5, "2025-12-29")  # Monday of 2026-W01
        self.record("calls", 7, "2025-12-28")  # Sunday of 2025-W52
        w1 = self.row("2026-W01", "calls")
        self.assertEqual((w1["from"], w1["to"]), ("2025-12-29", "2026-01-04"))
        self.assertEqual(w1["value"], 5)
        self.assertEqual(self.value("2025-W52", "calls"), 7)

    def test_week_53_only_where_the_year_has_one(self):
        self.define("calls", "--target", "1")
        self.ok("kpi", "report", "--period", "2026-W53")
        self.ok("kpi", "report", "--period", "2020-W53")
        for p in ("2025-W53", "2027-W53", "2026-W54", "2026-W00"):
            with self.subTest(period=p):
                self.assert_error(self.run_cli("kpi", "report", "--period", p), 2, p)

    def test_current_period_by_default(self):
        self.define("w", "--target", "1", "--period", "week")
        self.define("m", "--target", "1", "--period", "month")
        self.define("d", "--target", "1", "--period", "day")
        for k in ("w", "m", "d"):
            self.record(k, 1, "2026-11-25")
            self.record(k, 2, "2026-11-23")
            self.record(k, 4, "2026-11-01")
        rows = {r["kpi"]: r for r in self.report()}
        self.assertEqual((rows["w"]["period"], rows["w"]["value"]), ("2026-W48", 3))
        self.assertEqual((rows["m"]["period"], rows["m"]["value"]), ("2026-11", 7))
        self.assertEqual((rows["d"]["period"], rows["d"]["value"]), ("2026-11-25", 1))
        # on a Sunday the week is still W48; on the Monday after, W49
        self.assertEqual(self.row(None, "w", now="2026-11-29T23:59:59Z")["period"], "2026-W48")
        self.assertEqual(self.row(None, "w", now="2026-11-30T00:00:00Z")["period"], "2026-W49")
        self.assertEqual(self.row(None, "w", now="2027-01-03T12:00:00Z")["period"], "2026-W53")

    # --- attainment ---------------------------------------------------------------------------

    def test_at_least_attainment(self):
        self.define("articles", "--target", "4")
        self.record("articles", 1, "2026-11-24")
        row = self.row("2026-W48", "articles")
        self.assertAlmostEqual(row["attainment"], 0.25)
        self.assertIs(row["met"], False)
        self.record("articles", 3, "2026-11-25")
        row = self.row("2026-W48", "articles")
        self.assertAlmostEqual(row["attainment"], 1.0)
        self.assertIs(row["met"], True)
        row = self.row("2026-W47", "articles")  # nothing recorded that week
        self.assertAlmostEqual(row["attainment"], 0.0)
        self.assertIs(row["met"], False)

    def test_at_most_attainment(self):
        self.define("late-replies", "--target", "4", "--direction", "at_most")
        self.record("late-replies", 1, "2026-11-23")
        self.record("late-replies", 2, "2026-11-24")
        row = self.row("2026-W48", "late-replies")
        self.assertEqual((row["value"], row["direction"]), (3, "at_most"))
        self.assertAlmostEqual(row["attainment"], 1.0, msg="under an at_most target is met")
        self.assertIs(row["met"], True)
        self.record("late-replies", 5, "2026-11-25")  # 8 against at most 4
        row = self.row("2026-W48", "late-replies")
        self.assertEqual(row["value"], 8)
        self.assertAlmostEqual(row["attainment"], 0.5)
        self.assertIs(row["met"], False)
        self.record("late-replies", -4, "2026-11-26")  # back to exactly 4: met
        row = self.row("2026-W48", "late-replies")
        self.assertAlmostEqual(row["attainment"], 1.0)
        self.assertIs(row["met"], True)

    def test_report_json_stays_json_when_numbers_overflow(self):
        # Each value is a finite number the CLI accepted, but their sum (and value/target)
        # overflows a double. --json must still be one strict JSON document (RFC 8259 has
        # no Inf or NaN): e.g. null, or a refusal on stderr, never a bare Inf.
        self.define("big", "--target", "1e-300")
        # values are capped at 1e15 (PROTO_NUMBER_MAX); 1e15 / 1e-300 still overflows
        self.record("big", "1e15", "2026-11-24")
        self.record("big", "1e15", "2026-11-25")
        for period in ("2026-W48", "2026-11"):
            with self.subTest(period=period):
                r = self.run_cli("kpi", "report", "--period", period, "--json")
                self.assertIn(r.code, (0, 3), r)
                if r.code == 0:
                    def no_constants(name):
                        raise ValueError("%s is not JSON" % name)
                    try:
                        json.loads(r.out, parse_constant=no_constants)
                    except ValueError as e:
                        self.fail("kpi report --json is not strict JSON (%s): %s" % (e, r.out))
                else:
                    self.assertEqual(len(r.err_lines), 1, r)

    def test_report_text(self):
        self.define("articles", "--target", "3")
        self.record("articles", 3, "2026-11-25")
        r = self.ok("kpi", "report", "--period", "2026-W48")
        self.assertIn("articles", r.out)
        self.assertIn("100%", r.out)
        self.assertEqual(r.err, "")

    def test_help(self):
        for sub in ([], ["define"], ["record"], ["list"], ["report"]):
            with self.subTest(sub=sub):
                r = self.ok("kpi", *sub, "--help")
                self.assertIn("usage: outpost kpi", r.out)
                self.assertEqual(r.err, "")


if __name__ == "__main__":
    clitest.main()
