"""What `make report` and `make compare` do, end to end: the real notebooks on the default synthetic study.

`rhi batch` runs every notebook for each of the three authorities, for all of
them together and the comparison across them. Every report must finish, and
every file written must be safe to share (no child id, no count from 1 to
min_cell - 1 in a count column or in figures.json).
"""

from __future__ import annotations

import csv
import json
import re

import pandas as pd
import pytest

from test_outputs_safe import is_count_column, small, small_counts_in_figures_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(default_run):
    """The default run (tests/conftest.py: made once per session, shared with test_accessibility.py)."""
    data, out = default_run.data, default_run.out
    ids = pd.read_csv(data / "children.csv", dtype=str)["child_id"].tolist()
    return {"data": data, "out": out, "result": default_run.result, "ids": ids,
            "manifest": json.loads((out / "manifest.json").read_text())}


def test_every_report_of_the_default_run_finishes(run):
    assert run["result"].exit_code == 0, run["result"].output
    reports = run["manifest"]["reports"]
    assert {"all", "compare", "E08999901", "E08999902", "E08999903"} <= set(reports)
    assert all(r["status"] == "ok" for r in reports.values()), {k: r.get("error") for k, r in reports.items()}
    index = (run["out"] / "index.html").read_text()
    for key in ("E08999901", "E08999902", "E08999903"):
        assert f"{key}/report.html" in index
        assert (run["out"] / key / "report.html").exists()
    assert "synthetic" in (run["out"] / "all" / "report.html").read_text().lower()


def test_each_notebook_left_its_figures_and_tables(run):
    folder = run["out"] / "all"
    figures = json.loads((folder / "figures.json").read_text())
    assert figures["synthetic_data"] is True and figures["disclosure_control"]["suppressed"] is True
    assert {"replication", "linkage"} <= set(figures)
    names = {p.stem for p in (folder / "tables").glob("*.csv")}
    assert {"published_vs_replicated", "prevalence_by_risk_rhis"} <= names
    assert len(list((folder / "figures").glob("*.png"))) >= 6


def test_replication_table_in_the_report_matches_the_published_figures(run):
    table = pd.read_csv(run["out"] / "all" / "tables" / "published_vs_replicated.csv")
    counts = table["status"].value_counts()
    assert counts.get("differs", 0) == 0, table[table["status"] == "differs"].to_string()
    assert counts.get("report inconsistent", 0) == 1           # 3.5% printed for 51 of 1,490
    assert counts.get("suppressed", 0) >= 1                    # small counts stay hidden, even when they match
    assert counts.get("not published", 0) == 1                # one child's own value (max_episodes_one_child)
    assert counts.get("matches", 0) + counts.get("suppressed", 0) == len(table) - 2


def test_no_child_id_in_any_output(run):
    pattern = re.compile("|".join(map(re.escape, run["ids"])))
    for path in (p for p in run["out"].rglob("*") if p.is_file()):
        hit = pattern.search(path.read_bytes().decode("utf-8", errors="ignore"))
        assert hit is None, f"child id in {path.relative_to(run['out'])}"


def test_no_small_count_in_any_table_or_figures_json(run):
    checked = 0
    for path in run["out"].rglob("tables/*.csv"):
        with path.open(newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle), start=2):
                for column, value in row.items():
                    # published_* columns hold the report's own (public) numbers, not counts from the records
                    if column and is_count_column(column) and not column.startswith("published"):
                        checked += 1
                        assert not small(value), f"{path.relative_to(run['out'])} row {row_number}, {column} = {value}"
    problems, in_json = small_counts_in_figures_json(run["out"])
    assert not problems
    assert checked + in_json > 500


def test_the_run_publication_passes_the_independent_audit(run):
    """Issue 13: one protected set of numbers per run, audited by code that shares nothing with the suppression."""
    publication, audit = run["manifest"]["publication"], run["manifest"]["disclosure_audit"]
    assert audit["ok"] is True and audit["leaks"] == 0, audit
    assert publication["primary"] > 0 and publication["secondary"] > 0
    assert "suppressed as small (primary)" in run["result"].output
    from analysis.attack import audit_publication

    again = audit_publication(run["out"] / "publication")   # what a reader of the published files can do
    assert again.ok and again.suppressed == publication["primary"] + publication["secondary"]


