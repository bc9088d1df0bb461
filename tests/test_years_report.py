"""The section "This year against earlier years" (issue 18), from the publication to the page.

One batch on three synthetic study years with criminal exploitation disclosed three
times as often in the last year (``rhi synth --years 3 --plant cce_victim:3``), running
notebook 06 for every authority and for all of them: each report shows the section with
its charts; the years are cells of the run's publication, tied to the span's figures by
relations the independent audit attacks without finding a leak; the page shows exactly the
published cells. A one-year run registers no year cell (its publication is what it was
before the section existed) and says so. The drawing keeps a suppressed year as a gap.
"""

from __future__ import annotations

import shutil
from functools import partial

import matplotlib
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis.definitions.figures import FIGURES
from analysis.definitions.populations import Params
from analysis.definitions.trends import HEADLINE
from analysis.disclosure import Disclosure
from analysis.publish import years as pyears
from analysis.publish.plan import publishes_cell
from analysis.publish.cells import BREAKDOWNS, CellStore, key
from analysis.publish.tables import figure_keys
from analysis.render import years_plots
from analysis.run import batch

matplotlib.use("Agg")

SECTION = "06_this_year_against_earlier_years"
LABELS = ("2015-16", "2016-17", "2017-18")
# The multi-year batch takes 1.5 to 2 minutes on two shared cores: its tests are slow ones (make test runs them).
SLOW = pytest.mark.slow
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]   # as tests/test_accessibility.py


@pytest.fixture(scope="module")
def three_years(tmp_path_factory):
    """Three synthetic study years, criminal exploitation disclosed three times as often in the last."""
    from analysis.synth.command import write_synthetic

    return write_synthetic(tmp_path_factory.mktemp("three-years") / "data", years=3, plant={"cce_victim": 3.0})


