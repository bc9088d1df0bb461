"""Two runs on the same input give byte-identical tables and JSON.

Covers the national generator (same seed), write_dataset's CSV, and
compute_figures' JSON (sort_keys), including across separate processes with
different hash seeds (set and dict order must never leak into an output).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.definitions.accounting import record_flow
from analysis.definitions.figures import compute_figures
from analysis.dataset.io import read_raw, write_dataset
from analysis.definitions.populations import Params, Populations
from analysis.synth.national import generate_national
from analysis.dataset.validate import load_dataset

LAS = ("E06000001", "E09000033")  # Hartlepool and Westminster: small enough to be quick


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def small(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Two authorities' rows of a national dataset (a valid dataset on its own)."""
    eps = tables["episodes"][tables["episodes"]["la_code"].isin(LAS)]
    kids = set(eps["child_id"])
    rhis = tables["rhis"][tables["rhis"]["child_id"].isin(kids)]
    return {
        "children": tables["children"][tables["children"]["child_id"].isin(kids)],
        "episodes": eps, "rhis": rhis,
        "rhi_episodes": tables["rhi_episodes"][tables["rhi_episodes"]["rhi_id"].isin(rhis["rhi_id"])],
        "disclosures": tables["disclosures"][tables["disclosures"]["rhi_id"].isin(rhis["rhi_id"])],
    }


@pytest.fixture(scope="module")
def national():
    return generate_national(3, 1)


@pytest.fixture(scope="module")
def folder(national, tmp_path_factory):
    return write_dataset(small(national), tmp_path_factory.mktemp("small"))


def test_generate_national_same_seed_byte_identical(national, tmp_path):
    again = generate_national(3, 1)
    for name in national:
        pd.testing.assert_frame_equal(national[name], again[name])
    a, b = write_dataset(national, tmp_path / "a"), write_dataset(again, tmp_path / "b")
    assert files(a) == files(b)
    assert set(files(a)) == {"children.csv", "episodes.csv", "rhis.csv", "rhi_episodes.csv", "disclosures.csv"}


def test_write_dataset_is_idempotent_on_what_it_read(folder, tmp_path):
    raw = read_raw(folder)
    out = write_dataset({name: table.frame for name, table in raw.items()}, tmp_path / "again")
    assert files(out) == files(folder)


def test_figures_json_identical_across_loads(folder):
    runs = []
    for _ in range(2):
        ds = load_dataset(folder)
        runs.append(json.dumps(compute_figures(ds), sort_keys=True, default=str))
        runs.append(json.dumps(compute_figures(ds, Params(la_code=LAS[0])), sort_keys=True, default=str))
    assert runs[0] == runs[2] and runs[1] == runs[3]
    assert '"figures"' in runs[0]


def test_row_accounting_identical_across_loads(folder):
    a = record_flow(Populations(load_dataset(folder)))
    b = record_flow(Populations(load_dataset(folder)))
    pd.testing.assert_frame_equal(a, b)


SCRIPT = """
import json, sys
from analysis.definitions.figures import compute_figures
from analysis.dataset.validate import load_dataset
print(json.dumps(compute_figures(load_dataset(sys.argv[1])), sort_keys=True, default=str))
"""


def test_figures_json_identical_across_processes_and_hash_seeds(folder):
    outputs = []
    for hash_seed in ("1", "987"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, env=env, check=True)
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    in_process = json.dumps(compute_figures(load_dataset(folder)), sort_keys=True, default=str)
    assert outputs[0].decode().strip() == in_process


# --- identical batch runs give identical files, apart from the declared time stamps -------------------
#
# Declared to differ (docs/reports.md, "Reproducible outputs"): in manifest.json ``started``, ``finished``,
# ``duration_s``, ``stages_s`` and each report's ``duration_s``; ``duration_s`` and ``stages_s`` in each
# status.json; the "Run started ...,
# finished ..." line of index.html; the "Made ..." stamp of each report.html (to the minute on screen, the day
# in print). Nothing else.

import re  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from analysis.run import batch, manifest  # noqa: E402
from analysis.cli import app  # noqa: E402
from builders import TWO_JOBS  # noqa: E402

DECLARED_HTML = [re.compile(r"Run started [^,]+, finished [^.]+\."), re.compile(r"Made [^<]+? with rhi-analysis")]


