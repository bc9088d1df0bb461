"""``rhi batch``: the notebooks for the whole dataset and every local authority, in parallel.

The dataset is validated once, up front; an invalid dataset writes nothing.
Each worker process keeps one Jupyter kernel warm, started while the dataset
loads, and runs the notebooks authority after authority in it through one
kernel client (papermill injects the parameters, nbclient executes), so
imports are paid once per worker, not once per report; the notebooks show the
run's published tables, so no kernel reads the dataset. The disclosure audit
runs while the first notebooks do; each report waits for its verdict before its
page is written. An authority whose notebook fails is recorded with the
notebook's error message; the others finish.

The run is built in a hidden ``.RUN.partial`` folder next to the target and
renamed into place at the end, so an interrupted run never leaves a report
folder that looks complete. ``--resume`` reuses any report (in the target or
a partial folder) whose inputs, parameters and notebooks are unchanged.
``--out`` replaces only a previous run, one run at a time (``analysis.run.folder``),
and workers and kernels die with the batch, even on SIGKILL (``analysis.run.lifeline``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path

from analysis import timing
from analysis.filecache import read_once
from analysis.run import lifeline, folder as runfolder
from analysis.run import manifest as mf
from analysis.errors import DatasetError
from analysis.publish.cells import PublicationError

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"
COMPARE_PREFIX = "03_"
ANNEX_A_PREFIX = "05_"   # the Ofsted Annex A report: run only, and always, on an Annex A dataset
ALL = "all"
COMPARE = "compare"
STATUS_FILE = "status.json"
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1", timing.KERNEL_ENV: "1"}
# The kernels keep no history of the code they run: IPython's history is an SQLite file in the user's IPython folder,
# written by a thread of its own after every cell (and shared by the two kernels): about 0.05 s of a report's time
# on 2 cores, and a copy of every report's code in the user's home that nobody asked for.
KERNEL_ARGS = ("--HistoryManager.enabled=False",)
# Run before every notebook in a warm kernel: no variable or figure of the previous report survives,
# but imported modules (and the cached dataset) do.
RESET_CELL = "%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\n%matplotlib inline\ndel _plt"
# Run once when a worker's kernel starts: the heavy libraries (pandas, matplotlib, scipy, statsmodels), through
# the modules the notebooks import, are imported then rather than in the kernel's first report. A module that
# fails to import is left for the notebook to import (and report) as it always did.
WARM_UP_MODULES = ("matplotlib.pyplot", "analysis.render.report", "analysis.render.plots", "analysis.render.narrative",
                   "analysis.render.kpis_plots", "analysis.render.years_plots", "analysis.reference.compare",
                   "analysis.reference.dfe", "analysis.stats.funnel", "analysis.definitions.kpis",
                   "analysis.definitions.linkage", "analysis.dataset.validate")
WARM_UP_CELL = ("def _rhi_warm_up(names):\n    import importlib\n    for name in names:\n        try:\n"
                "            importlib.import_module(name)\n        except Exception:\n            pass\n"
                f"_rhi_warm_up({WARM_UP_MODULES!r})\ndel _rhi_warm_up")
# What a worker imports as it starts, besides the kernel's: the report page and its downloads.
WORKER_MODULES = ("nbformat", "nbclient", "papermill.parameterize", "bs4", "openpyxl", "openpyxl.styles",
                  "openpyxl.utils", "openpyxl.worksheet.table", "analysis.render.html", "analysis.render.spreadsheet",
                  "analysis.importers.report")
WARM_UP_TIMEOUT = 300   # seconds; past it the first notebook simply waits for the kernel to finish


class BatchError(Exception):
    """Bad options or an invalid dataset: nothing was run. ``lines`` are shown to the user."""

    def __init__(self, message: str, lines=(), code: int = 2):
        super().__init__(message)
        self.lines, self.code = list(lines), code


@dataclass
class Task:
    key: str                    # "all", an la_code, or "compare"
    la_code: str | None
    notebooks: list[Path]
    params: dict
    digest: str = ""
    status: dict = field(default_factory=dict)


# --- planning -------------------------------------------------------------------------------------

def discover_notebooks(folder: Path | None = None) -> tuple[list[Path], Path | None]:
    """Per-authority notebooks (0N_*.ipynb except 03) and the run-level comparison notebook (03_*).

    The folder is ``folder``, else $RHI_NOTEBOOKS, else the project's ``notebooks/``.
    """
    folder = Path(folder or os.environ.get("RHI_NOTEBOOKS") or NOTEBOOKS)
    found = sorted(folder.glob("0[0-9]_*.ipynb"))
    per_la = [p for p in found if not p.name.startswith(COMPARE_PREFIX)]
    compare = next((p for p in found if p.name.startswith(COMPARE_PREFIX)), None)
    return per_la, compare


def parse_options(period_start, period_end, risk_levels, min_cell) -> dict:
    """The run's options, checked as every command checks them (:mod:`analysis.dataset.options`); BatchError if bad."""
    from analysis.dataset.options import OptionError, check_min_cell, parse_period, parse_risk_levels

    try:
        start, end = parse_period(period_start, period_end)
        levels = ",".join(parse_risk_levels(risk_levels))
        min_cell = check_min_cell(min_cell)
    except OptionError as exc:
        raise BatchError(str(exc)) from None
    return {"period_start": start.isoformat() if start else None, "period_end": end.isoformat() if end else None,
            "risk_levels": levels, "min_cell": min_cell}


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or taskset may narrow)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def check_jobs(jobs) -> int:
    """The usable cores; BatchError (exit 2) if ``jobs`` is given and is not a whole number from 1 to that.

    ``None`` (the default) means one job per core. More jobs than cores would only make them wait for
    each other, and 0 or a negative number is never what the user meant.
    """
    cores = usable_cores()
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= cores):
        raise BatchError(f"--jobs {jobs}: expected a number of parallel jobs from 1 to {cores} (the cores this "
                         "machine lets the run use); leave it out for one per core")
    return cores