@pytest.fixture(scope="module")
def run(tmp_path_factory, three_years):
    """The batch with notebook 06 only (the others do not change what this section shows or publishes)."""
    import time

    base = tmp_path_factory.mktemp("years")
    data = three_years
    notebooks = base / "notebooks"
    notebooks.mkdir()
    shutil.copy(batch.NOTEBOOKS / f"{SECTION}.ipynb", notebooks)
    out = base / "run"
    t0 = time.perf_counter()
    manifest = batch.run_batch(data, out, jobs=1, progress=False, notebooks_dir=notebooks)
    cells = pd.read_csv(out / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    cells = cells[(cells[list(BREAKDOWNS)] == "Total").all(axis=1)]   # no breakdown: the keys of the year tables
    relations = pd.read_csv(out / "publication" / "relations.csv", dtype=str, keep_default_na=False)
    return {"out": out, "manifest": manifest, "cells": cells, "relations": relations,
            "seconds": time.perf_counter() - t0, "keys": [k for k in manifest["reports"]]}


def _section(run, key_) -> BeautifulSoup:
    page = BeautifulSoup((run["out"] / key_ / "report.html").read_text(encoding="utf-8"), "html.parser")
    section = page.find(id=SECTION)
    assert section is not None, f"{key_}: no section {SECTION}"
    return section


# --- (a) every report has the section and its charts ------------------------------------------------

@SLOW
def test_every_report_shows_the_years_with_charts_alt_text_and_tables(run):
    reports = run["manifest"]["reports"]
    assert "all" in reports and len(reports) == 4, reports.keys()     # all + the three authorities
    assert all(r["status"] == "ok" for r in reports.values()), {k: r.get("error") for k, r in reports.items()}
    for key_ in reports:
        section = _section(run, key_)
        alts = [" ".join((img.get("alt") or "").split()) for img in section.find_all("img")]
        small = [a for a in alts if a.startswith("Charts side by side")]
        dfe = [a for a in alts if "DfE" in a]
        assert len(small) == 1 and len(dfe) == 1, (key_, alts)
        assert all(len(a) < 300 for a in alts), alts           # a short summary: the numbers are in the tables
        table = section.find("table", attrs={"data-table": "years_figures"})
        assert table is not None and section.find("a", href="#" + table["id"]) is not None   # the chart links it
        for label in LABELS:
            assert label in table.get_text(" "), (key_, label)
        for fid in _planned(key_):
            assert years_plots.label(fid) in table.get_text(" "), (key_, fid)
        england = section.find("table", attrs={"data-table": "dfe_looked_after_missing_by_year"})
        assert "England" in england.get_text(" ") and "2014-15" in england.get_text(" ")
        captions = [c.get_text(" ") for c in section.find_all("caption")]
        assert any(c.startswith("Headline figures by reporting year") for c in captions), (key_, captions)
        text = section.get_text(" ")
        assert years_plots.CAVEAT in " ".join(text.split()) or "increase" in text, key_
        for name in ("years_small_multiples", "years_dfe_looked_after_missing"):
            assert (run["out"] / key_ / "figures" / f"{name}.png").stat().st_size > 0
        assert (run["out"] / key_ / "tables" / "years_figures.csv").exists()


@SLOW
def test_the_pages_with_the_section_pass_axe(run):
    """WCAG 2.2 AA (axe-core, as tests/test_accessibility.py runs it) on an authority's report and all."""
    from analysis.render import browser

    if browser.find_chromium() is None:
        pytest.skip("Chromium is not installed; tests/test_accessibility.py runs the same check in CI")
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    authority = next(k for k in run["manifest"]["reports"] if k != "all")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=browser.find_chromium(), args=["--no-sandbox"])
        try:
            for key_ in ("all", authority):
                context = chromium.new_context(viewport={"width": 1280, "height": 900}, offline=True)
                try:
                    page = context.new_page()
                    page.goto((run["out"] / key_ / "report.html").as_uri())
                    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_22_AA}}).response
                finally:
                    context.close()
                assert len(result["passes"]) > 10, key_
                violations = [f"{v['id']}: {v['help']}; e.g. {v['nodes'][0]['html'][:160]}"
                              for v in result["violations"]]
                assert violations == [], key_
        finally:
            chromium.close()


def _planned(scope: str) -> list[str]:
    """The section's figures that the scope's plan publishes (analysis.publish.plan: an authority shows fewer
    measures than all authorities together)."""
    K = partial(key, scope)
    return [fid for fid in HEADLINE
            if all(publishes_cell(pyears.year_key(k, LABELS[0])) for k in figure_keys(K, fid, FIGURES[fid]))]


def _number(text: str) -> float:
    """A published value as a number: '<0.001' (how a tiny p-value is published) is read as 0.001."""
    return float(text.lstrip("<"))


def _visible_numbers(text: str) -> list[str]:
    """Numbers a reader sees, leaving out dates, reporting years and authority codes (as test_end_to_end.py)."""
    import re

    text = re.sub(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", " ", text)
    text = re.sub(r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|"
                  r"December) \d{4}( at \d{2}:\d{2})?", " ", text)   # a date in words ('1 April 2017')
    text = re.sub(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December) "
                  r"\d{4}\b", " ", text)   # a month in words ('March 2018')
    text = re.sub(r"\b[EW]\d{8}\b", " ", text)
    text = re.sub(r"\b\d{4}-\d{2}\b", " ", text)
    return re.findall(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])", text)


def _published_numbers(folder) -> list[float]:
    """Every value the run's publication prints: its cells and its statistics."""
    cells = pd.read_csv(folder / "publication" / "cells.csv", dtype=str, keep_default_na=False)
    stats = pd.read_csv(folder / "publication" / "statistics.csv", dtype=str, keep_default_na=False)
    from test_end_to_end import dfe_numbers   # England's DfE figures, shown beside the records as context

    return sorted({_number(v) for v in list(cells["value"]) + list(stats["value"]) if v not in ("c", "z", "x", "")}
                  | dfe_numbers())


