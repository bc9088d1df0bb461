"""`rhi batch` never loses a user's files and leaves no process behind (issue 14).

Refusals (foreign files in --out, the dataset as --out, a folder being written by another batch, an
unwritable destination) are checked through the command line and must change nothing. Locks, markers
and the swap are checked on analysis.run.folder directly. Process hygiene is checked for real: a batch
is started as a subprocess, killed with SIGKILL (or sent SIGTERM) while its kernels run, and every
process it started must be gone within seconds; a --resume after the kill must give the same reports
as a run that was never interrupted.

Read-only and full destinations are tested on real file systems where this machine allows it (a
read-only tmpfs mount, a full tmpfs mount, ``chattr +i``; tests run as root, so chmod would not stop
the writes), and everywhere by making the probe's write fail with ENOSPC.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from analysis.run import batch, folder as runfolder
from builders import child, disc, episode, link, rhi, write, TWO_JOBS
from test_batch import make_notebook, run_cli

SLOW_NOTEBOOK = '''import os, time
import analysis.render.report
from analysis.disclosure import suppress_counts
from analysis.definitions.figures import compute_figures
from analysis.definitions.populations import Populations
import matplotlib.pyplot as plt
ctx = analysis.render.report.setup(data_path, la_code, period_start, period_end, risk_levels, min_cell, suppress, output_dir)
pop = Populations(ctx.ds, ctx.params)
ctx.record("replication", compute_figures(ctx.ds, ctx.params, control=ctx.control))
ctx.record("headlines", [f"{len(pop.in_scope)} episodes in scope."])
table = pop.in_scope.groupby("police_risk").size().rename("count").reset_index()
ctx.save_table(suppress_counts(table, ["count"], ctx.control), "in_scope_by_risk")
fig, ax = plt.subplots()
ax.bar(["in scope"], [len(pop.in_scope)])
ctx.save_figure(fig, "in_scope")
time.sleep(float(os.environ.get("RHI_TEST_SLEEP", "0")))  # the environment, not the notebook: same hash
ctx.finish()
print("report made for", la_code or "all")'''
LAS = ("E08000001", "E09000002", "E08000003", "E06000004")


# --- helpers ---------------------------------------------------------------------------------------

def make_dataset(folder: Path) -> Path:
    kids, eps, rhis, links, discs = [], [], [], [], []
    for n in range(80):
        la, cid, eid, rid = LAS[n % len(LAS)], f"KIDS{n:03d}Z", f"EPS{n:03d}", f"RHS{n:03d}"
        kids.append(child(cid, sex="female" if n % 3 else "male", dob="2004-02-01"))
        eps.append(episode(eid, cid, f"2018-0{1 + n % 8}-1{n % 10} 10:00", risk=("medium", "low")[n % 2], la=la))
        if n % 4:
            rhis.append(rhi(rid, cid, completed_at="2018-09-25 10:00"))
            links.append(link(rid, eid))
            if n % 5 == 0:
                discs.append(disc(rid, "cse_victim"))
    path = write(folder, children=kids, episodes=eps, rhis=rhis, links=links, disclosures=discs)
    (path / "metadata.json").write_text(json.dumps({"synthetic": True}))
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("safety")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    make_notebook(notebooks / "01_slow.ipynb", SLOW_NOTEBOOK, "Slow notebook")
    return {"data": make_dataset(base / "data"), "notebooks": notebooks}


def cli(setup, *args):
    os.environ["RHI_NOTEBOOKS"] = str(setup["notebooks"])
    try:
        return run_cli(*args)
    finally:
        del os.environ["RHI_NOTEBOOKS"]


def start_batch(setup, out: Path, *extra, sleep: float = 0) -> subprocess.Popen:
    env = {**os.environ, "RHI_NOTEBOOKS": str(setup["notebooks"]), "RHI_TEST_SLEEP": str(sleep)}
    return subprocess.Popen([sys.executable, "-m", "analysis", "batch", str(setup["data"]), "--out", str(out),
                             "--jobs", TWO_JOBS, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its sha256, and every folder (to see that nothing changed)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the batch ended (exit {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def descendants(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def is_kernel(p: psutil.Process) -> bool:
    try:
        return any("ipykernel" in part for part in p.cmdline())
    except psutil.Error:
        return False


def still_running(procs) -> list[psutil.Process]:
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def run_while_watching(proc: subprocess.Popen, ready) -> tuple[list[psutil.Process], set[int]]:
    """Wait until two kernels run and ``ready()`` holds; return every process the batch started, and the kernels."""
    seen: dict[int, psutil.Process] = {}
    kernels: set[int] = set()

    def check():
        for p in descendants(proc):
            seen.setdefault(p.pid, p)
            if is_kernel(p):
                kernels.add(p.pid)
        return len([p for p in still_running(seen.values()) if p.pid in kernels]) >= 2 and ready()
    wait_for(check, 180, "two kernels running", proc)
    return list(seen.values()), kernels


# --- what --out may replace ------------------------------------------------------------------------

def test_a_foreign_file_in_out_survives_a_refused_batch(setup, tmp_path):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"three years of work")
    (out / "notes").mkdir()
    before = snapshot(tmp_path)
    result = cli(setup, setup["data"], "--out", out)
    assert result.exit_code == 2
    assert "holds files that rhi batch did not write (notes, thesis.docx)" in result.output
    assert "Nothing was changed" in result.output and "Traceback" not in result.output
    assert snapshot(tmp_path) == before          # no .partial, no lock, nothing else


def test_a_run_folder_with_a_file_added_by_the_user_is_refused(tmp_path):
    out = tmp_path / "RUN"
    out.mkdir()
    (out / "index.html").write_text("index")
    (out / "all").mkdir()
    runfolder.write_marker(out, ["all", "index.html"])
    runfolder.check_target(out, tmp_path / "data")        # the run alone may be replaced
    (out / "my_comments.txt").write_text("mine")
    with pytest.raises(runfolder.RunFolderError, match=r"did not write \(my_comments.txt\)"):
        runfolder.check_target(out, tmp_path / "data")


def test_a_probe_file_left_by_a_killed_batch_is_not_a_foreign_file(tmp_path):
    out = tmp_path / "RUN"
    out.mkdir()
    (out / f"{runfolder.PROBE_PREFIX}12345").write_bytes(b"\0")
    runfolder.check_target(out, tmp_path / "data")
    (out / "probe-like.txt").write_text("mine")
    with pytest.raises(runfolder.RunFolderError, match=r"did not write \(probe-like.txt\)"):
        runfolder.check_target(out, tmp_path / "data")


def test_a_run_made_before_markers_is_recognised_by_its_manifest_and_nothing_else(tmp_path):
    out = tmp_path / "RUN"
    out.mkdir()
    for name in ("index.html", "manifest.json"):
        (out / name).write_text("{}")
    (out / "E08000001").mkdir()
    with pytest.raises(runfolder.RunFolderError):           # a manifest.json that is not a batch's
        runfolder.check_target(out, tmp_path / "data")
    (out / "manifest.json").write_text(json.dumps({"tool": "rhi batch", "reports": {"E08000001": {}}}))
    runfolder.check_target(out, tmp_path / "data")
    (out / "E09000002").mkdir()                              # not one of its reports
    with pytest.raises(runfolder.RunFolderError, match="E09000002"):
        runfolder.check_target(out, tmp_path / "data")


def test_an_empty_folder_or_no_folder_is_fine_and_a_file_is_not(tmp_path):
    (tmp_path / "empty").mkdir()
    runfolder.check_target(tmp_path / "empty", tmp_path / "data")
    runfolder.check_target(tmp_path / "new" / "deeper" / "RUN", tmp_path / "data")
    assert not (tmp_path / "new").exists()                   # checking creates nothing
    (tmp_path / "afile").write_text("x")
    with pytest.raises(runfolder.RunFolderError, match="is a file"):
        runfolder.check_target(tmp_path / "afile", tmp_path / "data")


@pytest.mark.parametrize("where", ["the dataset", "its parent", "inside it"])
def test_the_dataset_survives_out_pointed_at_it(setup, tmp_path, where):
    data = make_dataset(tmp_path / "project" / "data")
    out = {"the dataset": data, "its parent": data.parent, "inside it": data / "reports"}[where]
    before = snapshot(tmp_path)
    result = cli(setup, data, "--out", out)
    assert result.exit_code == 2, result.output
    expected = {"the dataset": "is the input dataset", "its parent": "contains the input dataset",
                "inside it": "is inside the input dataset"}[where]
    assert expected in result.output and "Nothing was changed" in result.output
    assert snapshot(tmp_path) == before


def test_a_finished_run_carries_the_marker_and_replaces_a_previous_run(setup, tmp_path):
    out = tmp_path / "reports" / "RUN"
    out.mkdir(parents=True)                                   # an empty folder is fine
    first = cli(setup, setup["data"], "--out", out, "--all-only", "--jobs", 1)
    assert first.exit_code == 0, first.output
    marker = json.loads((out / runfolder.MARKER).read_text())
    assert marker["tool"] == "rhi batch" and marker["version"]
    assert set(marker["entries"]) == {p.name for p in out.iterdir()} - {runfolder.MARKER}
    assert set(marker["entries"]) >= {"all", "index.html", "manifest.json"}
    (out / "all" / "report.html").write_text("stale")
    second = cli(setup, setup["data"], "--out", out, "--all-only", "--jobs", 1)
    assert second.exit_code == 0, second.output
    assert "stale" not in (out / "all" / "report.html").read_text()
    assert sorted(p.name for p in out.parent.iterdir()) == ["RUN"]   # no partial, old copy or lock left


# --- one run per folder ----------------------------------------------------------------------------

def test_a_stale_lock_is_cleared_with_a_message(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    out = tmp_path / "RUN"
    lock = runfolder.lock_path(out)
    lock.write_text(json.dumps({"tool": "rhi batch", "pid": gone.pid, "host": socket.gethostname(),
                                "started": "2026-01-01T00:00:00+00:00"}))
    said = []
    with runfolder.claim(out, tmp_path / "data", resume=False, say=said.append) as staging:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert staging.is_dir() and (staging / runfolder.MARKER).exists()
    assert said == [f"Cleared a stale lock {lock} (pid {gone.pid}, started 2026-01-01T00:00:00+00:00): "
                    "that batch is no longer running."]
    assert not lock.exists()


def test_a_live_lock_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "RUN"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = runfolder.lock_path(out)
        content = json.dumps({"tool": "rhi batch", "pid": holder.pid, "host": socket.gethostname(),
                              "started": "2026-01-01T00:00:00+00:00"})
        lock.write_text(content)
        with pytest.raises(runfolder.RunFolderError, match=f"pid {holder.pid} on"):
            with runfolder.claim(out, tmp_path / "data", resume=False):
                pass
        assert lock.read_text() == content and not runfolder.staging_path(out).exists()
        other_host = json.dumps({"pid": 1, "host": "elsewhere", "started": "x"})
        lock.write_text(other_host)                           # cannot tell if it runs: assume it does
        with pytest.raises(runfolder.RunFolderError, match="on elsewhere"):
            with runfolder.claim(out, tmp_path / "data", resume=False):
                pass
        assert lock.read_text() == other_host
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_released_when_the_run_fails(setup, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug while running")
    monkeypatch.setattr(batch, "_execute_all", broken)
    monkeypatch.setenv("RHI_NOTEBOOKS", str(setup["notebooks"]))
    out = tmp_path / "RUN"
    with pytest.raises(RuntimeError):
        batch.run_batch(setup["data"], out, jobs=1, progress=False)
    assert not runfolder.lock_path(out).exists() and not out.exists()


def test_a_partial_folder_that_is_not_a_runs_is_not_deleted(setup, tmp_path):
    out = tmp_path / "RUN"
    partial = runfolder.staging_path(out)
    partial.mkdir()
    (partial / "keep.txt").write_text("mine")
    result = cli(setup, setup["data"], "--out", out)
    assert result.exit_code == 2 and "holds files that rhi batch did not write" in result.output
    assert (partial / "keep.txt").read_text() == "mine" and not runfolder.lock_path(out).exists()


@pytest.fixture(scope="module")
def concurrent(setup, tmp_path_factory):
    """A batch run to its end, and a second batch on the same --out started while the first runs.

    The finished first run is also the uninterrupted run that the kill-and-resume test below compares its
    resumed reports with (it only reads it): one batch fewer than running that reference again."""
    out = tmp_path_factory.mktemp("concurrent") / "reports" / "RUN"
    first = start_batch(setup, out, sleep=2)
    try:
        lock = runfolder.lock_path(out)
        wait_for(lambda: lock.exists() and runfolder._read_json(lock), 120, "the first batch's lock", first)
        second = cli(setup, setup["data"], "--out", out)
        stdout, stderr = first.communicate(timeout=300)
    finally:
        first.kill()
    return {"out": out, "first": first, "second": second, "stdout": stdout, "stderr": stderr}


@pytest.mark.slow
def test_a_second_concurrent_batch_is_refused_while_the_first_runs(concurrent):
    out, first, second, stdout, stderr = (concurrent[k] for k in ("out", "first", "second", "stdout", "stderr"))
    assert second.exit_code == 2
    assert f"is being written by another rhi batch (pid {first.pid} on {socket.gethostname()}" in second.output
    assert first.returncode == 0, stderr
    assert "5 of 5 reports complete" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["summary"]["ok"] == 5
    for key in manifest["reports"]:                          # everything the index links is there
        assert (out / key / "report.html").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["RUN"]


# --- destinations that cannot be written -------------------------------------------------------------

@pytest.fixture
def mount_tmpfs():
    mounted = []

    def mount(where: Path, options: str) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the probe test covers it")
        mounted.append(where)
        return where
    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the batch reads the dataset or runs a notebook."""
    import analysis.dataset.validate

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the destination was checked")
    monkeypatch.setattr(analysis.dataset.validate, "load_dataset", forbidden)
    monkeypatch.setattr(batch, "_execute_all", forbidden)