def task_digest(inputs: dict, params: dict, notebooks: list[Path], key: str, extra: dict | None = None) -> str:
    """Hash of everything a report depends on: input files, parameters, notebooks, and the package's code.

    The code is hashed, not only the version number, so that ``--resume`` never reuses a report made by
    other code (a development checkout keeps one version number across many changes).
    """
    from analysis import __version__

    payload = {"inputs": inputs, "params": params, "key": key, "version": __version__, "extra": extra or {},
               "notebooks": {p.name: mf.sha256(p) for p in notebooks}, "code": code_digest()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def code_digest() -> str:
    """sha256 over the package's source files and templates, in path order."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".css", ".yaml")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _reusable(folder: Path, digest: str) -> bool:
    try:
        status = json.loads((folder / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return False
    return status.get("status") == "ok" and status.get("digest") == digest and (folder / "report.html").exists()


def _link_copy(src: Path, dst: Path) -> None:
    """Copy a finished report folder, hard-linking files where possible (they are never rewritten)."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)
    shutil.copytree(src, dst, copy_function=link)


# --- the run --------------------------------------------------------------------------------------

def run_batch(path, out, la_codes=None, jobs: int | None = None, resume: bool = False, all_only: bool = False,
              suppress: bool = True, min_cell: int = 5, period_start=None, period_end=None,
              risk_levels: str = "medium,low", notebooks_dir=None, progress: bool = True,
              cell_timeout: int = 1800, dfe_year: int | None = None, svg: bool = False) -> dict:
    """Run the batch and return the manifest. Raises BatchError (nothing written) for bad input."""
    from analysis.dataset.io import dataset_files
    from analysis.dataset.validate import load_dataset

    started = datetime.now(timezone.utc)
    timing.take()   # this run's stages only
    path, out = Path(path).resolve(), Path(out).resolve()
    options = parse_options(period_start, period_end, risk_levels, min_cell)
    options["suppress"] = bool(suppress)
    cores = check_jobs(jobs)
    if dfe_year is not None:   # the comparison's DfE year; by default the one containing the period's end
        from analysis.reference.dfe import DfEDataError, load_dfe, years

        try:
            if int(dfe_year) not in years(load_dfe()):
                raise BatchError(f"--dfe-year {dfe_year} is not in the DfE data; available: "
                                 f"{', '.join(map(str, years(load_dfe())))}")
        except DfEDataError as exc:
            raise BatchError(str(exc)) from None
    per_la, compare_nb = discover_notebooks(notebooks_dir)
    if not per_la:
        raise BatchError(f"No report notebooks (0N_*.ipynb) in {notebooks_dir or os.environ.get('RHI_NOTEBOOKS') or NOTEBOOKS}")
    if not path.exists():
        raise BatchError(f"No dataset at {path}", code=1)
    with _refusals_as_batch_errors():
        runfolder.check_target(out, path)  # before the dataset is read; checked again under the lock
    # The report workers start now, each its Jupyter kernel, while the dataset loads and the tables are made
    # (their first report would otherwise wait for it); nothing runs in them before the tables are published.
    workers = _ReportWorkers(_planned_workers(jobs or cores, all_only, la_codes), cell_timeout, svg)
    try:
        try:
            with timing.stage("load and validate"):
                ds = load_dataset(path)
        except DatasetError as err:
            raise BatchError(f"{path}: {len(err.problems)} problem(s) found; nothing was analysed or written.",
                             err.summary_lines(20), code=1) from None
        from analysis.definitions.annex_a import has_annex_a

        annex_a = has_annex_a(path) and len(ds.episodes) == 0   # an Ofsted Annex A import: its own report only
        per_la = [p for p in per_la if p.name.startswith(ANNEX_A_PREFIX) == annex_a]
        if annex_a:
            compare_nb, all_only = None, True
        if la_codes:  # matched in any case: e08000025 is E08000025
            from analysis.dataset.options import OptionError, match_las

            try:
                la_codes = match_las(la_codes, ds.la_codes, str(path))
            except OptionError as exc:
                raise BatchError(str(exc)) from None
        workers.give_ids(frozenset(_id_hash(str(c)) for c in ds.children["child_id"].dropna()))
        synthetic = _synthetic(path)
        inputs = {str(f.name): mf.sha256(f) for f in dataset_files(path)}
        common = {"data_path": str(path), **options}

        if all_only:
            keys = [ALL]
        elif la_codes:
            keys = list(dict.fromkeys(la_codes))
        else:
            sizes = ds.episodes["la_code"].value_counts()
            keys = [ALL] + sorted(ds.la_codes, key=lambda c: -int(sizes.get(c, 0)))  # big first: better packing
        tasks = [Task(k, None if k == ALL else k, per_la, {**common, "la_code": None if k == ALL else k}) for k in keys]
        # The comparison shows every authority beside all of them together: only a run over every authority has it.
        # A run for some authorities (--la) publishes those authorities and nothing else (docs/publication.md).
        if compare_nb is not None and not all_only and not la_codes:
            tasks.insert(0, Task(COMPARE, None, [compare_nb], {**common, "la_code": None,
                                                               "dfe_year": None if dfe_year is None else int(dfe_year)}))
        from analysis.reference.dfe import DFE_CSV
        for t in tasks:
            extra = {"dfe": mf.sha256(DFE_CSV)} if t.key == COMPARE and DFE_CSV.exists() else {}
            if svg:   # the charts' SVG copies are part of the report (a run without them never reused for one with)
                extra["svg"] = True
            t.digest = task_digest(inputs, t.params, t.notebooks, t.key, extra or None)

        with _refusals_as_batch_errors(), runfolder.claim(out, path, resume) as staging:  # lock released on any exit
            for stale in ("index.html", "manifest.json"):
                (staging / stale).unlink(missing_ok=True)

            todo = []
            for t in tasks:
                here, there = staging / t.key, out / t.key
                if resume and _reusable(here, t.digest):
                    t.status = {**json.loads((here / STATUS_FILE).read_text()), "reused": True}
                elif resume and _reusable(there, t.digest):
                    if here.exists():
                        shutil.rmtree(here)
                    _link_copy(there, here)
                    t.status = {**json.loads((here / STATUS_FILE).read_text()), "reused": True}
                else:
                    if here.exists():
                        shutil.rmtree(here)
                    todo.append(t)

            asked = jobs or cores
            jobs = max(1, min(asked, len(todo) or 1))
            certificates, years = None, {}
            try:
                if annex_a:  # the Annex A tables, registered and suppressed the same way (analysis.definitions.annex_a)
                    from analysis.definitions.annex_a import publish_run as publish_annex_a

                    publication = publish_annex_a(path, options, staging, PUBLISHED_TABLES)
                else:
                    from analysis.importers.report import unavailable_fields

                    publication, certificates, years = publish_run(ds, options, tasks, staging, progress,
                                                                   unavailable_fields(path), jobs=jobs)
            except PublicationError as err:  # two values for one cell, a relation that does not hold: a bug
                raise BatchError(f"The run's numbers are inconsistent, so nothing was published ({err}). "
                                 "This is a bug in rhi: please report it with this message.", code=3) from None
            # Each report states the disclosure audit's verdict at the top. The notebooks need only the published
            # tables and what run.json tells them first (the records' dates, each scope's years), so they start now;
            # the audit (which reads only publication/, written above) runs meanwhile, and each report waits for its
            # verdict before its page is written.
            from analysis.render.report import records_period

            period = records_period(ds)   # the records' first and last day: read once, told twice
            tell_reports(staging / PUBLISHED_TABLES, period, options, None, years)
            for t in tasks:  # after the digests: where the tables are is not an input of a report
                t.params = {**t.params, "publication_dir": str(staging / PUBLISHED_TABLES)}
            told = {}

            def audit_meanwhile() -> list:
                with timing.stage("disclosure audit"):
                    told["audit"] = audit_run(staging, certificates)
                told.update(tell_reports(staging / PUBLISHED_TABLES, period, options, told["audit"], years))
                again = []
                for t in tasks:  # a reused report states the verdict it was written with: written again if it differs
                    if t.status and t.status.get("reused") and t.status.get("verdict") != told["verdict"]["text"]:
                        shutil.rmtree(staging / t.key, ignore_errors=True)
                        t.status = None
                        again.append(t)
                return again

            with timing.stage("reports"):   # the disclosure audit runs within this stage (see above)
                _execute_all(workers, todo, staging, synthetic, progress, audit_meanwhile)
            audit = told["audit"]
            jobs = workers.count
            shutil.rmtree(staging / PUBLISHED_TABLES, ignore_errors=True)

            finished = datetime.now(timezone.utc)
            record = _manifest(tasks, path, inputs, options, jobs, started, finished, synthetic, la_codes, all_only)
            record["parameters"]["svg"] = bool(svg)
            record["publication"] = publication
            record["disclosure_audit"] = audit
            record["verdict"] = told["verdict"]
            record["records_period"] = {"first_day": told["data_start"], "last_day": told["data_end"]}
            if not audit["ok"]:
                record["summary"]["failed"] = sorted(record["summary"]["failed"] + ["disclosure audit"])
            from analysis.render.html import write_index
            with timing.stage("index"):
                write_index(staging, record, [t.key for t in tasks], synthetic)
            record["stages_s"] = timing.rounded(timing.take())   # where the run's time went (docs/performance.md)
            mf.write_json(staging / "manifest.json", record)
            runfolder.swap_into_place(staging, out)
    except BaseException:   # a refusal, a bug or an interruption: stop at once; the kernels die with their workers
        workers.stop()
        raise
    workers.close()
    return record


PUBLISHED_TABLES = ".published-tables"   # the notebooks' tables of each scope, removed before the swap


def publish_run(ds, options, tasks, staging: Path, progress: bool, unavailable=(), jobs: int = 1):
    """Every table of every report, suppressed once for the whole run, written to ``publication/``; returns
    its summary, the certificates for the audit (:func:`certificates_of`) and each scope's reporting years.

    The scopes' tables are computed in ``jobs`` processes. The notebooks then show these tables
    (``report.setup(publication_dir=...)``),
    so no two reports show different numbers for one cell and the suppression
    is judged against everything the run publishes together.
    """
    import pickle

    from analysis.disclosure import Disclosure
    from analysis.definitions.populations import Params
    from analysis.publish.build import build_publication, tables_of
    from analysis.publish.files import time_period_of, write_publication
    from analysis.publish.tidy import coverage_of

    keys = [t.key for t in tasks]
    compare = COMPARE in keys
    scopes = [ALL] + list(ds.la_codes) if compare else [k for k in keys if k != COMPARE]
    params = Params(period_start=options["period_start"], period_end=options["period_end"],
                    risk_levels=tuple(options["risk_levels"].split(",")))
    control = Disclosure(options["suppress"], options["min_cell"])
    pub = build_publication(ds, params, scopes, control, progress=progress, compare=compare, unavailable=unavailable,
                            jobs=jobs)
    folder = staging / PUBLISHED_TABLES
    folder.mkdir(exist_ok=True)
    for scope in scopes + ([COMPARE] if compare else []):
        with open(folder / f"{scope}.pkl", "wb") as handle:
            pickle.dump(tables_of(pub, scope), handle)
    start = params.period_start if params.period_start is not None else ds.episodes["missing_start"].min()
    write_publication(pub, staging / "publication", *time_period_of(start, params.period_end),
                      coverage=coverage_of(ds, params), synthetic=_synthetic(Path(ds.path)) if ds.path else False)
    return {"folder": "publication", **pub.summary()}, certificates_of(pub), pub.years


def tell_reports(folder: Path, period: tuple, options: dict, audit: dict | None, years: dict | None = None) -> dict:
    """Write what every report of the run states (``analysis.render.report.RUN_FILE``): the first and last day of
    the records (``period``, from ``report.records_period``), each scope's reporting years (labels), so that no
    report's kernel loads the dataset to find them, and, once the audit has run (``audit``), its verdict, worded
    once (``analysis.render.words.verdict``). Written whole each time (a reader never sees half a file)."""
    from analysis.render.report import RUN_FILE
    from analysis.render.words import verdict

    told = {"data_start": period[0], "data_end": period[1]}
    if audit is not None:
        told["verdict"] = verdict(audit, options["suppress"])
    folder.mkdir(parents=True, exist_ok=True)
    mf.write_json(folder / RUN_FILE, {**told, "reporting_years": years or {}})
    return told


def certificates_of(pub) -> tuple[dict, list[dict]] | None:
    """The true value of every cell and the suppression's witnesses, by cell id, for the audit only.

    Never written anywhere: they stay in this process. The audit checks each one
    exactly against its own reading of the publication and uses it only to show
    that a suppressed cell can take other values; it finds leaks on its own.
    """
    from analysis.publish.files import cell_ids

    if pub.protection is None or not pub.protection.hidden:
        return None
    ids = cell_ids(pub)
    truth = {ids[k]: int(value) for k, value in pub.store.values.items()}
    return truth, [{ids[k]: value for k, value in w.items()} for w in pub.protection.witnesses]


def audit_run(staging: Path, certificates=None) -> dict:
    """The independent disclosure audit of everything the run publishes (``rhi audit-disclosure``), given the
    run's certificates (:func:`certificates_of`), which save it work and decide nothing it has not checked."""
    from analysis.attack import audit_publication

    from analysis.attack.read import PublicationError as Unreadable

    try:
        r = audit_publication(staging / "publication", certificates=certificates)
    except Unreadable as err:  # the run's own files: a bug, reported as a failed audit, never published
        return {"ok": False, "cells": None, "suppressed": None, "leaks": 0, "inconsistencies": 0,
                "unresolved": 0, "useless_suppressions": 0,
                "error": "; ".join(err.lines(5)), "checked_by": "rhi audit-disclosure (analysis.attack)"}
    return {"ok": r.ok, "cells": r.cells, "suppressed": r.suppressed, "leaks": len(r.leaks),
            "inconsistencies": len(r.inconsistencies), "unresolved": len(r.unresolved),
            "useless_suppressions": len(r.warnings),
            "checked_by": "rhi audit-disclosure (analysis.attack), which shares no code with the suppression"}


@contextmanager
def _refusals_as_batch_errors():
    """A refused or unwritable --out (runfolder.RunFolderError) is a BatchError: a message, no traceback."""
    try:
        yield
    except runfolder.RunFolderError as err:
        raise BatchError(str(err), code=err.code) from None


def _synthetic(path: Path) -> bool:
    """Whether the dataset says it is synthetic, in whichever format it is (see analysis.dataset.metadata)."""
    from analysis.dataset.metadata import is_synthetic

    return is_synthetic(path)


def _planned_workers(asked: int, all_only: bool, la_codes) -> int:
    """How many report workers to start before the dataset is read: one per job asked, no more than the reports
    known to come (one with --all-only, one per authority asked with --la)."""
    if all_only:
        return 1
    if la_codes:
        return max(1, min(asked, len(set(la_codes))))
    return max(1, asked)


class _ReportWorkers:
    """The processes that run the reports, each keeping one Jupyter kernel warm (``spawn``: a clean interpreter per
    worker, no inherited threads or locks).

    They start at once, and each starts its kernel as it starts (:func:`_worker_init`), so that the kernels are
    ready when the tables are; they are given the dataset's child-id hashes (to scrub error messages) when the
    dataset is read, and told when the disclosure audit's verdict is known (:meth:`verdict_known`): a report
    waits for it before writing its page. ``close`` lets them finish and shut their kernels down; ``stop`` kills
    them at once (their kernels die with them)."""

    def __init__(self, count: int, cell_timeout: int, svg: bool):
        ctx = get_context("spawn")
        self.count, self._ids, self._verdict = count, ctx.Queue(), ctx.Event()
        clear_dead_kernel_folders()   # left by batches killed before they could remove theirs
        self.runtime = tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER}{os.getpid()}-")   # the kernels' files: removed here
        self.pool = ProcessPoolExecutor(max_workers=count, mp_context=ctx, initializer=_worker_init,
                                        initargs=(self._ids, self._verdict, cell_timeout, os.getpid(), svg,
                                                  self.runtime))
        for _ in range(count):   # a process is started per task submitted, up to ``count``: start them all now
            self.pool.submit(_started)

    def give_ids(self, id_hashes) -> None:
        for _ in range(self.count):   # each worker takes one copy before its first report
            self._ids.put(id_hashes)

    def verdict_known(self) -> None:
        self._verdict.set()

    def submit(self, task: "Task", staging: Path, synthetic: bool):
        return self.pool.submit(run_task, task.key, task.la_code, [str(p) for p in task.notebooks], task.params,
                                str(staging / task.key), task.digest, synthetic)

    def stop(self) -> None:
        """Cancel the reports not started and kill the workers; their kernels die with them (lifeline), and the
        kernels' connection files go with the folder that holds them."""
        _stop_workers(self.pool)
        self._release()

    def close(self) -> None:
        """Let the workers finish and exit, each shutting its kernel down."""
        self._verdict.set()   # nothing left waiting on it
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._release()

    def _release(self) -> None:
        self._ids.cancel_join_thread()   # hashes no worker took stay unsent: nothing waits for them
        self._ids.close()
        shutil.rmtree(self.runtime, ignore_errors=True)


