"""The audit's verdict and bounds do not depend on how busy the machine is.

The audit bounds its whole-number programmes by branch-and-bound nodes, never by
seconds (``analysis.attack.solve``), so a publication passes or fails the same on
a quiet machine and on a loaded one. Run on the default run's publication twice,
once with every core kept busy by other processes: everything but the time taken
must be the same, down to each suppressed cell's bounds.
"""

from __future__ import annotations

import multiprocessing
import os

from analysis.attack import audit_publication


def _spin(stop) -> None:
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def _audit(folder) -> dict:
    result = audit_publication(folder).to_dict()
    result.pop("seconds")
    return result


def test_same_verdict_and_bounds_on_a_loaded_machine(default_run):
    folder = default_run.out / "publication"
    quiet = _audit(folder)
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    spinners = [ctx.Process(target=_spin, args=(stop,), daemon=True) for _ in range(2 * (os.cpu_count() or 1))]
    for p in spinners:
        p.start()
    try:
        loaded = _audit(folder)
    finally:
        stop.set()
        for p in spinners:
            p.join(timeout=10)
    assert quiet["bounds"], "the audit should bound every suppressed cell"
    assert loaded == quiet