# --- (b) the years are cells of the publication, and the audit attacks them ---------------------------

@SLOW
def test_years_are_cells_with_relations_and_the_audit_finds_no_leak(run):
    audit = run["manifest"]["disclosure_audit"]
    assert audit["ok"] is True and audit["leaks"] == 0 and audit["inconsistencies"] == 0, audit
    assert audit["unresolved"] == 0, audit
    cells, relations = run["cells"], run["relations"]
    year_cells = cells[cells["population"].str.contains(", year ")]
    for scope in run["manifest"]["reports"]:
        here = year_cells[year_cells["scope"] == scope]
        assert {p.rsplit(", year ", 1)[1] for p in here["population"]} == set(LABELS), scope
    assert (year_cells["value"] == "c").any(), "no year cell is suppressed: the attack had nothing to try"
    assert (year_cells["value"] != "c").any()
    # Each headline figure's count over the span is tied to its three years by a relation the audit reads.
    ids = dict(zip(zip(cells["scope"], cells["unit"], cells["population"], cells["measure"]), cells["cell_id"]))
    for scope in run["manifest"]["reports"]:
        span = ids[(scope, "children", "rhi_children", "cce_victim")]
        parts = {ids[(scope, "children", f"rhi_children, year {label}", "cce_victim")] for label in LABELS}
        totals = relations[(relations["role"] == "total") & (relations["cell_id"] == span)]["relation_id"]
        tied = [set(relations[(relations["relation_id"] == r) & (relations["role"] == "part")]["cell_id"])
                for r in totals]
        assert any(parts <= t for t in tied), scope
    from analysis.attack import audit_publication

    again = audit_publication(run["out"] / "publication")
    publication = run["manifest"]["publication"]
    assert again.ok and again.suppressed == publication["primary"] + publication["secondary"]


@SLOW
def test_the_page_shows_the_published_cells(run):
    """The years table of each report is the publication's cells, value for value (c where suppressed)."""
    cells = run["cells"]
    value = dict(zip(zip(cells["scope"], cells["unit"], cells["population"], cells["measure"]), cells["value"]))
    checked = 0
    for scope in run["manifest"]["reports"]:
        table = pd.read_csv(run["out"] / scope / "tables" / "years_figures.csv", dtype=str, keep_default_na=False)
        assert set(table["year"]) == set(LABELS)
        K = partial(key, scope)
        for row in table.to_dict("records"):
            fid = next(f for f in HEADLINE if years_plots.label(f) == row["figure"])
            c, d = (pyears.year_key(k, row["year"]) for k in figure_keys(K, fid, FIGURES[fid]))
            assert row["count"] == value[(scope, c.unit, c.population, c.measure)], (scope, fid, row["year"])
            assert row["denominator"] == value[(scope, d.unit, d.population, d.measure)], (scope, fid, row["year"])
            if row["count"] == "c":
                assert row["pct"] == row["ci_low"] == row["ci_high"] == "c"
            checked += 1
        planned = _planned(scope)
        assert set(table["figure"]) == {years_plots.label(f) for f in planned}, scope
        assert len(planned) >= (len(HEADLINE) if scope == "all" else 3), scope
    assert checked >= len(run["manifest"]["reports"]) * 3 * len(LABELS)


@SLOW
def test_every_number_in_the_section_is_published_or_the_notebooks_own(run):
    published = set(_published_numbers(run["out"]))
    notebook = (batch.NOTEBOOKS / f"{SECTION}.ipynb").read_text()
    own = set(_visible_numbers(notebook))
    for key_ in run["manifest"]["reports"]:
        section = _section(run, key_)
        for tag in section.find_all(["p", "td", "li"]):
            for text in _visible_numbers(tag.get_text(" ")):
                v = float(text.replace(",", ""))
                decimals = len(text.split(".")[1]) if "." in text else 0
                below = f"<{text}" in tag.get_text(" ")   # '<0.001' is how every table shows a tiny p-value
                ok = text in own or below or any(abs(v - p) <= 0.5 * 10 ** -decimals + 1e-9 for p in published)
                assert ok, (key_, text, tag.get_text(" ")[:200])


