"""The speed-ups leave the publication unchanged: today's code against the snapshot made before them.

``tests/publication_snapshot.py`` says how the snapshot was made and when it
may be refreshed. Every file of the default run's publication (cells, relations,
statistics, the tidy file and its metadata) must be byte-identical.
"""

from __future__ import annotations

import csv
import io

import pytest

from publication_snapshot import FILES, read_snapshot


def _first_difference(name: str, before: bytes, after: bytes) -> str:
    if not name.endswith(".csv"):
        return f"{name} differs"
    old = list(csv.reader(io.StringIO(before.decode())))
    new = list(csv.reader(io.StringIO(after.decode())))
    for n, (a, b) in enumerate(zip(old, new), start=1):
        if a != b:
            return f"{name}, row {n}: before {a}, now {b}"
    return f"{name}: {len(old)} rows before, {len(new)} now"


_ONE_PROCESS = """
import sys
sys.path.insert(0, sys.argv[1])
from publication_snapshot import build_default_publication
print(build_default_publication(sys.argv[2], jobs=1))
"""


@pytest.fixture(scope="module", params=["one process", "the default run"])
def published(request, tmp_path_factory):
    """As ``rhi batch`` publishes: the tables computed in one process, in a fresh interpreter with a fixed hash
    seed (1); and the session's default run (``rhi batch`` itself, its tables in two forked processes on two
    cores, under the test worker's own hash seed). Both equal to the snapshot: neither the number of processes
    nor set and dict order (the hash seed) changes a byte of the publication."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    if request.param == "the default run":
        folder = request.getfixturevalue("default_run").out / "publication"
    else:
        work = tmp_path_factory.mktemp("unchanged")
        done = subprocess.run([sys.executable, "-c", _ONE_PROCESS, str(Path(__file__).parent), str(work)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "1"})
        assert done.returncode == 0, done.stderr[-3000:]
        folder = Path(done.stdout.strip().splitlines()[-1])
    return {name: (folder / name).read_bytes() for name in FILES}


def test_the_default_publication_is_byte_identical_to_the_snapshot(published):
    before = read_snapshot()
    changed = [_first_difference(name, before[name], published[name]) for name in FILES
               if before[name] != published[name]]
    assert not changed, "the publication changed:\n" + "\n".join(changed)


def test_the_snapshot_is_a_real_publication():
    """The comparison is not vacuous: thousands of cells, some suppressed, relations between them."""
    before = read_snapshot()
    cells = list(csv.DictReader(io.StringIO(before["cells.csv"].decode())))
    assert len(cells) > 1000
    assert sum(c["value"] == "c" for c in cells) > 100
    assert {c["scope"] for c in cells} == {"all", "E08999901", "E08999902", "E08999903"}
    assert before["relations.csv"].count(b"\n") > 1000
