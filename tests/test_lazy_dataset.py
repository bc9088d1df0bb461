"""In a batch ``ctx.ds`` is loaded only when a notebook first uses it, subset to the authority, and a warm kernel
keeps at most the current authority's subset (``analysis.render.report.setup`` and ``cached_dataset``)."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from analysis.dataset.validate import load_dataset
from analysis.render import report
from test_batch import LAS, PARAMS_CELL, make_dataset, run_cli

SETUP = ("ctx = report.setup(data_path, la_code, period_start, period_end, risk_levels, min_cell, suppress, "
         "output_dir, publication_dir=publication_dir)")
STATE = ('def state():\n    subset = report._CACHE.get("subset")\n'
         '    return [id(report._CACHE["full"]) if "full" in report._CACHE else None, subset and subset[0]]\n')
TABLES_ONLY = f'''from analysis import timing
from analysis.render import report
{STATE}before = state()
{SETUP}
after_setup = state()
sizes = ctx.table("population_sizes")
ctx.say(f"{{len(sizes)}} populations")
ctx.record("tables_only", {{"before": before, "after_setup": after_setup, "after": state(),
                           "data_load": "data load" in timing._STAGES,
                           "deferred": type(ctx.__dict__["_ds"]).__name__}})
ctx.finish()'''
USES_DS = f'''from analysis import timing
from analysis.render import report
{SETUP}
deferred = type(ctx.__dict__["_ds"]).__name__
loaded_by_setup = "data load" in timing._STAGES
ctx.record("uses_ds", {{"deferred": deferred, "loaded_by_setup": loaded_by_setup,
                       "la_codes": sorted(set(ctx.ds.episodes["la_code"])), "episodes": len(ctx.ds.episodes),
                       "same": ctx.ds is ctx.ds, "data_load": "data load" in timing._STAGES,
                       "cached_subset": (report._CACHE.get("subset") or [None])[0]}})
ctx.finish()'''


def _notebook(path, code, title):
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"),
                nbformat.v4.new_code_cell(PARAMS_CELL + "\npublication_dir = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lazy_run(tmp_path_factory):
    import os

    base = tmp_path_factory.mktemp("lazy")
    data, _ = make_dataset(base / "data")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_tables_only.ipynb", TABLES_ONLY, "Tables only")
    _notebook(notebooks / "02_uses_ds.ipynb", USES_DS, "Uses the dataset")
    out = base / "RUN"
    os.environ["RHI_NOTEBOOKS"] = str(notebooks)
    try:
        result = run_cli(data, "--out", out, "--jobs", 1)   # one warm kernel for every report
    finally:
        del os.environ["RHI_NOTEBOOKS"]
    assert result.exit_code == 0, result.output
    figures = {key: json.loads((out / key / "figures.json").read_text()) for key in ("all", *LAS)}
    return {"data": data, "out": out, "figures": figures}


def test_a_notebook_using_only_published_tables_never_loads_the_dataset(lazy_run):
    for key, figures in lazy_run["figures"].items():
        seen = figures["tables_only"]
        assert seen["deferred"] == "_Deferred", key             # never touched: still not loaded
        assert seen["data_load"] is False, key                 # no "data load" timed in this notebook
        assert seen["before"][0] == seen["after"][0], key      # and the kernel's cache did not change
        assert seen["after_setup"][1] in (None, key), key   # no other authority's subset kept
        stages = json.loads((lazy_run["out"] / key / "status.json").read_text())["stages_s"]
        assert "data load" in stages                            # the second notebook did load it
    firsts = [f["tables_only"] for f in lazy_run["figures"].values() if f["tables_only"]["before"][0] is None]
    assert firsts and all(f["after"][0] is None for f in firsts)   # a fresh kernel: nothing loaded by notebook 1


def test_a_notebook_using_ctx_ds_gets_the_authority_subset_on_first_use(lazy_run):
    full = load_dataset(lazy_run["data"])
    for key, figures in lazy_run["figures"].items():
        seen = figures["uses_ds"]
        assert seen["deferred"] == "_Deferred" and seen["loaded_by_setup"] is False, key
        assert seen["data_load"] is True and seen["same"] is True, key
        if key == "all":
            assert seen["la_codes"] == sorted(LAS) and seen["episodes"] == len(full.episodes)
        else:
            assert seen["la_codes"] == [key], key
            assert seen["episodes"] == len(full.subset_la(key).episodes), key
            assert seen["cached_subset"] == key                  # the kernel keeps this authority's subset only


@pytest.fixture
def counted(monkeypatch):
    """A fresh dataset cache, no gc.freeze in the test process, and the number of dataset loads."""
    loads = []
    real = report.load_dataset
    monkeypatch.setattr(report, "_CACHE", {})
    monkeypatch.setattr(report, "_freeze_long_lived", lambda: None)
    monkeypatch.setattr(report, "load_dataset", lambda path: loads.append(path) or real(path))
    return loads


def _publication(folder, scopes):
    folder.mkdir(parents=True, exist_ok=True)
    for scope in scopes:
        with open(folder / f"{scope}.pkl", "wb") as handle:
            pickle.dump({"population_sizes": pd.DataFrame({"population": ["x"], "n": [1]})}, handle)
    return folder


def test_setup_in_a_batch_loads_once_on_first_use_and_keeps_one_subset(tmp_path, counted):
    data, _ = make_dataset(tmp_path / "data")
    pub = _publication(tmp_path / "pub", LAS)
    first = report.setup(data, LAS[0], publication_dir=pub)
    assert counted == [] and "full" not in report._CACHE          # setup alone loads nothing
    assert list(first.table("population_sizes")["n"]) == [1]
    assert set(first.ds.episodes["la_code"]) == {LAS[0]} and len(counted) == 1
    assert first.ds is first.ds and len(counted) == 1
    second = report.setup(data, LAS[1], publication_dir=pub)
    assert report._CACHE["subset"] is None                        # the last authority's subset is not kept
    assert set(second.ds.episodes["la_code"]) == {LAS[1]}
    assert len(counted) == 1                                      # the full dataset comes from the cache
    assert report._CACHE["subset"][0] == LAS[1]
    again = report.setup(data, LAS[1], publication_dir=pub)       # the same authority's next notebook
    assert again.ds is second.ds and len(counted) == 1
    full = report.setup(data, None, scope=LAS[0], publication_dir=pub)
    assert full.ds is report._CACHE["full"] and len(counted) == 1


def test_an_unknown_authority_fails_when_the_dataset_is_first_used(tmp_path, counted):
    data, _ = make_dataset(tmp_path / "data")
    pub = _publication(tmp_path / "pub", ["E99999999"])
    ctx = report.setup(data, "E99999999", publication_dir=pub)
    with pytest.raises(report.NotebookDataError, match="la_code E99999999 has no episodes"):
        ctx.ds


def test_the_projects_notebooks_never_load_the_dataset_in_a_batch_and_say_the_right_years(default_run):
    """Issue 26: in a batch, no kernel loads the dataset: the years a report names come from the run (worked out
    when it published its tables, ``RUN_FILE``) and the comparison's DfE year from the records' last day. The
    years each report records are those of its own records, worked out here from the dataset by the definition."""
    from analysis.definitions.populations import Params
    from analysis.publish.years import scope_years

    ds = load_dataset(default_run.data)
    statuses = sorted(default_run.out.glob("*/status.json"))
    assert len(statuses) >= 3
    for path in statuses:
        key = path.parent.name
        assert "data load" not in json.loads(path.read_text())["stages_s"], key
        if key == "compare":
            continue
        scope = ds if key == "all" else ds.subset_la(key)
        expected = [y.label for y in scope_years(scope, Params(la_code=None if key == "all" else key))]
        recorded = json.loads((path.parent / "figures.json").read_text())["years"]["reporting_years"]
        assert expected and recorded == expected, key