def _published_numbers(folder) -> list[float]:
    cells = pd.read_csv(folder / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    stats = pd.read_csv(folder / "publication" / "statistics.csv", dtype=str, keep_default_na=False)
    values = [v for v in list(cells["value"]) + list(stats["value"]) if v not in ("c", "z", "x", "")]
    from analysis.reference.compare import load_reference

    reference = [f.get(k) for f in load_reference()["figures"] for k in ("count", "pct")]
    return sorted({float(v) for v in values} | {float(v) for v in reference if v is not None} | dfe_numbers())


def dfe_numbers() -> set[float]:
    """England's published DfE figures (children looked after who went missing, every year), which a report shows
    beside the records as context: public numbers, not the run's."""
    from analysis.render.years_plots import dfe_table

    table, _ = dfe_table(None)
    columns = ["went_missing", "looked_after", "pct", "ci_low", "ci_high"]
    return {float(v) for v in table[columns].to_numpy().ravel() if v is not None and v == v}


def _table_numbers(html: str) -> list[str]:
    from html.parser import HTMLParser

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.in_td, self.skip, self.found, self.text = False, 0, [], ""

        def handle_starttag(self, tag, attrs):
            if tag == "td":
                self.in_td, self.text = True, ""

        def handle_endtag(self, tag):
            if tag == "td" and self.in_td:
                self.found.append(self.text.strip())
                self.in_td = False

        def handle_data(self, data):
            if self.in_td:
                self.text += data

    parser = Cells()
    parser.feed(html)
    return [t for t in parser.found if re.fullmatch(r"-?[\d,]+(\.\d+)?", t)]


def test_every_number_in_the_report_tables_is_in_the_publication(run):
    """Each number a report's tables show is a published cell or statistic (or the study's own printed figure)."""
    import bisect

    published = _published_numbers(run["out"])
    checked = 0
    for report in run["out"].glob("*/report.html"):
        if report.parent.name == "compare":
            continue   # its one table lists published DfE figures, not this run's records
        for text in _table_numbers(report.read_text()):
            value = float(text.replace(",", ""))
            decimals = len(text.split(".")[1]) if "." in text else 0
            tolerance = 0.5 * 10 ** -decimals + 1e-9
            i = bisect.bisect_left(published, value - tolerance)
            assert i < len(published) and published[i] <= value + tolerance, f"{report.parent.name}: {text}"
            checked += 1
    assert checked > 300


def _visible_numbers(text: str) -> list[str]:
    """Numbers a reader sees, leaving out dates, months, authority codes and version strings."""
    text = re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", " ", text)
    text = re.sub(r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|"
                  r"December) \d{4}( at \d{2}:\d{2})?", " ", text)   # a date in words ('1 April 2017')
    text = re.sub(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December) "
                  r"\d{4}\b", " ", text)   # a month in words ('March 2018')
    text = re.sub(r"\b[EW]\d{8}\b", " ", text)
    text = re.sub(r"\d+\.\d+\.\d+", " ", text)
    text = re.sub(r"\b\d{4}-\d{2}\b", " ", text)
    return re.findall(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])", text)


def test_every_number_in_the_report_text_is_in_the_publication(run):
    """Headlines and sentences too: each number is published, or the study's own, or the notebooks' own words."""
    import bisect
    from html.parser import HTMLParser
    from pathlib import Path

    from analysis.reference.compare import audit_inconsistencies, load_reference

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.skip, self.parts = 0, []

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("style", "script")

        def handle_endtag(self, tag):
            self.skip -= tag in ("style", "script")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    own_words = set(_visible_numbers(" ".join(p.read_text() for p in notebooks.glob("*.ipynb"))))
    reference = load_reference()
    study = {float(f[k]) for f in reference["figures"] for k in ("count", "pct", "denominator") if f.get(k) is not None}
    study |= {float(x.replace(",", "")) for x in _visible_numbers(" ".join(audit_inconsistencies(reference).values()))}
    published = _published_numbers(run["out"])
    unexplained = {}
    for report in run["out"].glob("*/report.html"):
        if report.parent.name == "compare":
            continue
        parser = Text()
        parser.feed(report.read_text())
        for text in _visible_numbers(" ".join(parser.parts)):
            value = float(text.replace(",", ""))
            if text in own_words or value in study:
                continue
            decimals = len(text.split(".")[1]) if "." in text else 0
            tolerance = 0.5 * 10 ** -decimals + 1e-9
            i = bisect.bisect_left(published, value - tolerance)
            if not (i < len(published) and published[i] <= value + tolerance):
                unexplained.setdefault(report.parent.name, []).append(text)
    assert not unexplained, unexplained