def test_a_read_only_destination_is_refused_before_work_starts(setup, tmp_path, mount_tmpfs, no_work):
    reports = mount_tmpfs(tmp_path / "reports", "ro,size=1m")
    result = cli(setup, setup["data"], "--out", reports / "RUN")
    assert result.exit_code == 2, result.output
    assert f"cannot write in {reports}: the file system is read-only. Nothing was run or written." in result.output


def test_a_full_destination_is_refused_before_work_starts(setup, tmp_path, mount_tmpfs, no_work):
    reports = mount_tmpfs(tmp_path / "reports", "size=256k")
    fd = os.open(reports / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError) as full:
            while True:
                os.write(fd, b"x" * 4096)
    finally:
        os.close(fd)
    assert full.value.errno == errno.ENOSPC
    before = snapshot(reports)
    result = cli(setup, setup["data"], "--out", reports / "RUN")
    assert result.exit_code == 2, result.output
    assert "no space left on the device. Nothing was run or written." in result.output
    assert snapshot(reports) == before


def test_an_immutable_target_is_refused_before_work_starts(setup, tmp_path, no_work):
    out = tmp_path / "reports" / "RUN"
    out.mkdir(parents=True)
    if subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here; the probe test covers it")
    try:
        result = cli(setup, setup["data"], "--out", out)
    finally:
        subprocess.run(["chattr", "-i", str(out)], check=True)
    assert result.exit_code == 2, result.output
    assert f"cannot write in {out}:" in result.output and "Nothing was run or written" in result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["RUN"] and not any(out.iterdir())


