"""Reports open offline: nothing loaded from the network, code hidden, images embedded; and in Chromium."""

from __future__ import annotations

import json
import os
import re

import pytest

from analysis.render import browser
from analysis.render.html import external_loads, figure_cell
from test_batch import _run, make_dataset, make_notebooks


NEEDS_CHROMIUM = pytest.mark.skipif(
    browser.find_chromium() is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium); the offline rendering check needs it "
           "(in CI, .ci/run installs it and this test never skips)")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    data, _ = make_dataset(base / "data", per_la=25)
    notebooks = make_notebooks(base / "notebooks")
    out = base / "RUN"
    result = _run(data, out, notebooks, "--la", "E08000001")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("html", [
    '<script src="https://cdn.example.org/require.js"></script>',
    "<link rel='stylesheet' href='//fonts.example.org/css'>",
    '<div style="background: url(http://example.org/a.png)"></div>',
    '<style>@import "https://example.org/x.css";</style>',
    '<img src=http://example.org/a.png>',
])
def test_external_loads_are_found(html):
    assert external_loads(html)


def test_links_to_click_and_data_uris_are_not_loads():
    assert external_loads('<a href="https://example.org">DfE</a><img src="data:image/png;base64,AAAA">') == []


def test_reports_load_nothing_from_the_network_and_hide_code(run):
    pages = [p for p in run.rglob("*.html") if not p.name.startswith(".")]
    assert {p.relative_to(run).as_posix() for p in pages} == {"index.html", "E08000001/report.html"}
    for page in pages:
        text = page.read_text()
        assert external_loads(text) == [], page
        assert "<script" not in text.lower()
    report = (run / "E08000001" / "report.html").read_text()
    assert "compute_figures(" not in report and "ctx.save_figure" not in report   # inputs excluded
    assert "In [" not in report and "Out[" not in report                           # no prompts
    assert "second notebook ran for E08000001" in report                            # outputs kept
    images = re.findall(r'<img[^>]+src="([^"]+)"', report)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    # this notebook shows its chart without alt text: marked (the page tests refuse it), never a file name
    assert 'alt="Chart without a description"' in report and 'alt="in scope"' not in report


def test_figures_and_tables_are_written_as_files(run):
    folder = run / "E08000001"
    assert (folder / "figures" / "in_scope.png").stat().st_size > 1000
    # the SVG copy only when asked (rhi batch --svg): drawing it took about a sixth of a report's time (issue 26)
    assert not list((folder / "figures").glob("*.svg"))
    assert ">SVG</a>" not in (folder / "report.html").read_text()
    assert (folder / "tables" / "in_scope_by_risk.csv").read_text().startswith("police_risk,count")
    assert json.loads((folder / "figures.json").read_text())["synthetic_data"] is True


def test_index_cells_show_count_denominator_and_suppression():
    assert figure_cell({"count": 10, "denominator": 80, "pct": 12.5}) == "12.5% (10 of 80)"
    assert figure_cell({"count": "c", "denominator": 80, "pct": "c"}) == "c (of 80)"
    assert figure_cell({"count": "c", "denominator": "c", "pct": "c"}) == "c"
    assert figure_cell(None) == ""


@NEEDS_CHROMIUM
def test_report_renders_in_headless_chromium_at_1280_and_400_pixels(run, tmp_path):
    from PIL import Image

    shots = browser.screenshots(run / "E08000001" / "report.html", tmp_path / "report.png", widths=(1280, 400))
    assert [p.name for p in shots] == ["report.png", "report-400.png"]
    for shot, width in zip(shots, (1280, 400)):
        image = Image.open(shot).convert("L")
        assert image.size == (width, 2000)
        # Not a blank page: a good share of the pixels are not white (text, banners, the figure).
        dark = sum(1 for p in image.getdata() if p < 200)
        assert dark > 0.01 * image.size[0] * image.size[1]