@SLOW
def test_a_planted_change_is_flagged_in_words_with_the_published_numbers(run):
    """CCE disclosure three times as likely in the last year: the all-authorities report says it rose."""
    changes = pd.read_csv(run["out"] / "all" / "tables" / "years_changes.csv", dtype=str, keep_default_na=False)
    cce = changes[(changes["figure"] == years_plots.label("cce_victim")) & (changes["test"] == "change")].iloc[0]
    assert cce["verdict"] == "increase" and _number(cce["q_value_bh"]) < 0.05
    text = " ".join(_section(run, "all").get_text(" ").split())
    assert ("Criminal exploitation disclosed: increase from 2016-17 to 2017-18, "
            f"+{float(cce['difference_points']):.1f} "
            f"percentage points (95% CI {float(cce['difference_low']):+.1f} to {float(cce['difference_high']):+.1f}"
            in text)
    quiet = changes[changes["verdict"] == "no evidence of change"]
    assert len(quiet) and years_plots.CAVEAT in text
    for row in changes.to_dict("records"):   # a flag only where the adjusted p-value is below 0.05
        if row["verdict"] in pyears.FLAG_WORDS:
            assert _number(row["q_value_bh"]) < 0.05
        elif row["q_value_bh"] not in ("c", ""):
            assert _number(row["q_value_bh"]) >= 0.05 or row["verdict"] != "no evidence of change"


@SLOW
def test_the_multi_year_batch_takes_what_it_took(run):
    """Not a limit: the time is printed so that a slower section shows in the test log (-s)."""
    print(f"multi-year batch (notebook 06, all + 3 authorities): {run['seconds']:.0f} s")
    assert run["seconds"] > 0


def test_every_scope_registers_the_run_years_and_compares_its_own(three_years):
    """An authority without records in the run's first year still has that year's cells (zeros), so all
    authorities' year is tied to each authority's; it is shown but not compared there."""
    from dataclasses import replace

    from analysis.dataset.validate import load_dataset
    from analysis.publish.publication import Publication

    ds = load_dataset(three_years)
    late = ds.la_codes[-1]
    eps = ds.episodes
    keep = eps[(eps["la_code"] != late) | (eps["missing_start"] >= pd.Timestamp("2016-04-01"))]
    links = ds.rhi_episodes[ds.rhi_episodes["episode_id"].isin(keep["episode_id"])]
    rhis = ds.rhis[ds.rhis["rhi_id"].isin(links["rhi_id"])]
    ds = replace(ds, episodes=keep, rhi_episodes=links, rhis=rhis,
                 disclosures=ds.disclosures[ds.disclosures["rhi_id"].isin(rhis["rhi_id"])])
    pub = Publication(Disclosure())
    for scope in ["all"] + list(ds.la_codes):
        sub, params = (ds, Params()) if scope == "all" else (ds.subset_la(scope), Params(la_code=scope))
        pyears.register_years(pub, scope, partial(key, scope), sub, params)
    table = pub.tables[(late, pyears.FIGURES_TABLE)].frame
    first = table[table["year"] == LABELS[0]]
    assert set(table["year"]) == set(LABELS) and (first["count"] == 0).all() and (first["denominator"] == 0).all()
    assert set(first["compared"]) == {"no: no records in this year"}
    assert set(table.loc[table["year"] != LABELS[0], "compared"]) == {"yes"}
    changes = pub.tables[(late, pyears.CHANGES_TABLE)].frame
    assert set(changes["test"]) == {"change"}   # two compared years: a change, no trend
    assert f"No records in {LABELS[0]}" in " ".join(years_plots.notes(table, changes))
    whole = pyears.year_key(key("all", "children", "rhi_children"), LABELS[0])
    tied = [r for r in pub.store.relations() if r.total == whole and {p.scope for p in r.parts} == set(ds.la_codes)]
    assert tied, "all authorities' first year is not tied to the authorities' first year"


