"""House rules checked on the committed tree: notebooks without outputs, no data committed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tracked(*patterns) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [line for line in out.stdout.splitlines() if line]


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_no_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: a code cell has outputs"
            assert cell.get("execution_count") is None, f"{path.name}: a code cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_has_a_papermill_parameters_cell(path):
    nb = json.loads(path.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    source = "".join(tagged[0]["source"])
    for name in ("data_path", "la_code", "period_start", "period_end", "risk_levels", "min_cell", "output_dir"):
        assert f"{name} =" in source, f"{path.name}: parameter {name} missing"


def test_no_data_or_reports_committed():
    files = tracked("data", "reports")
    assert all(Path(f).name == "README.md" for f in files), files


def test_gitignore_protects_raw_data(tmp_path):
    probe = ROOT / "data" / "raw" / "children.csv"
    out = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=ROOT)
    assert out.returncode == 0, "data/raw/children.csv would not be ignored by git"
