"""outpost kpi define --aggregate and kpi report (issue 4): each KPI's aggregation (sum, mean,
last, and the default by unit), values counted by the day they belong to (--at), not the day
they were written, period boundaries (month ends, ISO weeks from Monday to Sunday, week 53,
leap days), attainment for at_least and at_most (value 0 and targets of 0 or below included),
values recorded before their KPI is defined, the JSON shape, and the 80-column table.

Every expected date range below is also checked against Python's own calendar."""
import datetime
import json
import unicodedata

import clitest
from clitest import CliTest

NAME60 = "Ann-Kristin Margrethe Søndergaard-Christensen of Frederiksbe"  # 60 characters
assert len(NAME60) == 60

REPORT_KEYS = {"key", "name", "kpi", "period", "from", "to", "value", "target", "attainment",
               "direction", "aggregate", "unit", "met"}


def iso_week(label):
    """(first, last) day of an ISO week label such as 2026-W53, by Python's calendar."""
    y, w = int(label[:4]), int(label[6:])
    mon = datetime.date.fromisocalendar(y, w, 1)
    return str(mon), str(mon + datetime.timedelta(days=6))


class ReportTest(CliTest):
    def setUp(self):
        super().setUp()
        self.key = self.init()["key"]

    # --- helpers ---------------------------------------------------------------------------

    def define(self, kpi, *args, now=clitest.NOW):
        return self.ok_json("kpi", "define", kpi, *args, now=now)

    def record(self, kpi, value, at=None, now=clitest.NOW):
        extra = ["--at", at] if at else []
        r = self.ok("kpi", "record", "--json", *extra, "--", kpi, str(value), now=now)
        return r.json()

    def report(self, period=None, now=clitest.NOW):
        args = ["kpi", "report"] + (["--period", period] if period else [])
        return self.ok_json(*args, now=now)

    def row(self, period, kpi, now=clitest.NOW):
        rows = [r for r in self.report(period, now=now) if r["kpi"] == kpi]
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def value(self, period, kpi, now=clitest.NOW):
        return self.row(period, kpi, now=now)["value"]

    def strict_json(self, r):
        def no_constants(name):
            raise ValueError("%s is not JSON" % name)
        return json.loads(r.out, parse_constant=no_constants)

    # --- define --aggregate and kpi list ---------------------------------------------------

    def test_define_aggregate_and_list(self):
        self.define("articles", "--target", "3", "--unit", "articles")
        self.define("csat", "--target", "90", "--unit", "%")
        self.define("score", "--target", "4", "--unit", "Score (1-5)")
        self.define("stress", "--target", "3", "--unit", "stress level", "--direction",
                    "at_most")
        self.define("plain", "--target", "1")
        self.define("backlog", "--target", "10", "--unit", "tickets", "--aggregate", "last")
        self.define("pct-sum", "--target", "10", "--unit", "%", "--aggregate", "sum")
        self.define("calls", "--target", "5", "--aggregate", "mean")
        lst = {d["id"]: d for d in self.ok_json("kpi", "list")}
        self.assertEqual({k: d["aggregate"] for k, d in lst.items()},
                         {"articles": "sum", "csat": "mean", "score": "mean", "stress": "mean",
                          "plain": "sum", "backlog": "last", "pct-sum": "sum", "calls": "mean"})
        self.assertEqual(len(self.log("--kind", "kpi_def")), 8)
        # what `kpi list` shows is the column the projection fills with the aggregation in effect
        con = self.db()
        self.assertEqual(dict(con.execute("SELECT kpi, aggregate FROM kpi_defs")),
                         {k: d["aggregate"] for k, d in lst.items()})
        out = self.ok("kpi", "list").out
        header = out.splitlines()[0].split()
        self.assertIn("AGG", header)
        line = [l for l in out.splitlines() if l.startswith("backlog")][0]
        self.assertIn("last", line.split())

    def test_define_bad_aggregate_writes_nothing(self):
        self.define("calls", "--target", "5")
        before = self.snapshot()
        for bad in ("avg", "SUM", "", "max", "sum ", "last,mean"):
            with self.subTest(aggregate=bad):
                r = self.run_cli("kpi", "define", "x", "--target", "1", "--aggregate", bad)
                self.assert_error(r, 2, "--aggregate")
                self.assertEqual(self.snapshot(), before)
        # --aggregate belongs to define only
        for args in (["record", "calls", "1", "--aggregate", "sum"],
                     ["report", "--aggregate", "sum"], ["list", "--aggregate", "sum"]):
            with self.subTest(args=args):
                self.assert_error(self.run_cli("kpi", *args), 2, "aggregate")
                self.assertEqual(self.snapshot(), before)
        r = self.run_cli("kpi", "define", "x", "--target", "1", "--aggregate")
        self.assert_error(r, 2, "--aggregate")
        self.assertEqual(self.snapshot(), before)

    def test_help_documents_aggregation(self):
        out = self.ok("kpi", "--help").out
        for word in ("--aggregate sum|mean|last", "sum", "mean", "last", "percent", "score",
                     "at_most", "target/value", "value/target"):
            self.assertIn(word, out)
        self.assertIn("reindex", self.ok("--help", dir=False).out)

    # --- which values count: the day they belong to ----------------------------------------

    def test_backdated_values_count_in_their_own_period(self):
        self.define("visits", "--target", "4")
        # written on 2026-11-25 for Sunday 2026-11-01: week 44, November
        self.record("visits", 3, "2026-11-01")
        # written in December for the last day of November
        self.record("visits", 5, "2026-11-30", now="2026-12-02T08:00:00Z")
        # written in November for a day in December (planned ahead): December's
        self.record("visits", 7, "2026-12-01")
        self.assertEqual(self.value("2026-W44", "visits"), 3)
        self.assertEqual(self.value("2026-W45", "visits"), 0)
        self.assertEqual(self.value("2026-11", "visits"), 8)
        self.assertEqual(self.value("2026-12", "visits"), 7)
        self.assertEqual(self.value("2026-W49", "visits"), 12)  # Mon 11-30 and Tue 12-01
        self.assertEqual(self.value("2026-11-30", "visits"), 5)
        self.assertEqual(self.value("2026-12-02", "visits"), 0)  # the day it was written
        # the current week (W48) holds none of them, although all were written in it or later
        self.assertEqual(self.value(None, "visits"), 0)
        self.assertEqual(self.row(None, "visits", now="2026-12-02T08:00:00Z")["value"], 12)

    def test_month_ends_and_leap_days(self):
        self.define("calls", "--target", "1")
        for at, v in (("2026-10-31", 1), ("2026-11-01", 10), ("2026-11-30", 100),
                      ("2026-12-01", 1000), ("2026-12-31", 10000), ("2027-01-01", 100000),
                      ("2027-02-28", 2), ("2027-03-01", 20),
                      ("2028-02-28", 3), ("2028-02-29", 30), ("2028-03-01", 300)):
            self.record("calls", v, at)
        cases = {"2026-10": ("2026-10-01", "2026-10-31", 1),
                 "2026-11": ("2026-11-01", "2026-11-30", 110),
                 "2026-12": ("2026-12-01", "2026-12-31", 11000),
                 "2027-01": ("2027-01-01", "2027-01-31", 100000),
                 "2027-02": ("2027-02-01", "2027-02-28", 2),
                 "2028-02": ("2028-02-01", "2028-02-29", 33),
                 "2028-03": ("2028-03-01", "2028-03-31", 300),
                 "2028-02-29": ("2028-02-29", "2028-02-29", 30),
                 "2028-W09": iso_week("2028-W09") + (333,)}
        self.assertEqual(iso_week("2028-W09"), ("2028-02-28", "2028-03-05"))
        for period, (first, last, value) in cases.items():
            with self.subTest(period=period):
                row = self.row(period, "calls")
                self.assertEqual((row["period"], row["from"], row["to"], row["value"]),
                                 (period, first, last, value))
        # a monthly KPI on a leap day, from the clock
        self.define("monthly", "--target", "1", "--period", "month")
        self.record("monthly", 4, "2028-02-29", now="2028-02-29T23:59:59Z")
        row = self.row(None, "monthly", now="2028-02-29T23:59:59Z")
        self.assertEqual((row["period"], row["from"], row["to"], row["value"]),
                         ("2028-02", "2028-02-01", "2028-02-29", 4))
        row = self.row(None, "monthly", now="2028-03-01T00:00:00Z")
        self.assertEqual((row["period"], row["value"]), ("2028-03", 0))
        for bad in ("2027-02-29", "2100-02-29", "2026-11-31", "2026-13", "2026-00", "1969-12"):
            with self.subTest(period=bad):
                self.assert_error(self.run_cli("kpi", "report", "--period", bad), 2, bad)
        self.ok("kpi", "report", "--period", "2000-02-29")

    def test_iso_weeks_monday_to_sunday(self):
        self.define("calls", "--target", "1")
        for at, v in (("2026-11-22", 1),    # Sunday of W47
                      ("2026-11-23", 10),   # Monday of W48
                      ("2026-11-29", 100),  # Sunday of W48
                      ("2026-11-30", 1000)):  # Monday of W49
            self.record("calls", v, at)
        for label, value in (("2026-W47", 1), ("2026-W48", 110), ("2026-W49", 1000)):
            with self.subTest(week=label):
                row = self.row(label, "calls")
                self.assertEqual((row["from"], row["to"]), iso_week(label))
                self.assertEqual(row["value"], value)
        # the current week by the clock: Sunday 23:59 is still W48, Monday 00:00 is W49
        self.assertEqual(self.row(None, "calls", now="2026-11-29T23:59:59Z")["value"], 110)
        self.assertEqual(self.row(None, "calls", now="2026-11-30T00:00:00Z")["period"],
                         "2026-W49")

    def test_week_53(self):
        self.define("calls", "--target", "1")
        for at, v in (("2020-12-27", 1), ("2020-12-28", 10), ("2021-01-03", 100),
                      ("2021-01-04", 1000),
                      ("2026-12-27", 2), ("2026-12-28", 20), ("2027-01-03", 200),
                      ("2027-01-04", 2000)):
            self.record("calls", v, at)
        for label, first, last, value in (("2020-W53", "2020-12-28", "2021-01-03", 110),
                                          ("2021-W01", "2021-01-04", "2021-01-10", 1000),
                                          ("2026-W53", "2026-12-28", "2027-01-03", 220),
                                          ("2027-W01", "2027-01-04", "2027-01-10", 2000),
                                          ("2015-W53", "2015-12-28", "2016-01-03", 0)):
            with self.subTest(week=label):
                self.assertEqual(iso_week(label), (first, last))
                row = self.row(label, "calls")
                self.assertEqual((row["period"], row["from"], row["to"], row["value"]),
                                 (label, first, last, value))
        # by the clock: Sunday 2021-01-03 is in 2020-W53, as 2027-01-03 is in 2026-W53
        self.assertEqual(self.row(None, "calls", now="2021-01-03T12:00:00Z")["period"],
                         "2020-W53")
        self.assertEqual(self.row(None, "calls", now="2027-01-03T12:00:00Z")["value"], 220)
        for bad in ("2025-W53", "2021-W53", "2027-W53", "2026-W54", "2026-W00", "2026-W5",
                    "2026-w48", "1969-W01"):
            with self.subTest(period=bad):
                r = self.run_cli("kpi", "report", "--period", bad, "--json")
                self.assert_error(r, 2, bad)

    # --- aggregations ------------------------------------------------------------------------

    def test_sum_mean_last(self):
        self.define("articles", "--target", "6", "--aggregate", "sum")
        self.define("csat", "--target", "80", "--aggregate", "mean")
        self.define("backlog", "--target", "10", "--aggregate", "last", "--direction", "at_most")
        for kpi in ("articles", "csat", "backlog"):
            self.record(kpi, 90, "2026-11-23")
            self.record(kpi, 60, "2026-11-26")
            self.record(kpi, 30, "2026-11-24")   # written last, for an earlier day
            self.record(kpi, 999, "2026-11-30")  # next week
        rows = {r["kpi"]: r for r in self.report("2026-W48")}
        self.assertEqual({k: r["aggregate"] for k, r in rows.items()},
                         {"articles": "sum", "csat": "mean", "backlog": "last"})
        self.assertEqual(rows["articles"]["value"], 180)
        self.assertAlmostEqual(rows["articles"]["attainment"], 30)
        self.assertEqual(rows["csat"]["value"], 60)
        self.assertAlmostEqual(rows["csat"]["attainment"], 0.75)
        self.assertIs(rows["csat"]["met"], False)
        # last: the latest day (11-26), not the entry written last (for 11-24)
        self.assertEqual(rows["backlog"]["value"], 60)
        self.assertAlmostEqual(rows["backlog"]["attainment"], 10 / 60)
        month = {r["kpi"]: r["value"] for r in self.report("2026-11")}
        self.assertEqual(month, {"articles": 1179, "csat": 294.75, "backlog": 999})
        day = {r["kpi"]: r["value"] for r in self.report("2026-11-24")}
        self.assertEqual(day, {"articles": 30, "csat": 30, "backlog": 30})

    def test_last_on_one_day_is_the_highest_seq_whatever_the_clock(self):
        self.define("level", "--target", "5", "--aggregate", "last")
        self.record("level", 1, "2026-11-24", now="2026-11-24T10:00:00Z")
        self.record("level", 2, "2026-11-24", now="2026-11-24T12:00:00Z")
        # written after the two above (higher seq) with the clock set back: still the last
        # one written (order is by seq, never by the clock: TESTING B7, threat T6)
        self.record("level", 3, "2026-11-24", now="2026-11-24T11:00:00Z")
        self.assertEqual(self.value("2026-W48", "level"), 3)
        self.record("level", 7, "2026-11-24", now="2026-11-24T10:30:00Z")
        self.assertEqual(self.value("2026-W48", "level"), 7)
        # same ts: the later entry (higher seq) wins
        self.record("level", 4, "2026-11-24", now="2026-11-24T12:00:00Z")
        self.assertEqual(self.value("2026-W48", "level"), 4)
        self.record("level", 5, "2026-11-24", now="2026-11-24T12:00:00Z")
        self.assertEqual(self.value("2026-W48", "level"), 5)
        # a later day wins whatever its ts
        self.record("level", 6, "2026-11-25", now="2026-11-20T00:00:00Z")
        self.assertEqual(self.value("2026-W48", "level"), 6)
        self.assertEqual(self.value("2026-11-24", "level"), 5)

    def test_nothing_recorded(self):
        self.define("count", "--target", "3", "--aggregate", "sum")
        self.define("avg", "--target", "3", "--aggregate", "mean")
        self.define("lvl", "--target", "3", "--aggregate", "last")
        rows = {r["kpi"]: r for r in self.report("2026-W48")}
        # a count of nothing is 0; a mean or a last value of nothing is unknown
        self.assertEqual((rows["count"]["value"], rows["count"]["attainment"],
                          rows["count"]["met"]), (0, 0, False))
        for k in ("avg", "lvl"):
            self.assertEqual((rows[k]["value"], rows[k]["attainment"], rows[k]["met"]),
                             (None, None, None))
        out = self.ok("kpi", "report", "--period", "2026-W48").out
        line = [l for l in out.splitlines() if " avg " in l][0]
        self.assertEqual(line.split()[-3:], [">=", "3", "-"])

    def test_mean_default_by_unit(self):
        self.define("csat", "--target", "90", "--unit", "percent")
        self.record("csat", 80, "2026-11-23")
        self.record("csat", 100, "2026-11-24")
        row = self.row("2026-W48", "csat")
        self.assertEqual((row["aggregate"], row["value"], row["unit"]), ("mean", 90, "percent"))
        self.assertIs(row["met"], True)

    # --- attainment ----------------------------------------------------------------------------

    def test_at_most_attainment(self):
        self.define("late", "--target", "4", "--direction", "at_most")
        row = self.row("2026-W48", "late")  # nothing late: 0 is at or under the target
        self.assertEqual((row["value"], row["attainment"], row["met"], row["direction"]),
                         (0, 1.0, True, "at_most"))
        self.record("late", 0, "2026-11-23")
        self.assertEqual(self.row("2026-W48", "late")["attainment"], 1.0)
        self.record("late", 3, "2026-11-24")
        row = self.row("2026-W48", "late")
        self.assertEqual((row["value"], row["attainment"], row["met"]), (3, 1.0, True))
        self.record("late", 2, "2026-11-25")  # 5, over at most 4: 4/5
        row = self.row("2026-W48", "late")
        self.assertAlmostEqual(row["attainment"], 0.8)
        self.assertIs(row["met"], False)
        out = self.ok("kpi", "report", "--period", "2026-W48").out
        line = [l for l in out.splitlines() if " late " in l][0]
        self.assertIn("<= 4", line)
        self.assertTrue(line.endswith("80%"), line)

    def test_targets_of_zero_and_below(self):
        self.define("errors", "--target", "0", "--direction", "at_most")
        self.define("temp", "--target", "-2", "--direction", "at_most")
        self.define("margin", "--target", "-5", "--direction", "at_least")
        self.define("net", "--target", "0", "--direction", "at_least")
        self.assertEqual(self.row("2026-W48", "errors")["attainment"], 1.0)
        self.record("errors", 2, "2026-11-24")
        self.record("temp", -1, "2026-11-24")    # warmer than at most -2: not met
        self.record("margin", -3, "2026-11-24")  # above at least -5: met
        self.record("net", -1, "2026-11-24")     # below at least 0: not met
        rows = {r["kpi"]: r for r in self.report("2026-W48")}
        self.assertEqual((rows["errors"]["attainment"], rows["errors"]["met"]), (0, False))
        self.assertEqual((rows["temp"]["attainment"], rows["temp"]["met"]), (0, False))
        self.assertEqual((rows["margin"]["attainment"], rows["margin"]["met"]), (1, True))
        self.assertEqual((rows["net"]["attainment"], rows["net"]["met"]), (0, False))
        self.record("temp", -5, "2026-11-25")    # -6 in all: met
        self.record("net", 1, "2026-11-25")      # 0: met
        rows = {r["kpi"]: r for r in self.report("2026-W48")}
        self.assertEqual((rows["temp"]["attainment"], rows["temp"]["met"]), (1, True))
        self.assertEqual((rows["net"]["attainment"], rows["net"]["met"]), (1, True))

    def test_at_least_over_target(self):
        self.define("articles", "--target", "4")
        self.record("articles", 6, "2026-11-24")
        row = self.row("2026-W48", "articles")
        self.assertAlmostEqual(row["attainment"], 1.5)
        self.assertIs(row["met"], True)
        self.assertIn("150%", self.ok("kpi", "report").out)

    # --- a KPI defined after its values -----------------------------------------------------

    def test_values_before_the_definition(self):
        r = self.run_cli("kpi", "record", "nps", "40", "--at", "2026-11-23")
        self.assertEqual(r.code, 0, r)
        self.ok("kpi", "record", "nps", "20", "--at", "2026-11-24")
        row = self.row("2026-W48", "nps")  # no definition: added up, nothing to attain
        self.assertEqual((row["value"], row["aggregate"], row["target"], row["attainment"],
                          row["direction"], row["met"]), (60, "sum", None, None, None, None))
        self.assertIn("no definition", self.ok("kpi", "report").out)
        # the definition arrives a day later: the values count under its aggregation
        self.define("nps", "--target", "25", "--unit", "NPS", now="2026-11-26T08:00:00Z")
        row = self.row("2026-W48", "nps")
        self.assertEqual((row["aggregate"], row["value"], row["target"]), ("mean", 30, 25))
        self.assertAlmostEqual(row["attainment"], 1.2)
        # redefined as a level: the newest definition decides
        self.define("nps", "--target", "25", "--aggregate", "last", now="2026-11-27T08:00:00Z")
        row = self.row("2026-W48", "nps")
        self.assertEqual((row["aggregate"], row["value"]), ("last", 20))
        self.assertIs(row["met"], False)

    # --- output ------------------------------------------------------------------------------

    def test_json_shape(self):
        self.define("articles", "--target", "3", "--unit", "articles")
        self.record("articles", 2, "2026-11-24")
        r = self.ok("kpi", "report", "--json")
        doc = self.strict_json(r)
        self.assertIsInstance(doc, list)
        (row,) = doc
        self.assertEqual(set(row), REPORT_KEYS)
        self.assertEqual(row, {"key": self.key, "name": "Ann", "kpi": "articles",
                               "period": "2026-W48", "from": "2026-11-23", "to": "2026-11-29",
                               "value": 2, "target": 3, "attainment": row["attainment"],
                               "direction": "at_least", "aggregate": "sum",
                               "unit": "articles", "met": False})
        self.assertAlmostEqual(row["attainment"], 2 / 3)
        self.assertEqual(r.err, "")
        # a period with nothing recorded: the same row, with a sum of 0
        empty = dict(row, period="2031-01", to="2031-01-31", value=0, attainment=0)
        empty["from"] = "2031-01-01"
        self.assertEqual(self.report("2031-01"), [empty])

    def test_80_columns_and_ellipsis(self):
        self.tmp_node = self.tmp + "/long"
        self.init(NAME60, dir=self.tmp_node)
        kw = {"dir": self.tmp_node}
        long_kpi = "k" * 64
        self.ok("kpi", "define", long_kpi, "--target", "123456789012", "--unit",
                "articles published in peer-reviewed journals", **kw)
        self.ok("kpi", "define", "csat", "--target", "0.333333333333", "--unit", "%", **kw)
        self.ok("kpi", "record", long_kpi, "98765432109876", "--at", "2026-11-24", **kw)
        self.ok("kpi", "record", "csat", "1e-7", "--at", "2026-11-24", **kw)
        for period in (None, "2026-11-25", "2026-W48", "2026-11"):
            with self.subTest(period=period):
                args = ["kpi", "report"] + (["--period", period] if period else [])
                out = self.ok(*args, **kw).out
                lines = out.splitlines()
                self.assertEqual(len(lines), 3, out)
                for line in lines:
                    self.assertLessEqual(len(line), 80, line)
                    self.assertFalse(any(unicodedata.category(ch) == "Cc" for ch in line))
                member = lines[1].split("  ")[0]
                self.assertTrue(member.endswith("…"), lines[1])
                self.assertTrue(NAME60.startswith(member[:-1]), member)
                self.assertIn("…", lines[1].split("  ", 1)[1])  # the KPI id too
        doc = self.ok_json("kpi", "report", **kw)
        self.assertEqual({r["name"] for r in doc}, {NAME60})  # JSON is never cut
        out = self.ok("kpi", "list", **kw).out
        for line in out.splitlines():
            self.assertLessEqual(len(line), 80, line)

    def test_report_json_is_strict_when_ratios_overflow(self):
        self.define("tiny", "--target", "1e-300", "--aggregate", "mean")
        self.record("tiny", "1e15", "2026-11-24")
        r = self.ok("kpi", "report", "--json")
        (row,) = self.strict_json(r)
        self.assertIsNone(row["attainment"])
        self.assertIs(row["met"], True)
        (line,) = self.ok("kpi", "report").out.splitlines()[1:]
        self.assertTrue(line.endswith("  -"), line)  # no attainment to show

    def test_huge_attainment_fits_its_column(self):
        self.define("tiny", "--target", "0.001")
        self.record("tiny", "5000", "2026-11-24")
        (row,) = self.report()
        self.assertAlmostEqual(row["attainment"], 5e6)
        (line,) = self.ok("kpi", "report").out.splitlines()[1:]
        self.assertTrue(line.endswith(">9999%"), line)


if __name__ == "__main__":
    clitest.main()
