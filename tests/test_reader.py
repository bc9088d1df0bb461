"""A reader's test: the reports read as a council analyst, a charity researcher or a phone user would read them.

On the default run (tests/conftest.py) and on a three-year run with a planted rise whose authorities carry real
GSS codes (Kent, Birmingham, Westminster), every page, spreadsheet and printed PDF is read for what a reader meets:

- no code name: no snake_case token, no module name (``analysis.x``), no file path or file name;
- no hidden cell called small: every ``c`` is worded the same way, and "small" or "too few" appears only in the
  generic sentences that explain the symbol (a particular hidden cell may be a larger count hidden to protect a
  small one, and saying which would itself reveal something);
- names and dates: each report is titled with the authority's name where the shipped DfE list has one, and the
  period as dates; no raw ISO date or time stamp;
- the answer first: in the three-year run, every report whose own change is significant and shown says so in its
  key findings, and none claims a change its tests do not support;
- print: the PDFs are A4 and carry none of the page's screen-only text.

And one run whose disclosure audit fails (the audit made to report a leak) says "Do not publish", with the same
words, on its index, at the top of every report, on every spreadsheet's cover and on the command line.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis.render import browser, words

pytestmark = pytest.mark.slow

REAL = {"E08999901": "E10000016", "E08999902": "E08000025", "E08999903": "E09000033"}   # Kent, Birmingham, Westminster
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
CODE_PATHS = [re.compile(p) for p in (r"\banalysis\.[a-z_]+", r"\b[\w-]+\.(?:py|md|ipynb|csv|json|pkl|pickle|j2)\b",
                                      r"(?<![\w.])(?:docs|src|notebooks|tables|figures|publication)/",
                                      r"\bctx\.\w+", r"\brisk_levels\b|\bla_code\b|\bmin_cell\b")]
ISO = re.compile(r"\b\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d)?\b")
# The generic sentences that explain the symbol c (the same on every page): the only places "small" may appear.
GENERIC = [words.SYMBOL_MEANINGS["c"], words.HIDDEN, "so that a small number cannot be worked out",
           "so that a small count cannot be worked out",
           "the p-value too small", "too few events"]   # statistics' own words, about no hidden cell
SMALL = re.compile(r"\bsmall\b|\btoo few\b", re.I)
SCREEN_ONLY = ("Download this table", "Show all", "Spreadsheet of every table", "Skip to the report", "In this report",
               "The chart's numbers are in the table below")


def _text(soup) -> str:
    for tag in soup(["style", "script"]):
        tag.decompose()
    alts = " ".join(img.get("alt", "") for img in soup.find_all("img"))
    return " ".join((soup.get_text(" ") + " " + alts).split())


def problems_in(text: str, where: str) -> list[str]:
    """What a reader should not meet in ``text``: code names, paths, 'small' for a hidden cell, raw ISO dates."""
    found = [f"{where}: code name {m!r}" for m in dict.fromkeys(SNAKE.findall(text))]
    for pattern in CODE_PATHS:
        found += [f"{where}: code or path {m!r}" for m in dict.fromkeys(pattern.findall(text))]
    plain = text
    for phrase in GENERIC:
        plain = re.sub(re.escape(phrase), " ", plain, flags=re.I)
    for m in SMALL.finditer(plain):
        found.append(f"{where}: 'small' for a hidden cell: ...{plain[max(0, m.start() - 80):m.end() + 40]}...")
    found += [f"{where}: raw date {m!r}" for m in dict.fromkeys(ISO.findall(text))]
    return found


def workbook_text(path: Path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    cells = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row
             if isinstance(v, str)]
    return " ".join(" ".join(cells).split())


def printed_text(page: Path) -> str:
    """What the PDF shows: the page's text under print styles, as Chromium prints it (``browser.print_pdf``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=browser.find_chromium(), args=["--no-sandbox"])
        try:
            tab = chromium.new_context(offline=True).new_page()
            tab.goto(page.resolve().as_uri())
            tab.emulate_media(media="print")
            tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            return " ".join(tab.evaluate("document.body.innerText").split())
        finally:
            chromium.close()