def _without_declared(path: Path, data: bytes) -> bytes:
    if path.name in ("manifest.json", "status.json"):
        record = json.loads(data)
        for key in ("started", "finished", "duration_s", "stages_s"):
            record.pop(key, None)
        for report in record.get("reports", {}).values():
            report.pop("duration_s", None)
        return json.dumps(record, sort_keys=True).encode()
    if path.suffix == ".html":
        text = data.decode("utf-8")
        for pattern in DECLARED_HTML:
            text = pattern.sub("[declared time]", text)
        return text.encode("utf-8")
    return data


def _run_twice(data: Path, base: Path, monkeypatch, *extra) -> tuple[Path, Path]:
    # The code version is an input: fixed here, because other work may be committed between the two runs.
    monkeypatch.setattr(manifest, "git_state", lambda *a, **k: {"commit": "0" * 40, "dirty": False})
    runs = []
    for name in ("A", "B"):
        out = base / name
        result = CliRunner().invoke(app, ["batch", str(data), "--out", str(out), "--jobs", TWO_JOBS, *extra])
        assert result.exit_code == 0, result.output
        runs.append(out)
    return runs[0], runs[1]


def _assert_same_apart_from_declared(a: Path, b: Path) -> int:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    differ = [str(rel) for rel in files_a if (a / rel).read_bytes() != (b / rel).read_bytes()]
    allowed = {"manifest.json", "status.json", "index.html", "report.html"}
    assert {Path(f).name for f in differ} <= allowed, differ          # every other file: byte for byte
    for rel in files_a:
        assert _without_declared(rel, (a / rel).read_bytes()) == _without_declared(rel, (b / rel).read_bytes()), rel
    return len(files_a)


def test_source_date_epoch_fixes_the_report_stamp(monkeypatch):
    from analysis.render.html import generated_stamp

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")
    assert generated_stamp() == "1 January 2020 at 00:00 UTC"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d", generated_stamp())


@pytest.mark.slow
def test_two_batch_runs_of_the_project_notebooks_differ_only_in_declared_time_stamps(tmp_path, monkeypatch):
    from test_batch import make_dataset

    data, _ = make_dataset(tmp_path / "data")
    monkeypatch.delenv("RHI_NOTEBOOKS", raising=False)
    assert batch.discover_notebooks()[0], "the project's notebooks are missing"
    a, b = _run_twice(data, tmp_path, monkeypatch, "--svg")   # with the charts' SVG copies, which carry ids
    assert _assert_same_apart_from_declared(a, b) > 100   # every report, figure (PNG and SVG) and table
    svgs = list((a / "all" / "figures").glob("*.svg"))
    assert svgs and b'id="' in svgs[0].read_bytes()                       # SVGs with ids were compared
    page = (a / "all" / "report.html").read_text()
    assert "Made " in page and "Run started " in (a / "index.html").read_text()
    # (a user's notebook showing a pandas Styler table: test_a_page_does_not_depend_on_random_ids_... below)


def test_a_page_does_not_depend_on_random_ids_or_how_printed_text_was_chunked():
    import nbformat

    from analysis.render.html import notebook_body

    def executed(chunks, cell_id, styler_id):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("print(...)")
        cell["id"] = cell_id                                # papermill's injected cell: a new random id each run
        cell.outputs = [nbformat.v4.new_output("stream", name=name, text=text) for name, text in chunks]
        table = nbformat.v4.new_code_cell("table.style")
        table.outputs = [nbformat.v4.new_output("display_data", data={"text/html": (
            f'<style>#T_{styler_id}_row0_col0 {{color: red}}</style><table id="T_{styler_id}">'
            f'<td id="T_{styler_id}_row0_col0">1</td></table>')})]
        nb.cells = [cell, table]
        return notebook_body(nb)[0]

    one = executed([("stdout", "first line\nsecond line\n")], "0b857c04", "c384b")
    two = executed([("stdout", "first line\n"), ("stderr", "a warning\n"), ("stdout", "second line\n")],
                   "ecff597d", "08242")
    assert one == two
    assert one.count("<pre>") == 1 and "a warning" not in two
    assert "c384b" not in one and "0b857c04" not in one and "T_" in one