@NEEDS_CHROMIUM
def test_a_pdf_has_no_time_stamp_of_its_own_and_long_tables_print_open(run, monkeypatch, tmp_path):
    assert not (run / "E08000001" / "report.pdf").exists()          # an authority's report: no PDF
    assert 'href="report.pdf"' not in (run / "E08000001" / "report.html").read_text()
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    data = browser.print_pdf(run / "E08000001" / "report.html", tmp_path / "a.pdf").read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 5000
    assert b"/CreationDate (D:" not in data and b"/ModDate (D:" not in data
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")
    again = browser.print_pdf(run / "E08000001" / "report.html", tmp_path / "again.pdf").read_bytes()
    assert b"/CreationDate (D:20200101000000+00'00')" in again


def test_the_run_level_reports_get_a_pdf_when_chromium_is_there(monkeypatch):
    from analysis.render import html as render

    monkeypatch.setattr(browser, "find_chromium", lambda: "/usr/bin/chromium")
    assert render.prints_pdf("all") and render.prints_pdf("compare") and not render.prints_pdf("E08000001")
    assert [d["href"] for d in render.report_downloads("all")] == ["report.xlsx", "report.pdf"]
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    assert not render.prints_pdf("all")
    assert [d["href"] for d in render.report_downloads("all")] == ["report.xlsx"]


def test_pdf_time_stamps_are_blanked_or_fixed_at_the_same_length(monkeypatch):
    raw = b"<< /Producer (Skia) /CreationDate (D:20261129215121+00'00') /ModDate (D:20261129215121+00'00') >>"
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    blank = browser.fixed_pdf_dates(raw)
    assert len(blank) == len(raw) and b"2026" not in blank and b"/Producer (Skia)" in blank
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")
    fixed = browser.fixed_pdf_dates(raw)
    assert len(fixed) == len(raw) and fixed.count(b"D:20200101000000+00'00'") == 2


def test_browser_command_explains_missing_chromium(monkeypatch, tmp_path, capsys):
    page = tmp_path / "r.html"
    page.write_text("<p>x</p>")
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    assert browser.main([str(page), str(tmp_path / "o.png")]) == 1
    assert "apt-get install chromium" in capsys.readouterr().err


# --- figures: alt text and captions from the notebook's output metadata ----------------------------

def _png(colours) -> str:
    import base64
    import io

    from PIL import Image

    image = Image.new("RGB", (20, 10), "white")
    if colours:
        for x in range(10):
            image.putpixel((x, 5), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _image_nb(metadata, drawn=True):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(drawn), "text/plain": "<Figure>"},
                                           metadata=metadata)]
    nb.cells = [cell]
    return nb


@pytest.mark.parametrize("metadata", [
    {"alt": "Bars: 30 of 214 children (14.0%) disclosed CSE", "caption": "CSE by police grade"},
    {"image/png": {"alt": "Bars: 30 of 214 children (14.0%) disclosed CSE", "caption": "CSE by police grade"}},
])
def test_an_image_output_becomes_a_figure_with_its_alt_text_and_caption(metadata):
    from bs4 import BeautifulSoup

    from analysis.render.html import notebook_body

    body, images = notebook_body(_image_nb(metadata))
    soup = BeautifulSoup(body, "html.parser")
    figure = soup.find("figure")
    assert images == 1 and figure is not None
    assert figure.img["alt"] == "Bars: 30 of 214 children (14.0%) disclosed CSE"    # short: kept whole
    assert figure.img["src"].startswith("data:image/png;base64,")
    assert figure.figcaption.get_text() == "CSE by police grade"
    assert "&lt;Figure&gt;" not in body


def test_an_image_without_alt_text_takes_its_caption_or_is_marked():
    from bs4 import BeautifulSoup

    from analysis.render.html import notebook_body

    soup = BeautifulSoup(notebook_body(_image_nb({"caption": "Age and sex"}))[0], "html.parser")
    assert soup.img["alt"] == "Chart: Age and sex" and "missing-alt" not in (soup.img.get("class") or [])
    soup = BeautifulSoup(notebook_body(_image_nb({}))[0], "html.parser")
    assert "missing-alt" in soup.img["class"]          # the page tests refuse this


def test_a_blank_image_is_not_shown_as_a_chart():
    from analysis.render.html import notebook_body

    body, _ = notebook_body(_image_nb({"alt": "nothing", "caption": "Empty"}, drawn=False))
    assert "<img" not in body and "nothing to draw" in body