def reader_problems(run: Path) -> list[str]:
    """Every report page, spreadsheet and PDF of a run, and its index, read as a reader would."""
    found = []
    pages = sorted(run.glob("*/report.html")) + [run / "index.html"]
    assert len(pages) > 2
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        found += problems_in(_text(soup), str(page.relative_to(run)))
    for book in sorted(run.glob("*/report.xlsx")):
        found += problems_in(workbook_text(book), str(book.relative_to(run)))
    if browser.find_chromium() is not None:
        for pdf in sorted(run.glob("*/report.pdf")):
            assert re.search(rb"/MediaBox \[0 0 59[45](\.\d+)? 84[12](\.\d+)?\]", pdf.read_bytes()), pdf   # A4
            text = printed_text(pdf.with_suffix(".html"))
            found += problems_in(text, str(pdf.relative_to(run)))
            found += [f"{pdf.relative_to(run)}: screen-only text {s!r}" for s in SCREEN_ONLY if s in text]
    return found


def titles_problems(run: Path) -> list[str]:
    """Each authority's report (and index entry) named where the shipped lookup names it; periods as dates."""
    found = []
    index = BeautifulSoup((run / "index.html").read_text(encoding="utf-8"), "html.parser").get_text(" ")
    for folder in sorted(p for p in run.iterdir() if (p / "report.html").exists()):
        soup = BeautifulSoup((folder / "report.html").read_text(encoding="utf-8"), "html.parser")
        title = " ".join(soup.h1.get_text(" ").split())
        if not re.search(r"\d{1,2} [A-Z][a-z]+ \d{4} to \d{1,2} [A-Z][a-z]+ \d{4}$", title):
            found.append(f"{folder.name}: no period as dates in the title {title!r}")
        name = words.la_name(folder.name)
        if name and name not in title:
            found.append(f"{folder.name}: title {title!r} without the name {name!r}")
        if name and name not in index:
            found.append(f"index: no name for {folder.name}")
    return found