# --- (c) one reporting year: no year cells, one sentence --------------------------------------------

class _Shown:
    def __init__(self):
        self.said, self.figures, self.tables, self.records, self.saved = [], [], [], {}, []


def _context(ds, params, tables, shown: _Shown):
    from analysis.render.report import ReportContext

    ctx = ReportContext(ds, params, Disclosure(), None, ds.path, tables=tables, scope=params.la_code or "all")
    ctx.say = lambda *lines, bullets=False, fold=None: shown.said.extend(lines)
    ctx.show_figure = lambda fig, name, alt, caption: shown.figures.append((fig, name, alt, caption))
    ctx.show_table = lambda table, name, caption, missing=None, save=True, fold=None: shown.tables.append(name)
    ctx.save_table = lambda table, name: shown.saved.append(name)
    ctx.record = lambda k, v: shown.records.__setitem__(k, v)
    return ctx


def test_one_year_registers_no_year_cell_and_says_so(tmp_path, monkeypatch):
    from analysis.dataset.validate import load_dataset
    from analysis.publish.build import build_publication, tables_of
    from analysis.render.plots import NotDrawn
    from analysis.synth.command import write_synthetic

    ds = load_dataset(write_synthetic(tmp_path / "one"))
    code = min(ds.la_codes, key=lambda c: int((ds.episodes["la_code"] == c).sum()))   # the smallest: fast
    params = Params()
    assert [y.label for y in pyears.scope_years(ds.subset_la(code), Params(la_code=code))] == ["2017-18"]
    pub = build_publication(ds, params, [code], Disclosure())
    assert not [k for k in pub.store.values if ", year " in k.population]
    assert not pub.has(code, pyears.FIGURES_TABLE) and not pub.has(code, pyears.CHANGES_TABLE)
    # The same publication as without the section: the same cells, values and suppression.
    monkeypatch.setattr(pyears, "register_years", lambda *a, **k: None)
    before = build_publication(ds, params, [code], Disclosure())
    assert before.store.values == pub.store.values and before.protection.hidden == pub.protection.hidden
    shown = _Shown()
    ctx = _context(ds.subset_la(code), Params(la_code=code), tables_of(pub, code), shown)
    years_plots.show_years(ctx)
    (said,) = shown.said
    assert "one reporting year (2017-18)" in said and "nothing to compare" in said
    assert shown.figures == [] and shown.tables == [] and shown.records["years"]["compared"] is False
    years_plots.show_dfe(ctx)
    (fig, name, alt, caption), = shown.figures
    assert not isinstance(fig, NotDrawn) and "England: 2014-15" in alt and code in shown.said[-1]
    assert shown.tables == ["dfe_looked_after_missing_by_year"]   # England alone: its numbers in a table too


def test_a_real_authority_gets_its_dfe_years_beside_england_in_a_table():
    table, note = years_plots.dfe_table("E08000025")
    assert set(table["area"]) == {"Birmingham", "England"} and "beside England" in note   # named, not coded
    years = list(dict.fromkeys(table["year"]))
    assert years[0] == "2014-15" and len(years) == len(table) // 2
    row = table[(table["area"] == "England") & (table["year"] == "2014-15")].iloc[0]
    assert row["went_missing"] == 6110 and row["looked_after"] == 99230 and row["ci_low"] < row["pct"] < row["ci_high"]
    alt = years_plots.dfe_alt(table)
    assert "Birmingham: 2014-15" in alt and "England: 2014-15 6.2% (6,110 of 99,230)" in alt
    england, why = years_plots.dfe_table(None)
    assert set(england["area"]) == {"England"} and "England's rate is shown alone" in why


# --- (d) the drawing: a suppressed year is a gap, never a zero ------------------------------------------

