"""Reports open offline: nothing loaded from the network, code hidden, images embedded; and in Chromium."""

from __future__ import annotations

import json
import os
import re

import pytest

from analysis import browser
from analysis.render import external_loads, figure_cell
from test_batch import _run, make_dataset, make_notebooks


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
    pages = list(run.rglob("*.html"))
    assert {p.relative_to(run).as_posix() for p in pages} == {"index.html", "E08000001/report.html"}
    for page in pages:
        text = page.read_text()
        assert external_loads(text) == [], page
        assert "<script" not in text.lower()
    report = (run / "E08000001" / "report.html").read_text()
    assert "compute_figures(" not in report and "ctx.save_figure" not in report   # inputs excluded
    assert "In [" not in report and "Out[" not in report                           # no prompts
    images = re.findall(r'<img[^>]+src="([^"]+)"', report)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert "second notebook ran for E08000001" in report                            # outputs kept


def test_figures_and_tables_are_written_as_files(run):
    folder = run / "E08000001"
    assert (folder / "figures" / "in_scope.png").stat().st_size > 1000
    assert (folder / "figures" / "in_scope.svg").read_text().lstrip().startswith("<?xml")
    assert (folder / "tables" / "in_scope_by_risk.csv").read_text().startswith("police_risk,count")
    assert json.loads((folder / "figures.json").read_text())["synthetic_data"] is True


def test_index_cells_show_count_denominator_and_suppression():
    assert figure_cell({"count": 10, "denominator": 80, "pct": 12.5}) == "12.5% (10 of 80)"
    assert figure_cell({"count": "c", "denominator": 80, "pct": "c"}) == "c (of 80)"
    assert figure_cell({"count": "c", "denominator": "c", "pct": "c"}) == "c"
    assert figure_cell(None) == ""


@pytest.mark.skipif(browser.find_chromium() is None and not os.environ.get("CI"),
                    reason="Chromium is not installed (apt-get install chromium); the offline rendering check needs it "
                           "(in CI, .ci/run installs it and this test never skips)")
def test_report_renders_in_headless_chromium(run, tmp_path):
    from PIL import Image

    shot = browser.screenshot(run / "E08000001" / "report.html", tmp_path / "report.png")
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 2000)
    # Not a blank page: a good share of the pixels are not white (text, banners, the figure).
    dark = sum(1 for p in image.getdata() if p < 200)
    assert dark > 0.01 * image.size[0] * image.size[1]


def test_browser_command_explains_missing_chromium(monkeypatch, tmp_path, capsys):
    page = tmp_path / "r.html"
    page.write_text("<p>x</p>")
    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    assert browser.main([str(page), str(tmp_path / "o.png")]) == 1
    assert "apt-get install chromium" in capsys.readouterr().err
