"""Read a dataset in the canonical form as raw text tables, and write one.

A dataset is a folder of CSV files, a folder of Parquet files, or one
``.xlsx`` workbook with a sheet per table (contract, section 1). Reading keeps
every cell as text (blank = ""), so that the validator sees exactly what the
person who made the file sees, and records where each row came from.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DatasetError, Problems
from .vocab import OPTIONAL_TABLES, TABLES


@dataclass
class RawTable:
    """One table as read: every cell as stripped text, plus where it came from."""

    name: str
    source: str        # e.g. "episodes.csv" or "study.xlsx, sheet episodes"
    path: Path
    frame: pd.DataFrame
    first_row: int     # the file row number of the first data row

    def file_rows(self, positions) -> list[int]:
        """File row numbers (as a person sees them) of 0-based data positions."""
        return [int(p) + self.first_row for p in positions]


def dataset_files(path: Path) -> list[Path]:
    """The input files a dataset is made of, for checksums in manifests."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.suffix.lower() in {".csv", ".parquet"})


def read_raw(path: str | Path) -> dict[str, RawTable]:
    """Read every table of a dataset as text; raise DatasetError on unreadable input."""
    path = Path(path)
    problems = Problems()
    if not path.exists():
        raise DatasetError([_whole(problems, "dataset", str(path), "an existing folder or .xlsx file")], str(path))
    if path.is_file():
        if path.suffix.lower() not in {".xlsx", ".xlsm"}:
            raise DatasetError(
                [_whole(problems, "dataset", path.name, "a folder of CSV or Parquet files, or one .xlsx workbook")],
                str(path),
            )
        tables = _read_workbook(path, problems)
    else:
        tables = _read_folder(path, problems)
    for name in TABLES:
        if name not in tables and not any(p.table == name for p in problems.items):
            problems.add(name, f"{name} table", None, None, None,
                         f"a table named {name} ({name}.csv, {name}.parquet or a sheet {name}) in {path.name}")
    if problems:
        raise DatasetError(problems.items, str(path))
    return tables


def _whole(problems: Problems, table: str, source: str, expected: str):
    problems.add(table, source, None, None, None, expected)
    return problems.items[-1]


def _read_folder(folder: Path, problems: Problems) -> dict[str, RawTable]:
    tables: dict[str, RawTable] = {}
    for name in TABLES + OPTIONAL_TABLES:
        csv_path, pq_path = folder / f"{name}.csv", folder / f"{name}.parquet"
        if csv_path.exists() and pq_path.exists():
            problems.add(name, folder.name, None, None, None,
                         f"only one of {name}.csv and {name}.parquet, not both")
        elif csv_path.exists():
            table = _read_csv(name, csv_path, problems)
            if table is not None:
                tables[name] = table
        elif pq_path.exists():
            table = _read_parquet(name, pq_path, problems)
            if table is not None:
                tables[name] = table
    return tables


_PARSER_LINE = re.compile(r"line (\d+)")


def _read_csv(name: str, path: Path, problems: Problems) -> RawTable | None:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = path.read_bytes()[: exc.start].count(b"\n") + 1
        problems.add(name, path.name, row, None, None, "text encoded as UTF-8 (save the file as 'CSV UTF-8')")
        return None
    if not text.strip():
        problems.add(name, path.name, None, None, None, "a header row naming the columns")
        return None
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
            skipinitialspace=False, quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        row = int(match.group(1)) if match else None
        problems.add(name, path.name, row, None, None,
                     "the same number of comma-separated fields as the header row")
        return None
    return _finish(name, path.name, path, frame, first_row=2, problems=problems)


def _read_parquet(name: str, path: Path, problems: Problems) -> RawTable | None:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a damaged file
        problems.add(name, path.name, None, None, None, f"a readable Parquet file ({type(exc).__name__})")
        return None
    frame = frame.apply(_as_text)
    # Parquet has no header row: rows are numbered from 1.
    return _finish(name, path.name, path, frame, first_row=1, problems=problems)


def _read_workbook(path: Path, problems: Problems) -> dict[str, RawTable]:
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises several types for damaged files
        problems.add("dataset", path.name, None, None, None, f"a readable .xlsx workbook ({type(exc).__name__})")
        return {}
    tables = {}
    for name in TABLES + OPTIONAL_TABLES:
        if name in sheets:
            frame = sheets[name].apply(_as_text)
            table = _finish(name, f"{path.name}, sheet {name}", path, frame, first_row=2, problems=problems)
            if table is not None:
                tables[name] = table
    return tables


def _as_text(column: pd.Series) -> pd.Series:
    """A typed column (Parquet, Excel) as the text a CSV would hold."""
    if pd.api.types.is_datetime64_any_dtype(column):
        out = column.dt.strftime("%Y-%m-%d %H:%M")
        midnight = column.dt.normalize() == column
        out = out.where(~midnight, column.dt.strftime("%Y-%m-%d"))
        return out.fillna("")
    if pd.api.types.is_bool_dtype(column):
        return column.map({True: "true", False: "false"}).fillna("").astype(str)

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
            return ""
        if isinstance(value, pd.Timestamp) or hasattr(value, "strftime"):
            stamp = pd.Timestamp(value)
            return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return column.map(cell).astype(str)


def _finish(name, source, path, frame, first_row, problems) -> RawTable | None:
    columns = [str(c).strip() for c in frame.columns]
    seen = set()
    for position, column in enumerate(columns):
        if column in seen:
            problems.add(name, source, first_row - 1 if first_row > 1 else None, column, column,
                         "each column name once in the header row")
        seen.add(column)
    frame.columns = columns
    frame = frame.astype(str).apply(lambda s: s.str.strip())
    frame = frame.reset_index(drop=True)
    # Rows that are entirely blank (trailing lines in spreadsheets) are not data.
    if len(frame.columns):
        blank = (frame == "").all(axis=1)
        if blank.any():
            keep = ~blank
            positions = frame.index[keep]
            frame = frame[keep].copy()
            frame.index = positions  # keep file positions for row numbers
    return RawTable(name, source, path, frame, first_row)


def write_dataset(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "csv",
                  metadata: dict | None = None) -> Path:
    """Write canonical tables as a folder of CSV or Parquet files, or one workbook, with their metadata.

    Deterministic in every format: the same tables give byte-identical files. The
    metadata (if any) travels with the data (:mod:`analysis.metadata`): ``metadata.json``
    beside CSV and Parquet files and inside each Parquet file, a ``metadata`` sheet in a
    workbook. Nothing is written outside ``out``.
    """
    from . import metadata as meta

    out = Path(out)
    if fmt == "xlsx":
        out.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            for name, frame in tables.items():
                frame.to_excel(writer, sheet_name=name, index=False)
            if metadata is not None:
                meta.write_sheet(writer, metadata)
        meta.make_workbook_deterministic(out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if metadata is not None:
                table = meta.add_to_parquet_table(table, metadata)
            pq.write_table(table, out / f"{name}.parquet")
        else:
            frame.to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
    if metadata is not None:
        (out / meta.METADATA_FILE).write_text(meta.metadata_json(metadata), encoding="utf-8")
    return out