def _series(pcts, compared=("yes", "yes", "yes"), fid="cse_victim"):
    rows = []
    for label, pct, comp in zip(LABELS, pcts, compared):
        hidden = not isinstance(pct, float)
        rows.append({"figure": fid, "year": label, "compared": comp, "count": pct if hidden else 20,
                     "denominator": 100, "pct": pct, "ci_low": pct if hidden else pct - 5,
                     "ci_high": pct if hidden else pct + 5})
    return pd.DataFrame(rows)


def test_a_suppressed_year_is_drawn_as_a_labelled_gap_not_a_zero():
    import matplotlib.pyplot as plt
    import numpy as np

    table = _series([20.0, "c", 30.0])
    fig = years_plots.small_multiples(table)
    ax = fig.axes[0]
    at_middle = []
    for line in ax.get_lines():
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        at_middle += list(y[x == 1])
    assert at_middle and all(np.isnan(v) for v in at_middle), at_middle   # nothing drawn at the hidden year
    assert not any(v == 0 for line in ax.get_lines() for v in np.asarray(line.get_ydata(), float))
    labels = [(t.get_text(), t.get_position()[0]) for t in ax.texts]
    assert ("c", 1) in labels
    assert "2016-17 not shown (c), a gap" in years_plots.small_multiples_alt(table)
    plt.close(fig)
    fig = years_plots.small_multiples(_series([20.0, "x", 30.0]))
    assert ("x", 1) in [(t.get_text(), t.get_position()[0]) for t in fig.axes[0].texts]
    plt.close(fig)
    assert isinstance(years_plots.small_multiples(_series(["c", "c", "c"])), years_plots.NotDrawn)


def test_a_partial_year_is_an_open_dot_and_named_in_the_notes():
    import matplotlib.pyplot as plt

    table = _series([20.0, 25.0, 30.0], compared=("no: partial year", "yes", "yes"))
    fig = years_plots.small_multiples(table)
    dots = [line for line in fig.axes[0].get_lines() if line.get_marker() == "o"]
    faces = [matplotlib.colors.to_hex(d.get_markerfacecolor()) for d in dots]
    assert faces[0] == "#ffffff" and all(f != "#ffffff" for f in faces[1:])
    plt.close(fig)
    assert any("2015-16" in n and "not compared" in n for n in years_plots.notes(table, None))
    assert "partial year" in years_plots.small_multiples_alt(table)


def test_sentences_flag_only_where_the_adjusted_test_does():
    def row(fid, verdict, q, test="change", diff=4.2, lo=1.1, hi=7.3):
        return {"figure": fid, "test": test, "years": "2016-17 to 2017-18", "method": "two-sample score test",
                "verdict": verdict, "difference_points": diff, "difference_low": lo, "difference_high": hi,
                "p_value": 0.001, "q_value_bh": q, "tests_in_family": 4}

    changes = pd.DataFrame([row("cce_victim", "increase", 0.004),
                            row("cse_victim", "no evidence of change", 0.3),      # p 0.001 but q 0.3: no flag
                            row("mental_health", "c", "c"),
                            row("substance_misuse", "rising", 0.02, test="trend", diff=None, lo=None, hi=None)])
    said = years_plots.change_sentences(changes)
    joined = " ".join(said)
    assert said[0] == ("Criminal exploitation disclosed: increase from 2016-17 to 2017-18, +4.2 percentage points "
                       "(95% CI +1.1 to +7.3; two-sample score test, p 0.001; adjusted p 0.004); more than chance "
                       "would explain once the tests are adjusted for their number (Benjamini-Hochberg).")
    assert "Substance misuse disclosed: a rising trend over 2016-17 to 2017-18" in joined
    assert "No evidence of change: Sexual exploitation disclosed." in said
    assert "Not shown (c) for Mental-health issue disclosed" in joined and years_plots.CAVEAT in said
    assert "Sexual exploitation disclosed: increase" not in joined and "small" not in joined.split("so that")[0]