def test_blank_png_decodes_the_top_rows_first_and_judges_the_whole_image():
    """The top rows are the image's own (checked against a full decode); ink below them alone is still found; a
    one-colour image is blank in every mode; what the shortcut cannot serve (not a PNG, interlaced) is judged
    as before."""
    import io
    import struct

    import numpy as np
    from PIL import Image

    from analysis.render.html import TOP_ROWS, blank_png, png_top_rows

    def png(image) -> bytes:
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()

    rng = np.random.default_rng(7)
    noisy = png(Image.fromarray(rng.integers(0, 256, (TOP_ROWS * 3, 50, 4), dtype=np.uint8), "RGBA"))
    top = Image.open(io.BytesIO(png_top_rows(noisy, TOP_ROWS)))
    assert top.size == (50, TOP_ROWS)
    assert (np.asarray(top) == np.asarray(Image.open(io.BytesIO(noisy)))[:TOP_ROWS]).all()
    assert not blank_png(noisy)
    for mode, colour, ink in (("RGBA", (255, 255, 255, 255), (0, 0, 0, 255)), ("RGB", (9, 8, 7), (9, 8, 6)),
                              ("L", 200, 201)):
        image = Image.new(mode, (40, TOP_ROWS * 2), colour)
        assert blank_png(png(image))
        image.putpixel((39, TOP_ROWS * 2 - 1), ink)         # one pixel in the last row, below the top rows
        assert not blank_png(png(image)), mode
    small = png(Image.new("RGB", (5, 5), (1, 2, 3)))         # no taller than the top rows: decoded whole
    assert png_top_rows(small, TOP_ROWS) is None and blank_png(small)
    interlaced = bytearray(noisy)
    interlaced[28] = 1                                        # IHDR's interlace byte: Adam7 rows are not in order
    assert png_top_rows(bytes(interlaced), TOP_ROWS) is None
    assert png_top_rows(b"not a png", TOP_ROWS) is None and not blank_png(b"not a png")
    assert struct.unpack(">I", noisy[8:12])[0] == 13                    # the header the shortcut rewrites

# --- tables: index dropped, scopes, missing values, long tables, CSV links -------------------------

PANDAS_TABLE = """<table border="1" class="dataframe">
<thead><tr style="text-align: right;"><th></th><th>grade</th><th>children</th><th>pct</th></tr></thead>
<tbody>{rows}</tbody></table>"""


def _rows(n):
    return "".join(f"<tr><th>{i}</th><td>medium</td><td>{i + 5}</td><td>NaN</td></tr>" for i in range(n))


def test_a_pandas_table_loses_its_index_gets_scopes_and_shows_no_nan(tmp_path):
    from bs4 import BeautifulSoup

    from analysis.render.html import present

    soup = BeautifulSoup(present(PANDAS_TABLE.format(rows=_rows(3)), tmp_path), "html.parser")
    table = soup.find("table")
    assert [th.get_text() for th in table.thead.find_all("th")] == ["grade", "children", "pct"]
    assert all(th["scope"] == "col" for th in table.find_all("th"))
    assert [td.get_text() for td in table.tbody.tr.find_all("td")] == ["medium", "5", ""]
    assert "text" in table.thead.th["class"] and "num" in table.thead.find_all("th")[1]["class"]
    wrap = table.parent
    assert wrap["class"] == ["table-wrap"] and wrap["role"] == "region"
    assert "tabindex" not in wrap.attrs        # three short columns never scroll: no tab stop (WCAG 2.1.1 needs none)
    assert soup.find("details") is None
    wide = PANDAS_TABLE.replace("<th>pct</th>", "<th>pct</th>" + "<th>a column with a long header</th>" * 4)
    wrap = BeautifulSoup(present(wide.format(rows=_rows(3)), tmp_path), "html.parser").find("table").parent
    assert wrap["tabindex"] == "0"             # a table that can scroll on a phone is reachable by keyboard