def _started() -> bool:
    return True


KERNEL_FOLDER = "rhi-batch-kernels-"   # + the batch's pid + mkdtemp's random part, in the temporary folder
_KERNEL_FILE = re.compile(r"kernel-\d+\.json|k\d+-\d+")   # a kernel's connection file and its Unix sockets


def clear_dead_kernel_folders(where: Path | None = None) -> list[Path]:
    """Remove the kernel folders that batches killed with SIGKILL left behind (nothing ran to remove them): in the
    temporary folder (or ``where``), this user's ``rhi-batch-kernels-PID-*`` folders whose batch process PID has
    ended (``run.folder.process_running``, as for a lock's holder), holding nothing but kernels' connection files
    and sockets. Any other folder is left as it is: another user's, a live batch's (or one whose PID another
    process now has), or one holding any other file. Returns the folders removed."""
    if not hasattr(os, "getuid"):   # Windows: no Unix sockets, and no owner to check this way
        return []
    removed = []
    for folder in Path(where or tempfile.gettempdir()).glob(f"{KERNEL_FOLDER}*"):
        pid = re.fullmatch(re.escape(KERNEL_FOLDER) + r"(\d+)-[A-Za-z0-9_]+", folder.name)
        try:
            if not pid or folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            if runfolder.process_running(pid.group(1)):
                continue
            if not all(_KERNEL_FILE.fullmatch(f.name) for f in folder.iterdir()):
                continue
            shutil.rmtree(folder)
        except OSError:   # gone meanwhile, or not ours to read: left
            continue
        removed.append(folder)
    return removed