def test_a_change_whose_own_test_is_shown_is_judged_over_the_tests_that_can_be_shown():
    """One hidden count hides every adjusted verdict of a family; the tests whose own p-values are shown are then
    adjusted among themselves (Benjamini-Hochberg), and a change that clears that is a key finding."""
    def row(fid, p, diff, verdict="c", test="change"):
        return {"figure": fid, "test": test, "years": "2016-17 to 2017-18", "method": "two-sample score test",
                "verdict": verdict, "difference_points": diff, "difference_low": diff if diff == "c" else diff - 3,
                "difference_high": diff if diff == "c" else diff + 3, "p_value": p, "q_value_bh": "c",
                "tests_in_family": "c"}

    changes = pd.DataFrame([row("cce_victim", 0.009, 14.5), row("mental_health", 0.3, 2.0),
                            row("cse_victim", "c", "c")])
    figures = pd.DataFrame([{"figure": "cce_victim", "year": y, "compared": "yes", "count": k, "denominator": n,
                             "pct": round(100 * k / n, 1), "ci_low": 1.0, "ci_high": 50.0}
                            for y, k, n in (("2016-17", 10, 80), ("2017-18", 24, 87))])
    said = " ".join(years_plots.change_sentences(changes))
    assert "Criminal exploitation disclosed: increase from 2016-17 to 2017-18, +14.5 percentage points" in said
    assert "once the 2 tests whose results can be shown are adjusted" in said
    assert "No evidence of change: Mental-health issue disclosed." in said
    assert "Not shown (c) for Sexual exploitation disclosed" in said
    (line,) = years_plots.headlines(figures, changes, "Kent (E10000016)")
    assert line.startswith("Criminal exploitation disclosed, Kent (E10000016): up, from 12.5% (10 of 80) in 2016-17 "
                           "to 27.6% (24 of 87) in 2017-18, +14.5 percentage points")
    assert "adjusted over the 2 tests that can be shown" in line
    # With six tests shown, p = 0.009 no longer clears the adjustment (0.009 x 6 = 0.054)
    many = pd.concat([changes] + [changes.iloc[1:2].assign(figure=f) for f in
                                  ("cse_red_flag_any", "substance_misuse", "repeat_episodes", "one_to_one_offered_or_provided")])
    quiet = years_plots.headlines(figures, many, "Kent (E10000016)")
    assert quiet == ["No headline figure for Kent (E10000016) whose test can be shown changed from 2016-17 to 2017-18 "
                     "by more than chance would explain (adjusted over the 6 tests that can be shown). The test for "
                     "sexual exploitation disclosed is not shown (c), so that a small number cannot be worked out."]


# --- relations between a span and its years ----------------------------------------------------------

def test_the_strongest_relation_that_holds_is_declared():
    class Pub:
        store = CellStore()

    pub = Pub()
    K = partial(key, "E1")
    episodes = K("episodes", "in_scope_episodes", "repeat_episodes")
    kids = K("children", "rhi_children", "cse_victim")
    parts = {}
    for span, values, total in ((episodes, (3, 4, 2), 10), (kids, (3, 4, 2), 8)):
        pub.store.add(span, total)
        parts[span] = [pub.store.add(pyears.year_key(span, label), v) for label, v in zip(LABELS, values)]
        pyears._relate_years(pub, span, parts[span])
    kinds = {r.total: r for r in pub.store.explicit}
    rest = kinds[episodes].parts[-1]   # episodes: the years plus a remainder no output shows (10 = 3 + 4 + 2 + 1)
    assert kinds[episodes].kind == "sum" and pub.store.values[rest] == 1 and not pub.store.shown_in.get(rest)
    assert kinds[kids].kind == "overlap"   # children: 8 <= 3 + 4 + 2, each year <= 8
    assert pub.store.relations()           # every declared relation holds (else PublicationError)
