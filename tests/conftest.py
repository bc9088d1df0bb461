"""Fixtures shared by several test files.

``default_run``: one ``rhi batch`` of the default synthetic study (seed 2019, every authority, the
all-authorities report and the comparison, ``--jobs 2``), as `make report` and `make compare` make it.
tests/test_end_to_end.py and tests/test_accessibility.py each used to make this same run for
themselves; both only read what it wrote, so it is made once per test session and shared. Under
pytest-xdist the workers share it too: the first worker to need it builds it under a file lock in the
session's temporary folder, and the others wait for it and then read it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from builders import TWO_JOBS


def _shared_folder(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp (pytest-N/popen-gwK): their parent belongs to this session.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _build_default_run(base: Path) -> dict:
    from typer.testing import CliRunner

    from analysis.cli import app
    from analysis.synth.command import write_synthetic

    data = write_synthetic(base / "data", seed=2019)
    out = base / "reports" / "default"
    with pytest.MonkeyPatch.context() as mp:       # the project's notebooks, whatever a caller had set
        mp.delenv("RHI_NOTEBOOKS", raising=False)
        result = CliRunner().invoke(app, ["batch", str(data), "--out", str(out), "--jobs", TWO_JOBS])
    return {"data": str(data), "out": str(out), "exit_code": result.exit_code, "output": result.output}


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """The default run: ``data`` and ``out`` folders, and the batch's ``result`` (exit_code, output).

    Read it, never change it: other test files read the same folders."""
    # Named for this test run: a --basetemp folder kept from an earlier run never hands over its old reports.
    shared = _shared_folder(tmp_path_factory) / f"default-run-{os.environ.get('PYTEST_XDIST_TESTRUNUID', 'solo')}"
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / "done.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                work = shared / "run"
                shutil.rmtree(work, ignore_errors=True)     # a build that did not finish
                work.mkdir()
                record = _build_default_run(work)
                done.write_text(json.dumps(record))
            record = json.loads(done.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return SimpleNamespace(data=Path(record["data"]), out=Path(record["out"]),
                           result=SimpleNamespace(exit_code=record["exit_code"], output=record["output"]))