def test_a_long_table_is_shown_in_full_behind_a_toggle_with_its_csv(tmp_path):
    from bs4 import BeautifulSoup

    from analysis.render.html import present

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "grades.csv").write_text("grade,children\n")
    html_text = PANDAS_TABLE.format(rows=_rows(40)).replace("<table", '<table data-table="grades"')
    html_text = html_text.replace("<thead>", "<caption>Children by grade</caption><thead>")
    soup = BeautifulSoup(present(html_text, tmp_path), "html.parser")
    details = soup.find("details")
    assert details.summary.get_text() == "Show all 40 rows: Children by grade"
    assert len(details.find_all("tr")) == 41                    # nothing truncated
    assert soup.find("div", class_="table-wrap")["aria-label"] == "Children by grade"
    assert soup.find("a", href="tables/grades.csv") is not None
    soup = BeautifulSoup(present(html_text, tmp_path / "elsewhere"), "html.parser")
    assert soup.find("a", href="tables/grades.csv") is None      # no CSV, no link


def test_notebook_headings_sit_under_the_page_title():
    from analysis.render.html import present

    assert present("<h1>Notebook</h1><h2>Part</h2>") == "<h2>Notebook</h2><h3>Part</h3>"


# --- the spreadsheet of a report --------------------------------------------------------------------

def _workbook(tmp_path, monkeypatch):
    from analysis.render.spreadsheet import write_report_workbook

    (tmp_path / "tables").mkdir(exist_ok=True)
    (tmp_path / "tables" / "prevalence_by_risk_rhis.csv").write_text(
        "police_risk,outcome,count,denominator,pct,reason\nmedium,cse_victim,12,80,15.0,\nlow,cse_victim,c,40,c,"
        "small\nhigh,cse_victim,0,7,0.0,'=cmd\n")
    (tmp_path / "tables" / "record_flow.csv").write_text("stage,count\nnotified,1921\n")
    return write_report_workbook(tmp_path, title="Return home interviews: E08000001", source="Synthetic records",
                                 period="2017-04-01 to 2018-03-31", statement="Counts from 1 to 4 are shown as 'c'.",
                                 secondary="Some counts of 5 or more are shown as 'c' too.", notes=["A note."])


def test_the_spreadsheet_has_a_cover_contents_and_one_table_per_sheet(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    book = load_workbook(_workbook(tmp_path, monkeypatch))
    assert book.sheetnames == ["Cover", "Contents", "Table_1", "Table_2"]
    cover = [c.value for c in book["Cover"]["A"] if c.value]
    assert cover[0] == "Return home interviews: E08000001"
    for needed in ("Synthetic records", "2017-04-01 to 2018-03-31", "Counts from 1 to 4 are shown as 'c'.",
                   "Some counts of 5 or more are shown as 'c' too.", "A note."):
        assert needed in cover
    assert any(line.startswith("c: not shown, so that a small number cannot be worked out") for line in cover)
    assert any(line.startswith("x: not available") for line in cover)
    assert any(line.startswith("z: not applicable") for line in cover)
    contents = book["Contents"]
    assert [c.value for c in contents[4]] == ["Table_1", "Prevalence by risk RHIs", 3]   # no file name for a reader
    assert contents["A4"].hyperlink.location == "'Table_1'!A1" or "Table_1" in contents["A4"].hyperlink.target
    sheet = book["Table_1"]
    assert sheet["A1"].value == "Table 1: Prevalence by risk RHIs"
    # the page's headers and labels, never the data's codes
    assert [c.value for c in sheet[3]] == ["Police grade", "Harm disclosed", "Number", "Out of", "%", "Reason"]
    assert [c.value for c in sheet[4]] == ["medium", "Sexual exploitation", 12, 80, 15.0, "z"]
    assert [c.value for c in sheet[5]][2:5] == ["c", 40, "c"]
    assert sheet["C4"].data_type == "n" and sheet["C5"].data_type == "s"
    assert sheet["F6"].value == "'=cmd" and sheet["F6"].data_type == "s"    # never a formula
    assert sheet.max_row == 6                                               # no blank rows
    for name in book.sheetnames:
        assert not book[name].merged_cells.ranges
    assert list(sheet.tables) == ["table_1"] and sheet.tables["table_1"].ref == "A3:F6"


def test_the_spreadsheet_is_the_same_bytes_every_time(tmp_path, monkeypatch):
    import time

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = _workbook(tmp_path, monkeypatch).read_bytes()
    time.sleep(1.1)
    assert _workbook(tmp_path, monkeypatch).read_bytes() == first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")
    assert _workbook(tmp_path, monkeypatch).read_bytes() != first


def test_the_batch_writes_a_spreadsheet_beside_each_report_and_the_index_links_it(run):
    from openpyxl import load_workbook

    book = load_workbook(run / "E08000001" / "report.xlsx")
    assert book.sheetnames == ["Cover", "Contents", "Table_1"]
    assert [c.value for c in book["Table_1"][3]] == ["Police grade", "Number"]
    index = (run / "index.html").read_text()
    assert 'href="E08000001/report.xlsx"' in index and 'href="E08000001/report.html"' in index


def test_a_table_the_notebook_folded_is_not_folded_twice_and_its_csv_is_linked_below(tmp_path):
    from bs4 import BeautifulSoup

    from analysis.render.html import present

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "grades.csv").write_text("grade,children\n")
    table = PANDAS_TABLE.format(rows=_rows(30)).replace("<table", '<table data-table="grades"')
    soup = BeautifulSoup(present(f"<details><summary>Show all 30 rows</summary>{table}</details>", tmp_path),
                         "html.parser")
    assert len(soup.find_all("details")) == 1
    assert soup.find("details").find_next_sibling("p").a["href"] == "tables/grades.csv"


