"""Write an import's canonical tables atomically, then validate them.

Tables are written to a temporary folder beside ``out``; the folder is
validated with :func:`analysis.dataset.validate.load_dataset` and only then moved
into place. A failed import leaves nothing that looks complete. A problem the
validator finds is traced back to the source file and row it came from.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import DatasetError, Problem
from analysis.dataset.io import write_dataset
from analysis.dataset.validate import load_dataset
from analysis.vocab import TABLES
from analysis.importers.common import ImportFailure
from analysis.importers.report import ImportReport, canonical_columns


@dataclass
class Imported:
    """An import's result before writing: canonical text tables and where each row came from."""

    tables: dict[str, pd.DataFrame]
    origins: dict[str, list[tuple[str, int]]]       # table -> (source file, source row) per output row
    report: ImportReport
    columns_from: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> source column


def finish_table(name: str, rows: pd.DataFrame, extra: list[str] = ()) -> pd.DataFrame:
    """All canonical columns in contract order (blank where absent), then any kept extra columns."""
    out = pd.DataFrame(index=range(len(rows)))
    rows = rows.reset_index(drop=True)
    for column in canonical_columns(name) + [c for c in extra if c in rows.columns]:
        out[column] = rows[column].fillna("").astype(str) if column in rows.columns else ""
    return out


def write_output(imported: Imported, out: Path):
    """Write, validate, move into place; return the validated Dataset. Raises DatasetError, ImportFailure."""
    out = Path(out)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        tables = {name: imported.tables[name] for name in TABLES}
        # Optional tables an import adds (annex_a_children): written beside the canonical ones.
        tables.update({name: t for name, t in imported.tables.items() if name not in TABLES})
        write_dataset(tables, tmp)
        try:
            ds = load_dataset(tmp)
        except DatasetError as err:
            raise DatasetError([_to_source(p, imported) for p in err.problems], str(out)) from None
        report = imported.report
        report.count_tables(tables)
        report.set_aside = _set_aside(ds)
        report.write(tmp)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ds


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ImportFailure(f"--out {out}: exists and is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "import_report.json").exists():
        raise ImportFailure(f"--out {out}: the folder has files that are not from an earlier import; "
                            "give a new or empty folder (nothing was written)")


def _move_into_place(tmp: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        old.rmdir()
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


def _set_aside(ds) -> dict:
    counts = {}
    for name in ("episodes", "rhi_episodes", "disclosures"):
        frame = getattr(ds, name)
        if "set_aside" in frame.columns:
            for reason, n in frame["set_aside"].dropna().value_counts().sort_index().items():
                counts[f"{name}: {reason}"] = int(n)
    return counts


def _to_source(problem: Problem, imported: Imported) -> Problem:
    """A validator problem on an output row, restated at the source row it was made from."""
    origins = imported.origins.get(problem.table)
    if problem.row is None or not origins:
        return problem
    position = problem.row - 2
    if not 0 <= position < len(origins):
        return problem
    source, row = origins[position]
    column = problem.column
    src_col = imported.columns_from.get(problem.table, {}).get(column or "")
    if src_col:
        column = f"{src_col} (imported as {problem.table}.{problem.column})"
    elif column:
        column = f"{column} (of {problem.table})"
    return Problem(problem.table, source, row, column, problem.value, _earlier_row_to_source(problem, origins))


def _earlier_row_to_source(problem: Problem, origins) -> str:
    """A duplicate id's message names the earlier row of the output table: name its source row instead."""
    match = re.match(r"(each \w+ once: )row (\d+) has ", problem.expected)
    if not match or not 0 <= int(match.group(2)) - 2 < len(origins):
        return problem.expected
    source, row = origins[int(match.group(2)) - 2]
    return f"{match.group(1)}{source}, row {row} has " + problem.expected[match.end():]
