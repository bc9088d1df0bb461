"""Test-session set-up: the notebooks run under nbval on a small synthetic dataset.

Notebooks take their dataset from the ``data_path`` parameter, else $RHI_DATA.
When pytest collects a notebook and RHI_DATA is unset, a study-sized synthetic
dataset (about 2,000 episodes, a few seconds to make) is written to a temporary
folder and RHI_DATA points at it, so `pytest --nbval-lax notebooks` needs no
prepared data. Each cell's outputs are then checked (tests/notebook_outputs.py): the
notebooks are committed without outputs, so there is nothing stored for nbval to compare.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

_NOTEBOOK_DATA: dict = {}


def notebook_dataset() -> str:
    if "path" not in _NOTEBOOK_DATA:
        from analysis.dataset.io import write_dataset
        from analysis.synth.command import generate_study

        folder = Path(tempfile.mkdtemp(prefix="rhi-notebook-data-"))
        write_dataset(generate_study(seed=7), folder)
        _NOTEBOOK_DATA["path"] = str(folder)
    return _NOTEBOOK_DATA["path"]


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".ipynb" and not os.environ.get("RHI_DATA"):
        os.environ["RHI_DATA"] = notebook_dataset()
    return None


# --- every notebook cell's outputs are checked, not only that it ran (tests/notebook_outputs.py) -------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)
    if outputs is not None and hasattr(item, "cell"):   # an nbval notebook cell that has run
        checks = _NOTEBOOK_DATA.setdefault("checks", _notebook_outputs())
        if "ids" not in _NOTEBOOK_DATA:
            _NOTEBOOK_DATA["ids"] = checks.child_ids(os.environ.get("RHI_DATA"))
        found = checks.problems(item.cell.source, outputs, _NOTEBOOK_DATA["ids"])
        assert not found, f"{item.nodeid}: " + "; ".join(found)
    return result


def _notebook_outputs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notebook_outputs", Path(__file__).parent / "tests" / "notebook_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- how `pytest -n 2 --dist loadfile` packs files onto the workers ----------------------------------
#
# loadfile hands out whole files; by default xdist sends the files with the most tests first, which puts
# the few-test, minutes-long files (whole batch runs) last, where one of them holds up the end of the run
# while the other worker idles. Files here go first, longest first (measured), and the rest keep their
# order, so the short files fill in around the long ones. Only the order changes: every test still runs.
LONGEST_FIRST = [
    "tests/test_batch_safety.py",
    "tests/test_determinism.py",
    "tests/test_accessibility.py",      # builds the shared default run (tests/conftest.py) ...
    "tests/test_years_report.py",       # a multi-year batch
    "tests/test_batch.py",
    "tests/test_outputs_safe.py",
    "tests/test_publication.py",
    "tests/test_publication_unchanged.py",
    "tests/test_properties.py",
    "tests/test_import_ssda903.py",
    "tests/test_synth.py",
    "notebooks/03_compare_local_authorities.ipynb",
    "tests/test_linkage.py",
    "tests/test_render.py",
    "tests/test_trends.py",
    "tests/test_import_annex_a.py",
    "tests/test_notebooks.py",
    "tests/test_end_to_end.py",         # ... which this one then only reads
]


def pytest_configure(config):
    if hasattr(config.option, "loadscopereorder"):     # pytest-xdist is active
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(pair):
        position, item = pair
        path = item.nodeid.split("::", 1)[0]
        return (rank.get(path, len(rank)), position)

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]
