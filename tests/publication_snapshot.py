"""The publication of a default run (``make compare`` on ``make data``), kept as a snapshot.

The speed-ups of issue 16 (faster relations, suppression and tables) must not
change a single published number, symbol or relation. The snapshot in
``tests/snapshots/publication_default/`` was written by the code before those
speed-ups (commit a16b454); ``tests/test_publication_unchanged.py`` builds the
same publication with today's code and compares every file byte for byte.

A change that is meant to alter the publication (a new table, a corrected
definition) refreshes the snapshot, and says why in its commit message:

    .venv/bin/python tests/publication_snapshot.py --write
"""

from __future__ import annotations

import gzip
import shutil
import sys
import tempfile
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parent / "snapshots" / "publication_default"
FILES = ("cells.csv", "relations.csv", "statistics.csv", "rhi_publication.csv", "rhi_publication.meta.csv",
         "publication.json")
SEED = 2019   # the Makefile's default seed: `make data`


def build_default_publication(work: Path, jobs: int = 1) -> Path:
    """Write the default dataset and the publication ``rhi batch`` makes of it (every report and the comparison),
    its tables computed in ``jobs`` processes."""
    from analysis.dataset.io import write_dataset
    from analysis.dataset.validate import load_dataset
    from analysis.run import batch
    from analysis.synth.command import generate_study

    work = Path(work)
    data = write_dataset(generate_study(seed=SEED), work / "data")
    ds = load_dataset(data)
    options = {**batch.parse_options(None, None, "medium,low", 5), "suppress": True}
    keys = [batch.COMPARE, batch.ALL, *sorted(ds.la_codes)]
    tasks = [batch.Task(k, None, [], {}) for k in keys]
    staging = work / "run"
    staging.mkdir(parents=True)
    batch.publish_run(ds, options, tasks, staging, progress=False, jobs=jobs)
    return staging / "publication"


def read_snapshot() -> dict[str, bytes]:
    return {name: gzip.decompress((SNAPSHOT / f"{name}.gz").read_bytes()) for name in FILES}


def write_snapshot() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_default_publication(Path(tmp))
        if SNAPSHOT.exists():
            shutil.rmtree(SNAPSHOT)
        SNAPSHOT.mkdir(parents=True)
        for name in FILES:
            # mtime=0: the same bytes every time the same publication is written
            (SNAPSHOT / f"{name}.gz").write_bytes(gzip.compress((folder / name).read_bytes(), 9, mtime=0))
    print(f"snapshot written: {SNAPSHOT}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/publication_snapshot.py --write")
    write_snapshot()
