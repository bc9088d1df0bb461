"""Shared helpers for the importer tests (rhi import)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FIXTURES = Path(__file__).parent / "fixtures" / "import"
KEY = "test-key-0123456789abcdef"
OTHER_KEY = "another-key-fedcba9876543210"


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(out).iterdir())}


def validator_accepts_no_rhis() -> bool:
    """analysis.validate crashed on a dataset with zero RHIs (SSDA903 has none); True once fixed."""
    import tempfile

    from builders import child, episode, write

    from analysis.validate import load_dataset

    with tempfile.TemporaryDirectory() as tmp:
        try:
            load_dataset(write(Path(tmp), children=[child("c1")], episodes=[episode("e1", "c1", "2018-01-01 10:00")]))
        except TypeError:
            return False
    return True