def _execute_all(workers: _ReportWorkers, todo, staging, synthetic, progress, meanwhile=None) -> None:
    """Run the reports ``todo`` in ``workers``; ``meanwhile()`` (the disclosure audit) runs while they start and
    returns reports to run as well; the workers are told the verdict is known when it returns."""
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="reports", unit="report", disable=not progress, file=sys.stderr)
    try:
        futures = {workers.submit(t, staging, synthetic): t for t in todo}
        more = meanwhile() if meanwhile else []
        workers.verdict_known()
        futures.update({workers.submit(t, staging, synthetic): t for t in more})
        bar.total = len(futures)
        bar.refresh()
        for future in as_completed(futures):
            task = futures[future]
            try:
                task.status = future.result()
            except BrokenProcessPool:
                task.status = _failed(task, "the worker process died (out of memory?)")
            except Exception as exc:  # a bug in the runner itself: still isolate the authority
                task.status = _failed(task, f"{type(exc).__name__}: {exc}")
            bar.update(1)
            if task.status.get("status") != "ok":
                bar.write(f"FAILED {task.key}: {task.status.get('error', '')}")
    except BaseException:  # interrupted (Ctrl-C, SIGTERM) or a bug: stop now, not after every queued report
        workers.stop()
        raise
    finally:
        bar.close()


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel the reports not started and kill the workers; their kernels die with them (lifeline)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # no public handle before Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.kill()