def test_the_spreadsheet_takes_each_table_title_from_its_caption_on_the_page(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    from page_tables import table_titles

    from analysis.render.html import present
    from analysis.render.spreadsheet import write_report_workbook

    _workbook(tmp_path, monkeypatch)
    page = tmp_path / "report.html"
    page.write_text('<table data-table="record_flow"><caption>Record flow: stages - E08000001 '
                    'c: suppressed; z: not applicable.</caption></table>')
    titles = table_titles(page)
    assert titles == {"record_flow": "Record flow: stages - E08000001"}
    handed = {}   # what the page's writer hands the spreadsheet: the same titles
    present(page.read_text(), tmp_path, [], handed)
    assert handed == titles
    book = load_workbook(write_report_workbook(tmp_path, title="T", source="S", period="P", statement="St",
                                               secondary=None, notes=[], titles=titles))
    assert book["Table_2"]["A1"].value == "Table 2: Record flow: stages - E08000001"
    assert book["Contents"]["B5"].value == "Record flow: stages - E08000001"


def test_a_long_alt_text_becomes_a_short_summary_and_the_caption_links_the_table():
    from bs4 import BeautifulSoup

    from analysis.render.html import ALT_LIMIT, notebook_body, present

    long_alt = ("Dot chart of the share of children who disclosed each harm, by police grade. "
                + "; ".join(f"harm {i}: 12.5% (10 of 80)" for i in range(60)) + ".")
    body, _ = notebook_body(_image_nb({"alt": long_alt, "caption": "Harm by grade"}))
    page = BeautifulSoup(present(body + "<table><caption>Harm by grade</caption><tr><th>a</th></tr>"
                                        "<tr><td>1</td></tr></table>"), "html.parser")
    alt = page.img["alt"]
    assert len(alt) < ALT_LIMIT and alt == "Dot chart of the share of children who disclosed each harm, by police grade."
    link = page.figcaption.find("a")
    assert link["href"] == "#" + page.find("table")["id"]         # the chart's numbers: the table under it


def test_a_chart_saved_without_being_shown_is_listed_with_its_svg_only_where_one_was_saved(tmp_path):
    """The page's list of charts saved with the report: each PNG, and its SVG when the run made one (--svg)."""
    from analysis.render.html import render_report

    figures = tmp_path / "figures"
    figures.mkdir()
    for name in ("plain.png", "both.png", "both.svg"):
        (figures / name).write_bytes(b"not read")
    page = render_report(tmp_path / "report.html", title="t", headlines=[], synthetic=True, statement="s",
                         suppressed=True, params_text="p",
                         sections=[{"title": "One", "anchor": "one", "html": "<p>x</p>",
                                    "figures": [figures / "plain.png", figures / "both.png"]}]).read_text()
    assert 'href="figures/plain.png"' in page and 'href="figures/plain.svg"' not in page
    assert 'href="figures/both.png"' in page and 'href="figures/both.svg"' in page