def test_a_probe_that_fails_stops_the_batch_before_work_starts(setup, tmp_path, monkeypatch, no_work):
    def no_space(path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    monkeypatch.setattr(runfolder, "_write_probe", no_space)
    out = tmp_path / "reports" / "RUN"
    result = cli(setup, setup["data"], "--out", out)
    assert result.exit_code == 2
    assert f"cannot write in {tmp_path}: no space left on the device" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- no process outlives the batch -----------------------------------------------------------------

PARENT = """
import subprocess, sys, time
from analysis.run import lifeline
command = [sys.executable, "-c", "import time; time.sleep(60)"]
child = subprocess.Popen(lifeline.tethered(command) if sys.argv[1] == "tethered" else command)
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("how", ["tethered", "plain"])
def test_a_tethered_child_dies_when_its_parent_is_killed_and_a_plain_one_does_not(how):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, how], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        if how == "tethered":       # the launcher has exec'd the command: same pid, the command's own line
            wait_for(lambda: "time.sleep(60)" in " ".join(child.cmdline()) and "lifeline" not in child.cmdline()[2],
                     10, "the launcher to exec the command")
        parent.kill()
        parent.wait()
        if how == "tethered":
            wait_for(lambda: not still_running([child]), 5, "the tethered child to die with its parent")
        else:                       # the control: what happened to the batch's workers and kernels before
            time.sleep(1)
            assert still_running([child])
    finally:
        if still_running([child]):
            child.kill()


def comparable(folder: Path, texts: dict | None = None) -> dict:
    """The run's files, with what legitimately differs between two runs masked: times, durations, reuse."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name, data = str(path.relative_to(folder)), path.read_bytes()
        if path.name == "manifest.json":
            record = json.loads(data)
            for key in ("started", "finished", "duration_s", "git"):
                record.pop(key)
            record.pop("stages_s", None)
            for report in record["reports"].values():
                report.pop("duration_s"), report.pop("reused")
            data = json.dumps(record, sort_keys=True).encode()
        elif path.name == "status.json":
            record = json.loads(data)
            record.pop("duration_s"), record.pop("stages_s", None)
            data = json.dumps(record, sort_keys=True).encode()
        elif path.suffix == ".html":
            text = data.decode()
            text = re.sub(r"Made (on )?\d{1,2} [A-Z][a-z]+ \d{4}( at \d\d:\d\d)?", "Made <time>", text)
            text = re.sub(r"Run started [^,]+, finished [^.]+\.", "Run started <time>, finished <time>.", text)
            text = re.sub(r"Code version \w+( \(with uncommitted changes\))?", "Code version <commit>", text)
            data = text.encode()
        files[name] = hashlib.sha256(data).hexdigest()
        if texts is not None:
            texts[name] = data
    return files


def same_reports(folder: Path, reference: Path) -> bool:
    """True if the runs match; else fail showing the first difference."""
    import difflib

    mine, theirs = {}, {}
    a, b = comparable(folder, mine), comparable(reference, theirs)
    if a == b:
        return True
    assert sorted(a) == sorted(b)
    name = next(n for n in sorted(a) if a[n] != b[n])
    diff = difflib.unified_diff(theirs[name].decode(errors="replace").splitlines(),
                                mine[name].decode(errors="replace").splitlines(), lineterm="", n=1)
    pytest.fail(f"{name} differs from the uninterrupted run:\n" + "\n".join(list(diff)[:40])[:4000])


@pytest.mark.slow
def test_no_process_outlives_a_killed_batch_and_resume_gives_the_same_reports(setup, concurrent, tmp_path):
    out = tmp_path / "reports" / "RUN"
    reference = concurrent["out"]                             # a run of the same batch that was never interrupted
    assert concurrent["first"].returncode == 0, concurrent["stderr"]

    killed = start_batch(setup, out, sleep=3)
    partial = runfolder.staging_path(out)
    started, kernels = run_while_watching(killed, lambda: any(partial.glob("*/status.json")))
    left = list(Path(tempfile.gettempdir()).glob(f"{batch.KERNEL_FOLDER}{killed.pid}-*"))
    assert len(left) == 1 and any(left[0].iterdir())         # the running batch's kernels' folder
    assert not (partial / "manifest.json").exists()          # killed mid-run
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert len(kernels) >= 2 and len(started) >= 4          # two workers and two kernels at least
    wait_for(lambda: not still_running(started), 10, "every process of the killed batch to end")
    assert runfolder.lock_path(out).exists()     # SIGKILL: no chance to release it (nor its kernels' folder)

    resumed = start_batch(setup, out, "--resume")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"Cleared a stale lock {runfolder.lock_path(out)} (pid {killed.pid}" in stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert 1 <= sum(r["reused"] for r in manifest["reports"].values()) < 5
    assert same_reports(out, reference)
    assert sorted(p.name for p in out.parent.iterdir()) == ["RUN"]
    assert not left[0].exists()              # a later batch removed it (this one, or another test's): its batch ended


def test_only_the_kernel_folders_of_ended_batches_holding_only_kernel_files_are_removed(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()

    def folder(pid, *files) -> Path:
        made = Path(tempfile.mkdtemp(prefix=f"{batch.KERNEL_FOLDER}{pid}-", dir=tmp_path))
        for name in files:
            (made / name).write_text("{}")
        return made

    dead = folder(ended.pid, f"kernel-{ended.pid + 1}.json", f"k{ended.pid + 1}-1", f"k{ended.pid + 1}-2")
    empty = folder(ended.pid)
    live = folder(os.getpid(), "kernel-1.json")                            # this process runs
    mixed = folder(ended.pid, "kernel-1.json", "notes.txt")                # a file no batch writes
    unnamed = Path(tempfile.mkdtemp(prefix=batch.KERNEL_FOLDER, dir=tmp_path))   # no pid: an older batch's
    (tmp_path / f"{batch.KERNEL_FOLDER}{ended.pid}-link").symlink_to(live)
    assert sorted(batch.clear_dead_kernel_folders(tmp_path)) == sorted([dead, empty])
    assert not dead.exists() and not empty.exists()
    assert live.exists() and (mixed / "notes.txt").exists() and unnamed.exists()
    assert (tmp_path / f"{batch.KERNEL_FOLDER}{ended.pid}-link").is_symlink() and (live / "kernel-1.json").exists()


@pytest.mark.slow
def test_sigterm_stops_the_batch_releases_the_lock_and_leaves_no_process(setup, tmp_path):
    out = tmp_path / "reports" / "RUN"
    proc = start_batch(setup, out, sleep=30)
    started, _ = run_while_watching(proc, lambda: True)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM
    wait_for(lambda: not still_running(started), 10, "every process of the stopped batch to end")
    assert not runfolder.lock_path(out).exists() and not out.exists()
    partial = runfolder.staging_path(out)
    assert partial.exists() and not (partial / "manifest.json").exists()