def _failed(task: Task, message: str) -> dict:
    return {"key": task.key, "status": "failed", "error": message, "digest": task.digest, "duration_s": None}


def _manifest(tasks, path, inputs, options, jobs, started, finished, synthetic, la_codes, all_only) -> dict:
    reports = {}
    for t in tasks:
        s = t.status or {"status": "not run"}
        reports[t.key] = {"status": s.get("status"), "duration_s": s.get("duration_s"), "error": s.get("error"),
                          "reused": bool(s.get("reused")), "notebooks": [p.name for p in t.notebooks],
                          "folder": t.key, "pdf": s.get("pdf")}
    failed = sorted(k for k, r in reports.items() if r["status"] != "ok")
    return {
        "tool": "rhi batch", "git": mf.git_state(), "packages": mf.package_versions(),
        "dataset": {"path": str(path), "files_sha256": inputs, "synthetic_data": synthetic},
        "parameters": {**{k: v for k, v in options.items()}, "la_codes": la_codes or "all", "all_only": all_only,
                       "jobs": jobs},
        "disclosure_control": _statement(options),
        "started": started.isoformat(timespec="seconds"), "finished": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "summary": {"reports": len(reports), "ok": len(reports) - len(failed), "failed": failed},
        "reports": reports,
    }


def _statement(options) -> dict:
    from analysis.disclosure import Disclosure

    control = Disclosure(options["suppress"], options["min_cell"])
    return {"suppressed": control.suppress, "min_cell": control.min_cell, "statement": control.statement}


