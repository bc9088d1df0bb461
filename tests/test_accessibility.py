"""The pages of a run on the default synthetic study, as a reader and a screen reader meet them.

One batch (``rhi batch`` on the study made with seed 2019, every authority, the
all-authorities report and the comparison) is checked for:

- WCAG 2.2 AA with axe-core (bundled by axe-playwright-python) in the system's
  headless Chromium, offline, on the index, one authority's report, the
  all-authorities report and the comparison, at 1280 and 400 CSS pixels wide;
- reflow: at 400 pixels wide no page scrolls sideways (a wide table scrolls
  inside its own labelled region);
- what the HTML holds, parsed: no NaN, no pandas truncation ("rows x"), every
  image with alt text that is not a file name, no blank chart, no figure without
  an image, every table header cell with a scope, the disclosure statement once;
- the spreadsheet and the PDF beside each report.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from analysis.render import browser
from analysis.render.html import blank_png

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(browser.find_chromium() is None and not os.environ.get("CI"),
                       reason="Chromium is not installed (apt-get install chromium); in CI .ci/run installs it, "
                              "and these checks never skip"),
]

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AUTHORITY = "E08999901"
PAGES = ["index.html", f"{AUTHORITY}/report.html", "all/report.html", "compare/report.html"]
REPORTS = ["all", "compare", "E08999901", "E08999902", "E08999903"]


@pytest.fixture(scope="module")
def run(default_run):
    """The default run (tests/conftest.py: made once per session, shared with test_end_to_end.py)."""
    assert default_run.result.exit_code == 0, default_run.result.output
    return default_run.out


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser_ = pw.chromium.launch(executable_path=browser.find_chromium(), args=["--no-sandbox"])
        try:
            yield browser_
        finally:
            browser_.close()


def axe(chromium, url: str, width: int, contrast: bool = True) -> dict:
    """axe-core's results for the page at ``url``, opened offline at ``width`` CSS pixels."""
    from axe_playwright_python.sync_playwright import Axe

    context = chromium.new_context(viewport={"width": width, "height": 900}, offline=True)
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else route.abort())
        page.goto(url)
        options = {"runOnly": {"type": "tag", "values": WCAG_22_AA}}
        if not contrast:
            options["rules"] = {"color-contrast": {"enabled": False}}
        result = Axe().run(page, options=options).response
        result["scroll_width"] = page.evaluate("document.documentElement.scrollWidth")
        return result
    finally:
        context.close()


@pytest.fixture(scope="module")
def checked(run, chromium):
    """Every page at 1280 pixels (all rules) and at 400 (all but colour contrast, which a width cannot change:
    it is the slowest rule on these pages)."""
    return {(name, width): axe(chromium, (run / name).as_uri(), width, contrast=width != 400)
            for name in PAGES for width in (1280, 400)}


def described(violations: list) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']}; e.g. {v['nodes'][0]['html'][:160]}" for v in violations]


def test_axe_finds_what_it_should(chromium, tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<html><body><img src="x.png"><p style="color:#bbb">faint</p>'
                    '<table><tr><th></th><td>1</td></tr></table></body></html>')
    found = {v["id"] for v in axe(chromium, page.as_uri(), 1280)["violations"]}
    assert {"image-alt", "color-contrast", "html-has-lang", "document-title"} <= found


@pytest.mark.parametrize("width", [1280, 400])
def test_no_wcag_violation_on_the_four_pages(checked, width):
    for name in PAGES:
        result = checked[(name, width)]
        assert len(result["passes"]) > 10, name      # axe ran its rules on a real page
        assert described(result["violations"]) == [], (name, width)


def test_pages_reflow_at_400_pixels_without_scrolling_sideways(checked):
    for name in PAGES:
        width = checked[(name, 400)]["scroll_width"]
        assert width <= 400, f"{name} is {width} px wide at a 400 px window"


def pages(run: Path):
    for key in REPORTS:
        yield key, BeautifulSoup((run / key / "report.html").read_text(encoding="utf-8"), "html.parser")


def visible_text(soup) -> str:
    for tag in soup(["style", "script"]):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def figure_names(folder: Path) -> set[str]:
    names = set()
    for path in (folder / "figures").glob("*.*"):
        names |= {path.name.lower(), path.stem.lower(), path.stem.replace("_", " ").lower()}
    return names


def test_no_nan_and_no_truncated_table_in_any_report(run):
    for key, soup in pages(run):
        text = visible_text(soup)
        assert not re.search(r"\bNaN\b|<NA>", text), key
        assert not re.search(r"\d+ rows × \d+ columns", text), key


