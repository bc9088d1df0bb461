"""Test-session set-up: the notebooks run under nbval on a small synthetic dataset.

Notebooks take their dataset from the ``data_path`` parameter, else $RHI_DATA.
When pytest collects a notebook and RHI_DATA is unset, a study-sized synthetic
dataset (about 2,000 episodes, a few seconds to make) is written to a temporary
folder and RHI_DATA points at it, so `pytest --nbval-lax notebooks` needs no
prepared data.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

_NOTEBOOK_DATA: dict[str, str] = {}


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