# --- inside a worker process ----------------------------------------------------------------------

_WORKER: dict = {}


def _worker_init(ids, verdict, cell_timeout, parent_pid, svg=False, runtime=None) -> None:
    """Set up a worker: it dies with the batch (even on SIGKILL), and shuts its kernel down on a clean exit.
    It starts its kernel at once, and makes the objects every report uses (the HTML exporter, the spreadsheet
    writer): timed, the time goes to its first report's stages. ``ids``: a queue holding the dataset's child-id
    hashes (read before the first report); ``verdict``: set when the audit's verdict is in run.json. With
    ``svg`` its kernel saves every chart as SVG too (``analysis.render.report.SVG_ENV``)."""
    from multiprocessing import util

    lifeline.die_with_parent(parent_pid)
    _WORKER.update(ids=None, ids_queue=ids, verdict=verdict, timeout=cell_timeout, km=None, kc=None, svg=bool(svg),
                   runtime=runtime)
    util.Finalize(None, _shutdown_kernel, exitpriority=10)
    timing.take()
    try:
        _kernel()
    except Exception:   # the first report starts it again, and reports why if it cannot
        _shutdown_kernel()
    with timing.stage("worker start"):
        import importlib

        for name in WORKER_MODULES:   # imported once here, not in the first report
            importlib.import_module(name)
        importlib.import_module("analysis.render.html")._exporter()
    _WORKER["first_stages"] = timing.take()


def _worker_ids():
    """The dataset's child-id hashes, taken from the batch's queue before this worker's first report."""
    if _WORKER.get("ids") is None and _WORKER.get("ids_queue") is not None:
        _WORKER["ids"] = _WORKER["ids_queue"].get()
    return _WORKER.get("ids")


def _id_hash(value: str) -> bytes:
    return hashlib.blake2b(value.encode(), digest_size=16).digest()


def scrub_ids(text: str, id_hashes) -> str:
    """Replace any token of ``text`` that is a child id of the dataset."""
    if not id_hashes or not text:
        return text

    def swap(match):
        token = match.group(0)
        return "[child id removed]" if _id_hash(token) in id_hashes else token

    text = re.sub(r"[^\s'\"(),;:\[\]{}<>=]+", swap, text)
    return re.sub(r"[A-Za-z0-9_\-]+", swap, text)


def _kernel():
    """This worker's kernel, started (and warmed up) if it is not running."""
    km = _WORKER.get("km")
    if km is not None and km.is_alive():
        return km
    _shutdown_kernel()
    from analysis.render.report import SVG_ENV

    env = {**os.environ, **KERNEL_ENV, SVG_ENV: "1" if _WORKER.get("svg") else "0"}
    km = _tethered_kernel_manager()(kernel_name="python3", **_kernel_where())
    log = open(Path(tempfile.gettempdir()) / f"rhi-batch-kernel-{os.getpid()}.log", "ab")
    with timing.stage("kernel start"):
        km.start_kernel(extra_arguments=list(KERNEL_ARGS), env=env,
                        cwd=str(NOTEBOOKS if NOTEBOOKS.exists() else Path.cwd()), stdout=subprocess_devnull(),
                        stderr=log)
        _WORKER["km"] = km
        _warm_up(_client())
    return km


UNIX_SOCKET_PATH = 100   # characters: a Unix socket's path must be shorter than this (104 on macOS, 108 on Linux)


def _kernel_where() -> dict:
    """Where this worker's kernel listens. In the batch's private folder (``runtime``: made by mkdtemp, which only
    this user can enter): its connection file and, on POSIX, its sockets (Unix sockets rather than TCP ports on
    127.0.0.1). Any local user can connect to a TCP port, and a kernel's output channel sends every output to
    whoever subscribes: signed, not encrypted. Without the folder, or where a socket's path would be too long,
    jupyter_client's defaults (TCP on 127.0.0.1)."""
    runtime = _WORKER.get("runtime")
    if not runtime:
        return {}
    where = {"connection_file": str(Path(runtime) / f"kernel-{os.getpid()}.json")}
    prefix = str(Path(runtime) / f"k{os.getpid()}")
    if os.name == "posix" and len(prefix) + 8 < UNIX_SOCKET_PATH:   # jupyter_client adds "-" and a port number
        where.update(transport="ipc", ip=prefix)
    return where


def _client():
    """The one kernel client of this worker's kernel, its channels started once and kept for every notebook.

    nbclient starts a client for each notebook otherwise, and waiting for a new client to be ready costs
    about 0.2 s (it waits that long for the kernel's output channel to fall quiet): 0.8 s of a four-notebook
    report. Every message nbclient reads is matched to the request it sent, so a notebook never takes a
    message meant for the one before."""
    kc = _WORKER.get("kc")
    if kc is None:
        kc = _WORKER["km"].client()
        kc.start_channels()
        kc.wait_for_ready(timeout=None)   # no time limit: ready, or an error as soon as the kernel dies
        kc.allow_stdin = False
        _WORKER["kc"] = kc
    return kc


def _warm_up(kc) -> None:
    """Import the libraries the notebooks use in a new kernel (``WARM_UP_CELL``), silently and outside the
    kernel's history: no output, execution count or variable of it reaches a report."""
    try:
        msg_id = kc.execute(WARM_UP_CELL, silent=True, store_history=False)
        deadline = time.monotonic() + WARM_UP_TIMEOUT
        while kc.get_shell_msg(timeout=max(deadline - time.monotonic(), 0.1))["parent_header"].get("msg_id") != msg_id:
            pass
    except Exception:   # too slow: the notebooks import what they need, as before
        pass


