"""`rhi batch`: isolation of a failing authority, manifest, index, resume, atomic output, bad input.

The batch runs small notebooks written here (the project's notebooks are
tested on their own): one records figures, headlines, a figure and a table;
the second checks that nothing of the first leaks through the warm kernel.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from analysis.run import batch
from analysis.cli import app
from builders import child, disc, episode, link, rhi, write, TWO_JOBS

LAS = ("E08000001", "E09000002", "E06000001")
BROKEN = "E06000001"   # every episode graded high: no in-scope episodes, the notebook fails
PARAMS_CELL = ('data_path = None\nla_code = None\nperiod_start = None\nperiod_end = None\nrisk_levels = "medium,low"\n'
               'min_cell = 5\nsuppress = True\noutput_dir = None')
FIRST = '''import json
import os
import ipykernel
import analysis.render.report
from analysis.disclosure import suppress_counts
from analysis.definitions.figures import compute_figures
from analysis.definitions.populations import Populations
import matplotlib.pyplot as plt
ctx = analysis.render.report.setup(data_path, la_code, period_start, period_end, risk_levels, min_cell, suppress, output_dir)
pop = Populations(ctx.ds, ctx.params)
if len(pop.in_scope) == 0:
    raise ValueError("no in-scope episodes in this selection")
leak_me = "from the first notebook"
computed = compute_figures(ctx.ds, ctx.params, control=ctx.control)
ctx.record("replication", computed)
ctx.record("headlines", ["First headline from notebook one.", "Second headline from notebook one."])
ctx.record("kernel", {"pid": os.getpid(), "dataset_id": id(analysis.render.report._CACHE.get("full")),
                      "history": get_ipython().history_manager.enabled,
                      "transport": json.loads(ipykernel.get_connection_info())["transport"]})
table = pop.in_scope.groupby("police_risk").size().rename("count").reset_index()
ctx.save_table(suppress_counts(table, ["count"], ctx.control), "in_scope_by_risk")
fig, ax = plt.subplots()
ax.bar(["in scope"], [len(pop.in_scope)])
ctx.save_figure(fig, "in_scope")
ctx.finish()'''
SECOND = '''import analysis.render.report
assert "leak_me" not in globals(), "a variable of the previous notebook survived in the warm kernel"
ctx = analysis.render.report.setup(data_path, la_code, period_start, period_end, risk_levels, min_cell, suppress, output_dir)
ctx.record("headlines", ["Headline from notebook two."])
ctx.finish()
print("second notebook ran for", la_code or "all")'''


def make_notebook(path: Path, code: str, title: str) -> Path:
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"),
                nbformat.v4.new_code_cell(PARAMS_CELL, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


def make_notebooks(folder: Path, compare: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_notebook(folder / "01_first.ipynb", FIRST, "First notebook")
    make_notebook(folder / "02_second.ipynb", SECOND, "Second notebook")
    if compare:
        src = batch.NOTEBOOKS / "03_compare_local_authorities.ipynb"
        (folder / src.name).write_text(src.read_text())
    return folder


def make_dataset(folder: Path, per_la: int = 40, seed: int = 3) -> tuple[Path, list[str]]:
    """Three authorities; ids look nothing like numbers so a scan for them cannot hit by chance."""
    rnd = random.Random(seed)
    kids, eps, rhis, links, discs, ids = [], [], [], [], [], []
    n = 0
    for la in LAS:
        for _ in range(per_la):
            n += 1
            cid = f"KIDQ{n:04d}X"
            ids.append(cid)
            kids.append(child(cid, sex=rnd.choice(["female", "male"]), dob="2004-02-01"))
            risk = "high" if la == BROKEN else rnd.choice(["medium", "low", "medium", "high", ""])
            for k in range(rnd.choice([1, 1, 2])):
                eid, rid = f"EPQ{n:04d}{k}", f"RHQ{n:04d}{k}"
                eps.append(episode(eid, cid, f"2018-0{rnd.randint(1, 8)}-1{k} 10:00", risk=risk, la=la))
                if rnd.random() < 0.75:
                    rhis.append(rhi(rid, cid, completed_at=f"2018-09-2{k} 10:00"))
                    links.append(link(rid, eid))
                    for ind in ("cse_victim", "mental_health", "cce_victim", "rf_older_associates"):
                        if rnd.random() < 0.3:
                            discs.append(disc(rid, ind))
    path = write(folder, children=kids, episodes=eps, rhis=rhis, links=links, disclosures=discs)
    (path / "metadata.json").write_text(json.dumps({"synthetic": True}))
    return path, ids


def run_cli(*args):
    return CliRunner().invoke(app, ["batch", *map(str, args)])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch")
    data, ids = make_dataset(base / "data")
    notebooks = make_notebooks(base / "notebooks")
    out = base / "reports" / "RUN"
    result = _run(data, out, notebooks)
    return {"data": data, "out": out, "notebooks": notebooks, "result": result, "ids": ids,
            "manifest": json.loads((out / "manifest.json").read_text())}


def _run(data, out, notebooks, *extra):
    import os
    os.environ["RHI_NOTEBOOKS"] = str(notebooks)
    try:
        return run_cli(data, "--out", out, "--jobs", TWO_JOBS, *extra)
    finally:
        del os.environ["RHI_NOTEBOOKS"]


def test_a_failing_authority_is_recorded_and_the_others_finish(run):
    result, manifest = run["result"], run["manifest"]
    assert result.exit_code == 1
    assert f"{BROKEN}: 01_first.ipynb: ValueError: no in-scope episodes" in result.output
    assert "Traceback" not in result.output
    reports = manifest["reports"]
    assert set(reports) == {"all", *LAS}
    assert reports[BROKEN]["status"] == "failed"
    assert reports[BROKEN]["error"] == "01_first.ipynb: ValueError: no in-scope episodes in this selection"
    assert all(reports[k]["status"] == "ok" for k in ("all", "E08000001", "E09000002"))
    assert manifest["summary"]["failed"] == [BROKEN]
    index = (run["out"] / "index.html").read_text()
    assert "3 of 4 reports complete; 1 failed" in index and "no in-scope episodes" in index
    broken = (run["out"] / BROKEN / "report.html").read_text()
    assert "This report is incomplete" in broken and "Traceback" not in broken
    marker = json.loads((run["out"] / ".rhi-run").read_text())           # a failed report still makes a run
    assert marker["tool"] == "rhi batch" and set(marker["entries"]) >= {"all", *LAS, "index.html", "manifest.json"}
    assert set(marker["entries"]) == {p.name for p in run["out"].iterdir()} - {".rhi-run"}
    assert not (run["out"].parent / ".RUN.lock").exists()


def test_manifest_records_code_inputs_parameters_packages_and_times(run):
    m = run["manifest"]
    assert m["git"]["commit"] == "unknown" or len(m["git"]["commit"]) == 40
    assert m["git"]["dirty"] in (True, False, "unknown")
    for name, digest in m["dataset"]["files_sha256"].items():
        assert digest == hashlib.sha256((run["data"] / name).read_bytes()).hexdigest()
    assert set(m["dataset"]["files_sha256"]) == {"children.csv", "episodes.csv", "rhis.csv", "rhi_episodes.csv",
                                                 "disclosures.csv"}
    assert m["parameters"]["risk_levels"] == "medium,low" and m["parameters"]["min_cell"] == 5
    assert m["packages"]["pandas"] not in ("", "not installed") and m["packages"]["python"].startswith("3.")
    assert m["started"] <= m["finished"]
    assert all(r["duration_s"] > 0 for r in m["reports"].values())
    assert m["disclosure_control"]["suppressed"] is True


def test_headlines_of_every_notebook_are_at_the_top_in_order(run):
    page = (run["out"] / "E08000001" / "report.html").read_text()
    top = page.index("Key findings")
    positions = [page.index(s) for s in ("First headline from notebook one.", "Second headline from notebook one.",
                                         "Headline from notebook two.")]
    assert top < positions[0] < positions[1] < positions[2] < page.index('id="01_first"')
    figures = json.loads((run["out"] / "E08000001" / "figures.json").read_text())
    assert figures["headlines"] == ["First headline from notebook one.", "Second headline from notebook one.",
                                    "Headline from notebook two."]
    assert "Synthetic data: every record" in page and "Disclosure control applied" in page


def test_kernels_are_reused_and_load_the_dataset_once(run):
    kernels = []
    for key in ("all", "E08000001", "E09000002"):
        kernels.append(json.loads((run["out"] / key / "figures.json").read_text())["kernel"])
    pids = {k["pid"] for k in kernels}
    assert len(pids) <= 2                       # two workers, one warm kernel each
    for pid in pids:                            # within one kernel the cached dataset is the same object
        assert len({k["dataset_id"] for k in kernels if k["pid"] == pid}) == 1
    assert not any(k["history"] for k in kernels)   # no SQLite write per cell, no copy of the code in ~/.ipython
    if os.name == "posix":   # Unix sockets in the batch's private folder: no TCP port another local user can read
        assert {k["transport"] for k in kernels} == {"ipc"}


def test_resume_reruns_only_what_failed_or_changed(run, tmp_path):
    out = run["out"]
    before = {k: (out / k / "report.html").stat().st_mtime_ns for k in ("all", "E08000001", "E09000002")}
    result = _run(run["data"], out, run["notebooks"], "--resume")
    assert result.exit_code == 1                 # the broken authority fails again
    manifest = json.loads((out / "manifest.json").read_text())
    assert [k for k, r in manifest["reports"].items() if not r["reused"]] == [BROKEN]
    assert {k: (out / k / "report.html").stat().st_mtime_ns for k in before} == before
    assert not (out.parent / ".RUN.partial").exists() and not (out.parent / ".RUN.lock").exists()


def test_the_hash_changes_with_inputs_parameters_and_notebooks(run, tmp_path):
    nbs = sorted(run["notebooks"].glob("0*.ipynb"))
    params = {"la_code": "E08000001", "min_cell": 5}
    base = batch.task_digest({"a.csv": "1"}, params, nbs, "E08000001")
    assert base == batch.task_digest({"a.csv": "1"}, dict(params), nbs, "E08000001")
    assert base != batch.task_digest({"a.csv": "2"}, params, nbs, "E08000001")
    assert base != batch.task_digest({"a.csv": "1"}, {**params, "min_cell": 6}, nbs, "E08000001")
    changed = tmp_path / nbs[0].name
    changed.write_text(nbs[0].read_text().replace("First notebook", "First notebook, edited"))
    assert base != batch.task_digest({"a.csv": "1"}, params, [changed, nbs[1]], "E08000001")


def test_an_invalid_dataset_writes_nothing(run, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in run["data"].glob("*.csv"):
        (bad / f.name).write_text(f.read_text())
    episodes = (bad / "episodes.csv").read_text().splitlines()
    episodes[1] = episodes[1].replace("KIDQ0001X", "NOSUCHKID")   # an episode of a child who is not in children
    (bad / "episodes.csv").write_text("\n".join(episodes) + "\n")
    out = tmp_path / "reports" / "RUN"
    result = _run(bad, out, run["notebooks"])
    assert result.exit_code == 1
    assert "problem(s) found; nothing was analysed or written" in result.output
    assert "episodes.csv" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_unknown_authority_and_bad_options_are_clear_errors(run, tmp_path):
    result = _run(run["data"], tmp_path / "R", run["notebooks"], "--la", "E99999999")
    assert result.exit_code == 2 and "E99999999: no episodes of that local authority" in result.output
    result = _run(run["data"], tmp_path / "R", run["notebooks"], "--period-start", "2018-13-01")
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    assert not (tmp_path / "R").exists()


def test_an_interrupted_run_leaves_no_complete_looking_report(run, tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(batch, "_execute_all", interrupted)
    monkeypatch.setenv("RHI_NOTEBOOKS", str(run["notebooks"]))
    out = tmp_path / "reports" / "RUN"
    with pytest.raises(KeyboardInterrupt):
        batch.run_batch(run["data"], out, jobs=1, progress=False)
    assert not out.exists()
    partial = tmp_path / "reports" / ".RUN.partial"
    assert partial.exists() and not (partial / "index.html").exists() and not (partial / "manifest.json").exists()
    assert not (tmp_path / "reports" / ".RUN.lock").exists()             # released on the way out


def test_resume_never_reuses_a_report_made_by_other_code(monkeypatch, tmp_path):
    """The digest covers the package's code, not only its version number."""
    assert len(batch.code_digest()) == 64 and batch.code_digest() == batch.code_digest()
    notebook = tmp_path / "01_x.ipynb"
    notebook.write_text("{}")
    monkeypatch.setattr(batch, "code_digest", lambda: "code as it was")
    before = batch.task_digest({"a.csv": "1"}, {"min_cell": 5}, [notebook], "all")
    monkeypatch.setattr(batch, "code_digest", lambda: "code as it is now")
    assert batch.task_digest({"a.csv": "1"}, {"min_cell": 5}, [notebook], "all") != before
