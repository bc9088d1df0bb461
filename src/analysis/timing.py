"""Where a run's time goes: named stages timed with a monotonic clock.

``with stage("charts"): ...`` adds the block's wall-clock seconds to the
stage ``charts`` of this process; ``take()`` returns the stages so far and
starts again. The batch records the stages of each report in its
``status.json`` and those of the publication in the manifest, so the
benchmark (``make bench``) profiles what users run, not a
stand-in. Timing costs two clock reads per block: it is always on.

A notebook kernel is another process: ``write_kernel_stages`` leaves its
stages in the report folder and the batch reads and merges them
(``read_kernel_stages``) after each notebook.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

_STAGES: dict[str, float] = {}
KERNEL_FILE = ".stages.json"   # in a report's folder while it is being made; removed by the batch
KERNEL_ENV = "RHI_BATCH_STAGES"


@contextmanager
def stage(name: str):
    """Add the wall-clock time of the block to stage ``name`` (nested stages are counted in both)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _STAGES[name] = _STAGES.get(name, 0.0) + time.perf_counter() - start


def take() -> dict[str, float]:
    """The stages timed since the last ``take``, in seconds, and start again."""
    out = dict(_STAGES)
    _STAGES.clear()
    return out


def absorb(stages: dict[str, float]) -> None:
    """Add stages timed elsewhere (another process) to this process's stages."""
    add(_STAGES, stages)


def add(into: dict[str, float], stages: dict[str, float]) -> dict[str, float]:
    for name, seconds in stages.items():
        into[name] = into.get(name, 0.0) + float(seconds)
    return into


def rounded(stages: dict[str, float]) -> dict[str, float]:
    return {name: round(seconds, 3) for name, seconds in sorted(stages.items())}


def write_kernel_stages(folder: Path) -> None:
    """In a notebook kernel started by the batch (``RHI_BATCH_STAGES=1``): add this notebook's stages to the
    report folder's stage file. A notebook run on its own writes nothing."""
    if os.environ.get(KERNEL_ENV) != "1":
        take()
        return
    file = Path(folder) / KERNEL_FILE
    try:
        old = json.loads(file.read_text())
    except (OSError, ValueError):
        old = {}
    file.write_text(json.dumps(add(old, take())))


def read_kernel_stages(folder: Path) -> dict[str, float]:
    """In the batch: the stages the report's kernels recorded, and the file removed (it is not an output)."""
    file = Path(folder) / KERNEL_FILE
    try:
        stages = json.loads(file.read_text())
    except (OSError, ValueError):
        stages = {}
    file.unlink(missing_ok=True)
    return {str(k): float(v) for k, v in stages.items()}