def _tethered_kernel_manager():
    """A KernelManager whose kernels are started through lifeline, so they die with this worker."""
    from jupyter_client.manager import KernelManager

    class TetheredKernelManager(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return lifeline.tethered(super().format_kernel_cmd(extra_arguments=extra_arguments))

    return TetheredKernelManager


def subprocess_devnull():
    import subprocess

    return subprocess.DEVNULL


def _shutdown_kernel() -> None:
    kc, km = _WORKER.get("kc"), _WORKER.get("km")
    _WORKER["kc"] = _WORKER["km"] = None
    if kc is not None:
        try:
            kc.stop_channels()
        except Exception:  # already closed
            pass
    if km is not None:
        try:
            km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass


def _execute(nb, timeout: int) -> None:
    """Run a notebook in this worker's warm kernel through its one client (:func:`_client`)."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, km=_kernel(), timeout=timeout, allow_errors=False, record_timing=False)
    client.kc = _client()   # kept: nbclient leaves a client it did not start alone (the kernel is not its own)
    client.execute()


def _error_text(exc, nb_name: str) -> str:
    from analysis.render.html import clean_text

    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        message = f"{ename}: {evalue}"
    else:
        message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    return f"{nb_name}: {clean_text(message).strip()}"


def run_task(key, la_code, notebooks, params, folder, digest, synthetic) -> dict:
    """Run the notebooks of one report in this worker's warm kernel, render report.html, write status.json."""
    from papermill.parameterize import parameterize_notebook

    from analysis.render.html import notebook_body, render_report, write_downloads

    t0 = time.perf_counter()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inject = {**params, "output_dir": str(folder)}
    sections, blocks, error = [], [], None
    timing.take()   # this report's stages only (a kernel start since the last report belongs to it)
    kernel: dict[str, float] = {}   # stages timed inside the notebooks' kernel
    for nb_path in map(Path, notebooks):
        before = set((folder / "figures").glob("*.png"))
        nb = parameterize_notebook(_notebook(nb_path), inject, kernel_name="python3", language="python")
        cells = nb.cells
        nb.cells = _with_reset(cells)
        try:
            with timing.stage("notebooks"):
                _execute(nb, _WORKER.get("timeout", 1800))
        except Exception as exc:  # CellExecutionError, DeadKernelError, CellTimeoutError...
            error = scrub_ids(_error_text(exc, nb_path.name), _worker_ids())
            if "DeadKernel" in type(exc).__name__:
                _shutdown_kernel()
        nb.cells = cells   # the notebook's own cells, as executed (the parameters' cells have no output to show)
        timing.add(kernel, timing.read_kernel_stages(folder))
        blocks.append(_headlines(folder))
        with timing.stage("HTML"):
            body, images = notebook_body(nb)
        new_figs = sorted(set((folder / "figures").glob("*.png")) - before)
        sections.append({"title": _title(nb_path), "anchor": nb_path.stem, "html": body,
                         "figures": new_figs if images == 0 else [], "rank": blocks[-1][0]})
        if error:
            break
    statement = _statement(params)
    from analysis.importers.report import limits_section

    limits = limits_section(params.get("data_path"))   # an imported source's missing fields, stated first
    if limits and key != COMPARE:
        sections.insert(0, limits)
    headlines = [line for _, lines in sorted(blocks, key=lambda b: b[0]) for line in lines]  # notebooks' ranks
    _merge_headlines(folder, headlines)
    from analysis.render.html import report_heading
    from analysis.render.report import run_context

    verdict = _WORKER.get("verdict")
    if verdict is not None and not verdict.is_set():   # the page states the audit's verdict: wait until it is known
        with timing.stage("waiting for the audit's verdict"):   # in the report's duration: said, not hidden
            verdict.wait()
    told = run_context(params["publication_dir"]) if params.get("publication_dir") else {}
    title, params_text = report_heading(key, params, told)   # the authority's name, the period as dates
    titles: dict = {}   # the page's table titles, collected as it is written: the spreadsheet's, without a reparse
    with timing.stage("HTML"):
        render_report(folder / "report.html", title=title, sections=sections, headlines=headlines,
                      synthetic=synthetic, statement=statement["statement"], suppressed=statement["suppressed"],
                      params_text=params_text, error=error, verdict=told.get("verdict"), titles=titles)
    with timing.stage("downloads"):
        downloads = write_downloads(folder, key=key, params=params, title=title, statement=statement["statement"],
                                    synthetic=synthetic, told=told, titles=titles)
    status = {"key": key, "status": "failed" if error else "ok", "error": error, "digest": digest,
              "pdf": _pdf_outcome(key, downloads),
              "duration_s": round(time.perf_counter() - t0, 2), "notebooks": [Path(n).name for n in notebooks],
              "stages_s": timing.rounded(timing.add(_report_stages(timing.take(), kernel),
                                                    _WORKER.pop("first_stages", {}))),
              "verdict": (told.get("verdict") or {}).get("text")}
    mf.write_json(folder / STATUS_FILE, status)
    return status


def _notebook_template(path: Path):
    """A notebook as the batch runs it: every cell carries a tags list, as papermill expects."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    nb.metadata["papermill"] = {"parameters": {}, "environment_variables": {}}
    return nb


_notebook = read_once(_notebook_template)   # every report of a worker runs the same notebooks: read once each


def _with_reset(cells: list) -> list:
    """The cells to execute: first ``RESET_CELL``, which clears what the kernel's previous report left, then the
    notebook. Where the notebook opens with its parameters (no code before them) and papermill's injected values,
    the reset, the defaults and the values run as one cell rather than three: the same code, in the same order,
    with two fewer round trips to the kernel (the two cells themselves stay in the notebook, with no output)."""
    import nbformat

    reset = {"tags": ["batch-reset"]}
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    tags = [cells[i].metadata.get("tags", []) for i in code[:2]]
    if len(code) >= 2 and code[1] == code[0] + 1 and "parameters" in tags[0] and "injected-parameters" in tags[1]:
        first = code[0]
        source = "\n".join((RESET_CELL, cells[first].source, cells[first + 1].source))
        return cells[:first] + [nbformat.v4.new_code_cell(source, metadata=reset)] + cells[first + 2:]
    return [nbformat.v4.new_code_cell(RESET_CELL, metadata=reset)] + cells


def _pdf_outcome(key: str, downloads: dict) -> str | None:
    """``report.pdf``, or why a run-level report has none (so that the run says it), or None: no PDF is made."""
    from analysis.render.browser import INSTALL_HINT
    from analysis.render.html import PDF_REPORTS

    pdf = downloads.get("pdf")
    if pdf and pdf.get("file"):
        return pdf["file"]
    if pdf:
        return f"not printed: {pdf.get('error')}"
    return f"not printed: {INSTALL_HINT}" if key in PDF_REPORTS else None


def _report_stages(worker: dict, kernel: dict) -> dict:
    """One report's time by stage: the worker's (kernel start, notebooks, HTML, downloads) with the notebooks'
    time split into what the kernel timed (data load, reading the published tables, charts, tables) and the
    rest of the notebook code and messaging ("notebook code, other")."""
    stages = dict(worker)
    inside = sum(kernel.values()) + stages.get("kernel start", 0.0)   # a kernel starts inside a notebook's run
    if "notebooks" in stages:
        stages["notebook code, other"] = max(stages.pop("notebooks") - inside, 0.0)
    return timing.rounded(timing.add(stages, kernel))


def _title(nb_path: Path) -> str:
    return nb_path.stem.split("_", 1)[-1].replace("_", " ").capitalize()


def _headlines(folder: Path) -> tuple[int, list[str]]:
    """(rank, headlines) the last notebook recorded (figures.json is shared, so each notebook's are read right
    after it); the page orders the notebooks' blocks by rank (police grade first, then delivery, then context)."""
    try:
        payload = json.loads((folder / "figures.json").read_text())
    except (OSError, ValueError):
        return 99, []
    lines = payload.pop("headlines", None) or []
    rank = payload.pop("headline_rank", 99)
    if lines or rank != 99:  # consumed: the next notebook's headlines must not be mistaken for these
        mf.write_json(folder / "figures.json", payload)
    return (int(rank) if isinstance(rank, (int, float)) else 99,
            [str(x) for x in lines] if isinstance(lines, list) else [str(lines)])


def _merge_headlines(folder: Path, headlines: list[str]) -> None:
    target = folder / "figures.json"
    try:
        payload = json.loads(target.read_text())
    except (OSError, ValueError):
        return
    payload["headlines"] = headlines
    mf.write_json(target, payload)


# --- the command ----------------------------------------------------------------------------------

def batch_command(path, out, la_codes=None, jobs=None, resume=False, all_only=False, suppress=True, min_cell=5,
                  period_start=None, period_end=None, risk_levels="medium,low", dfe_year=None, svg=False) -> None:
    """CLI entry: run, print a summary, exit non-zero if any report failed."""
    import typer

    previous = signal.signal(signal.SIGTERM, _terminated)  # so that the lock is released and workers stopped
    try:
        record = run_batch(path, out, la_codes=la_codes, jobs=jobs, resume=resume, all_only=all_only,
                           suppress=suppress, min_cell=min_cell, period_start=period_start, period_end=period_end,
                           risk_levels=risk_levels, dfe_year=dfe_year, svg=svg)
    except BatchError as err:
        from analysis.invocation import as_invoked

        typer.echo(as_invoked(str(err)), err=True)   # through make: JOBS=
        for line in err.lines:
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(err.code)
    finally:
        signal.signal(signal.SIGTERM, previous)
    summary = record["summary"]
    reused = sum(1 for r in record["reports"].values() if r["reused"])
    typer.echo(f"{summary['ok']} of {summary['reports']} reports complete ({reused} reused) in "
               f"{record['duration_s']:.0f}s: {Path(out) / 'index.html'}")
    pub, audit = record["publication"], record["disclosure_audit"]
    typer.echo(f"Publication: {pub['cells']:,} cells, {pub['primary']:,} suppressed as small (primary), "
               f"{pub['secondary']:,} more so that they cannot be recovered (secondary): {Path(out) / 'publication'}")
    told = record["verdict"]   # the words the index and every report state (analysis.render.words.verdict)
    details = "" if audit["ok"] or audit.get("error") else f" Details: rhi audit-disclosure {out}"
    typer.echo(f"Disclosure audit: {told['text']}{details}")
    for key, report in record["reports"].items():   # a run-level report without its PDF says why
        if str(report.get("pdf") or "").startswith("not printed"):
            why = report["pdf"][len("not printed: "):].strip().rstrip(".")
            typer.echo(f"No PDF of {key}/report.html: {why}. The HTML report and its spreadsheet are complete "
                       "without it.")
    if summary["failed"]:
        typer.echo(f"{len(summary['failed'])} failed:", err=True)
        for key in summary["failed"]:
            why = told["text"] if key == "disclosure audit" else record["reports"][key]["error"]
            typer.echo(f"  - {key}: {why}", err=True)
        raise typer.Exit(1)


def _terminated(signum, frame):
    raise SystemExit(128 + signum)