def test_every_image_has_alt_text_that_is_not_a_file_name_and_no_chart_is_empty(run):
    import base64

    for key, soup in pages(run):
        names = figure_names(run / key)
        for img in soup.find_all("img"):
            alt = " ".join((img.get("alt") or "").split())
            assert alt, (key, "an image without alt text")
            assert "missing-alt" not in (img.get("class") or []), (key, "an image the notebook gave no alt text")
            assert alt.lower() not in names and not re.search(r"\.(png|svg|jpe?g)\b", alt, re.I), (key, alt)
            src = img.get("src", "")
            if src.startswith("data:image/png;base64,"):
                assert not blank_png(base64.b64decode(src.split(",", 1)[1])), (key, "a blank chart", alt)
        for figure in soup.find_all("figure"):
            assert figure.find("img") is not None, (key, "a figure without an image")


def test_every_table_header_has_a_scope_and_every_table_its_own_labelled_region(run):
    for key, soup in pages(run):
        tables = soup.find_all("table")
        assert tables, key
        for table in tables:
            assert all(th.get("scope") in ("col", "row") for th in table.find_all("th")), key
            assert not [th for th in table.find_all("th") if not th.get_text().strip()], key
            region = table.find_parent("div", class_="table-wrap")
            assert region is not None and region.get("role") == "region" and region.get("aria-label"), key
        labels = [d["aria-label"] for d in soup.find_all("div", class_="table-wrap")]
        assert len(labels) == len(set(labels)), (key, "two tables with one name")


def test_the_disclosure_statement_is_once_per_page_and_names_secondary_suppression(run):
    for key, soup in pages(run):
        text = visible_text(soup)
        assert text.count("Disclosure control applied") == 1, key
        assert "counts of 5 or more are shown as 'c' too (secondary suppression)" in text, key


def test_each_report_has_a_spreadsheet_the_run_level_ones_a_pdf_and_the_index_links_them(run):
    from openpyxl import load_workbook

    from page_tables import table_titles

    index = BeautifulSoup((run / "index.html").read_text(encoding="utf-8"), "html.parser")
    links = {a["href"] for a in index.find_all("a")}
    for key in REPORTS:
        assert {f"{key}/report.html", f"{key}/report.xlsx"} <= links, key
        if key in ("all", "compare"):    # the run-level reports are printed; an authority's is not
            assert f"{key}/report.pdf" in links, key
            assert (run / key / "report.pdf").read_bytes()[:5] == b"%PDF-"
        else:
            assert not (run / key / "report.pdf").exists() and f"{key}/report.pdf" not in links, key
        book = load_workbook(run / key / "report.xlsx")
        csvs = sorted((run / key / "tables").glob("*.csv"))
        assert book.sheetnames == ["Cover", "Contents"] + [f"Table_{n}" for n in range(1, len(csvs) + 1)], key
        # each sheet is titled as its table is on the page, in the page's order (read back from the written page;
        # the batch hands the titles over as it writes the page rather than parsing it again)
        titles = [t for name, t in table_titles(run / key / "report.html").items()
                  if (run / key / "tables" / f"{name}.csv").exists()]
        listed = [row[1].value for row in book["Contents"].iter_rows(min_row=4, max_row=3 + len(titles))]
        assert titles and listed == titles, key


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", rgb)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_focus_indicator_contrasts_at_least_3_to_1_with_the_page(run, chromium):
    """WCAG 1.4.11: the ring a keyboard user follows (links, toggles, scrolling regions) is at least 3:1 against
    the page behind it; measured on the computed style of the elements Tab reaches in an authority's report."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, offline=True)
    try:
        page = context.new_page()
        page.goto((run / AUTHORITY / "report.html").as_uri())
        seen = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            style = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
                let bg = 'rgb(255, 255, 255)', p = e.parentElement;
                while (p) { const c = getComputedStyle(p).backgroundColor;
                            if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') { bg = c; break; } p = p.parentElement; }
                return {tag: e.tagName, style: s.outlineStyle, width: parseFloat(s.outlineWidth), colour: s.outlineColor,
                        page: bg}; }""")
            if style["tag"] == "BODY":
                continue
            seen.add(style["tag"])
            assert style["style"] != "none" and style["width"] >= 2, style
            assert contrast(style["colour"], style["page"]) >= 3, style
        assert {"A", "SUMMARY"} <= seen       # links and toggles were both reached and measured
    finally:
        context.close()