# --- the runs ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def three_real(tmp_path_factory):
    """Three synthetic study years, criminal exploitation three times as likely in the last, under real codes."""
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.synth.command import write_synthetic

    base = tmp_path_factory.mktemp("reader")
    data = write_synthetic(base / "data", years=3, plant={"cce_victim": 3.0})
    episodes = pd.read_csv(data / "episodes.csv", dtype=str, keep_default_na=False)
    episodes["la_code"] = episodes["la_code"].map(REAL)
    episodes.to_csv(data / "episodes.csv", index=False)
    out = base / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RHI_NOTEBOOKS", raising=False)
        result = CliRunner().invoke(app, ["batch", str(data), "--out", str(out), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    return {"data": data, "out": out, "output": result.output}


def test_the_default_run_reads_as_a_reader_needs(default_run):
    assert default_run.result.exit_code == 0, default_run.result.output
    assert reader_problems(default_run.out) == []
    assert titles_problems(default_run.out) == []


def test_a_three_year_run_under_real_codes_reads_as_a_reader_needs(three_real):
    assert reader_problems(three_real["out"]) == []
    assert titles_problems(three_real["out"]) == []


def test_the_largest_authority_is_titled_with_its_name_and_its_period_as_dates(three_real):
    episodes = pd.read_csv(three_real["data"] / "episodes.csv", parse_dates=["missing_start"])
    largest = episodes["la_code"].value_counts().idxmax()
    first, last = episodes["missing_start"].min(), episodes["missing_start"].max()
    title = BeautifulSoup((three_real["out"] / largest / "report.html").read_text(), "html.parser").h1.get_text()
    assert " ".join(title.split()) == (f"Return home interviews: {words.la_name(largest)}, "
                                       f"{first.day} {first:%B %Y} to {last.day} {last:%B %Y}")
    book = workbook_text(three_real["out"] / largest / "report.xlsx")
    assert book.startswith(" ".join(title.split()))                      # the spreadsheet's cover: the same title


def _own_flags(changes: pd.DataFrame) -> set[str]:
    """The figures whose own change is significant and shown, read from the published table alone: a published
    flag, or, where the run hides every adjusted verdict, Benjamini-Hochberg over the p-values it shows."""
    from statsmodels.stats.multitest import multipletests

    flagged = set(changes.loc[changes["verdict"].isin(["increase", "decrease"]), "figure"])
    hidden = changes[(changes["verdict"] == "c") & (changes["p_value"] != "c")]
    if len(hidden) and not changes["verdict"].isin(["increase", "decrease", "no evidence of change"]).any():
        _, q, _, _ = multipletests(hidden["p_value"].astype(float), method="fdr_bh")
        flagged |= set(hidden.loc[(q < 0.05) & (hidden["test"] == "change").to_numpy(), "figure"])
    return flagged


def test_every_significant_change_that_is_shown_is_in_its_reports_key_findings(three_real):
    checked = said = 0
    for folder in sorted(p for p in three_real["out"].iterdir() if (p / "tables" / "years_changes.csv").exists()):
        changes = pd.read_csv(folder / "tables" / "years_changes.csv", dtype=str, keep_default_na=False)
        changes = changes[changes["test"] == "change"].assign(figure=lambda t: t["figure"])
        box = BeautifulSoup((folder / "report.html").read_text(), "html.parser").find("section", class_="headlines")
        findings = " ".join(box.get_text(" ").split())
        flagged = _own_flags(pd.read_csv(folder / "tables" / "years_changes.csv", dtype=str, keep_default_na=False))
        for figure in changes["figure"]:
            claimed = re.search(re.escape(figure) + r"[^.]*: (up|down),", findings) is not None
            assert claimed == (figure in flagged), (folder.name, figure, findings)
            said += claimed
        if not flagged and (changes["verdict"] != "c").any():
            assert "No headline figure" in findings, (folder.name, findings)
        checked += 1
    assert checked == 4 and said >= 1     # all authorities and the three; the planted rise is found in the whole


# --- a run the audit fails ----------------------------------------------------------------------------

def test_a_run_whose_audit_fails_says_do_not_publish_everywhere_in_the_same_words(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.run import batch
    from test_batch import make_dataset, make_notebooks

    leak = {"ok": False, "cells": 10, "suppressed": 3, "leaks": 2, "inconsistencies": 0, "unresolved": 0,
            "useless_suppressions": 0, "checked_by": "a stand-in that reports a leak"}
    monkeypatch.setattr(batch, "audit_run", lambda staging, certificates=None: dict(leak))
    data, _ = make_dataset(tmp_path / "data")
    monkeypatch.setenv("RHI_NOTEBOOKS", str(make_notebooks(tmp_path / "notebooks")))
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["batch", str(data), "--out", str(out), "--jobs", "2"])
    said = words.verdict(leak)
    assert said["heading"] == "Do not publish" and "2 hidden numbers can be worked out" in said["text"]
    assert result.exit_code == 1 and f"Disclosure audit: {said['text']}" in result.output
    index = BeautifulSoup((out / "index.html").read_text(), "html.parser")
    first = index.find("header").find("div", class_="banner")
    assert " ".join(first.get_text(" ").split()) == said["text"]          # stated first, in the same words
    reports = [p for p in sorted(out.iterdir()) if (p / "report.html").exists()]
    assert len(reports) == 4
    for folder in reports:
        page = BeautifulSoup((folder / "report.html").read_text(), "html.parser")
        top = page.find("header").find("div", class_="unsafe")
        assert top is not None and " ".join(top.get_text(" ").split()) == said["text"], folder
        if (folder / "report.xlsx").exists():
            assert said["text"] in workbook_text(folder / "report.xlsx"), folder
    assert json.loads((out / "manifest.json").read_text())["verdict"]["text"] == said["text"]


def test_a_run_whose_audit_passes_says_safe_to_publish_and_no_report_warns(default_run):
    index = BeautifulSoup((default_run.out / "index.html").read_text(), "html.parser")
    assert index.find("header").find("div", class_="banner").get_text(" ").strip().startswith("Safe to publish:")
    assert "Disclosure audit: Safe to publish:" in default_run.result.output
    for page in default_run.out.glob("*/report.html"):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        assert soup.find("div", class_="unsafe") is None and "Safe to publish:" in soup.get_text(" ")
