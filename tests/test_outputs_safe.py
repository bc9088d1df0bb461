"""Every file a batch run writes is safe to share: no child id, no small count in a count column.

Count columns are recognised by name: ``count``, ``denominator``, ``n``,
``n_*``, ``*_count``, ``*_denominator``, and the unit words ``children``,
``episodes``, ``rhis``, ``events``. The run includes the comparison notebook
(funnel tables on the records and on the DfE data) and an authority whose
notebook fails.
"""

from __future__ import annotations

import csv
import json
import re

import pytest

from analysis.run import batch
from test_batch import BROKEN, _run, make_dataset, make_notebooks

MIN_CELL = 5
COUNT_NAMES = {"count", "denominator", "n", "children", "episodes", "rhis", "events"}
COUNT_KEYS = {"count", "denominator", "n", "children"}


def is_count_column(name: str) -> bool:
    name = name.lower()
    return (name in COUNT_NAMES or name.startswith("n_") or name.endswith("_count")
            or name.endswith("_denominator"))


def small(value) -> bool:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False           # "c", blank, text
    return number.is_integer() and 0 < number < MIN_CELL


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("safe")
    data, ids = make_dataset(base / "data")
    notebooks = make_notebooks(base / "notebooks", compare=True)
    out = base / "reports" / "RUN"
    result = _run(data, out, notebooks, "--svg")   # SVG copies too: they are searched for ids like the rest
    return {"out": out, "ids": ids, "result": result}


def test_the_run_covers_a_failure_and_the_comparison(run):
    manifest = json.loads((run["out"] / "manifest.json").read_text())
    assert manifest["reports"][BROKEN]["status"] == "failed"
    assert manifest["reports"]["compare"]["status"] == "ok", manifest["reports"]["compare"]["error"]
    assert run["result"].exit_code == 1
    assert list((run["out"] / "compare" / "tables").glob("funnel_dfe_missing_*.csv"))


def test_no_child_id_in_any_output_file(run):
    files = [p for p in run["out"].rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".html", ".csv", ".json", ".svg", ".png"}
    pattern = re.compile("|".join(map(re.escape, run["ids"])))
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="ignore")
        hit = pattern.search(text)
        assert hit is None, f"child id {hit.group(0)} in {path.relative_to(run['out'])}"


def test_no_small_count_in_count_columns_of_tables(run):
    tables = list(run["out"].rglob("tables/*.csv"))
    assert len(tables) >= 7
    checked = 0
    for path in tables:
        with path.open(newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle), start=2):
                for column, value in row.items():
                    if is_count_column(column):
                        checked += 1
                        assert not small(value), f"{path.relative_to(run['out'])} row {row_number}, {column} = {value}"
    assert checked > 100


def _walk(payload, where=""):
    if isinstance(payload, dict):
        for key, value in payload.items():
            if isinstance(value, (dict, list)):
                yield from _walk(value, f"{where}.{key}")
            else:
                yield f"{where}.{key}", key, value
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            yield from _walk(value, f"{where}[{i}]")


def small_counts_in_figures_json(root):
    """(problems, values checked) over every figures.json below root."""
    problems, checked = [], 0
    for path in root.rglob("figures.json"):
        for where, key, value in _walk(json.loads(path.read_text())):
            if key in COUNT_KEYS or key.startswith("n_"):
                checked += 1
                if small(value):
                    problems.append(f"{path.relative_to(root)}{where} = {value}")
    return problems, checked


def test_no_small_count_in_figures_json(run):
    problems, checked = small_counts_in_figures_json(run["out"])
    assert not problems
    assert checked > 50


def test_suppression_is_stated_in_every_html_and_figures_json(run):
    for path in run["out"].rglob("*.html"):
        assert "Disclosure control applied" in path.read_text(), path
    for path in run["out"].rglob("figures.json"):
        assert json.loads(path.read_text())["disclosure_control"]["suppressed"] is True


def test_error_messages_lose_child_ids():
    ids = frozenset(batch._id_hash(i) for i in ("KIDQ0001X", "77"))
    text = "KeyError: 'KIDQ0001X' not found; row 77; KIDQ0001Xa stays"
    assert batch.scrub_ids(text, ids) == "KeyError: '[child id removed]' not found; row [child id removed]; KIDQ0001Xa stays"


def test_asked_for_svg_every_chart_has_its_svg_beside_its_png_and_the_page_links_both(run):
    """``rhi batch --svg``: every chart saved as PNG has an SVG copy, linked wherever its page lists the PNG."""
    pngs = list(run["out"].glob("*/figures/*.png"))
    assert pngs
    for png in pngs:
        svg = png.with_suffix(".svg")
        assert svg.read_text().lstrip().startswith("<?xml"), svg
        page = (png.parent.parent / "report.html").read_text()
        # these notebooks show their charts, so their pages list none; the list itself: test_render.py
        assert (f'href="figures/{png.name}"' in page) <= (f'href="figures/{svg.name}"' in page), svg
