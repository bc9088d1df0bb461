"""Two runs on the same input give byte-identical tables and JSON.

Covers the national generator (same seed), write_dataset's CSV, and
compute_figures' JSON (sort_keys), including across separate processes with
different hash seeds (set and dict order must never leak into an output).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.accounting import record_flow
from analysis.figures import compute_figures
from analysis.io import read_raw, write_dataset
from analysis.populations import Params, Populations
from analysis.synth_national import generate_national
from analysis.validate import load_dataset

LAS = ("E06000001", "E09000033")  # Hartlepool and Westminster: small enough to be quick


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir())}


def small(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Two authorities' rows of a national dataset (a valid dataset on its own)."""
    eps = tables["episodes"][tables["episodes"]["la_code"].isin(LAS)]
    kids = set(eps["child_id"])
    rhis = tables["rhis"][tables["rhis"]["child_id"].isin(kids)]
    return {
        "children": tables["children"][tables["children"]["child_id"].isin(kids)],
        "episodes": eps, "rhis": rhis,
        "rhi_episodes": tables["rhi_episodes"][tables["rhi_episodes"]["rhi_id"].isin(rhis["rhi_id"])],
        "disclosures": tables["disclosures"][tables["disclosures"]["rhi_id"].isin(rhis["rhi_id"])],
    }


@pytest.fixture(scope="module")
def national():
    return generate_national(3, 1)


@pytest.fixture(scope="module")
def folder(national, tmp_path_factory):
    return write_dataset(small(national), tmp_path_factory.mktemp("small"))


def test_generate_national_same_seed_byte_identical(national, tmp_path):
    again = generate_national(3, 1)
    for name in national:
        pd.testing.assert_frame_equal(national[name], again[name])
    a, b = write_dataset(national, tmp_path / "a"), write_dataset(again, tmp_path / "b")
    assert files(a) == files(b)
    assert set(files(a)) == {"children.csv", "episodes.csv", "rhis.csv", "rhi_episodes.csv", "disclosures.csv"}


def test_write_dataset_is_idempotent_on_what_it_read(folder, tmp_path):
    raw = read_raw(folder)
    out = write_dataset({name: table.frame for name, table in raw.items()}, tmp_path / "again")
    assert files(out) == files(folder)


def test_figures_json_identical_across_loads(folder):
    runs = []
    for _ in range(2):
        ds = load_dataset(folder)
        runs.append(json.dumps(compute_figures(ds), sort_keys=True, default=str))
        runs.append(json.dumps(compute_figures(ds, Params(la_code=LAS[0])), sort_keys=True, default=str))
    assert runs[0] == runs[2] and runs[1] == runs[3]
    assert '"figures"' in runs[0]


def test_row_accounting_identical_across_loads(folder):
    a = record_flow(Populations(load_dataset(folder)))
    b = record_flow(Populations(load_dataset(folder)))
    pd.testing.assert_frame_equal(a, b)


SCRIPT = """
import json, sys
from analysis.figures import compute_figures
from analysis.validate import load_dataset
print(json.dumps(compute_figures(load_dataset(sys.argv[1])), sort_keys=True, default=str))
"""


def test_figures_json_identical_across_processes_and_hash_seeds(folder):
    outputs = []
    for hash_seed in ("1", "987"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], capture_output=True, env=env, check=True)
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    in_process = json.dumps(compute_figures(load_dataset(folder)), sort_keys=True, default=str)
    assert outputs[0].decode().strip() == in_process
