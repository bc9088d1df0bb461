"""One table as read, every cell as text, and the steps every reader (CSV, Parquet, workbook) shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.dataset.headers import check_header, is_unnamed
from analysis.errors import Problems
from analysis.limits import cell_too_long, long_cells


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


def table_from_records(name: str, source: str, path: Path, header: list, body, problems: Problems,
                       labels: list[str], bad: dict | None = None) -> RawTable | None:
    """A table from a header and its rows of text (header = file row 1); None if its structure is wrong.

    ``body`` is a list of rows, or a frame of the rows of the right length already read, with
    ``bad`` giving the others as {position: (number of fields, text)}.
    """
    before = len(problems)
    columns = check_header(name, source, 1, header, problems, labels)
    width = len(header)
    if bad is None:
        bad = {p: (len(r), ",".join(r)) for p, r in enumerate(body) if len(r) != width}
    for position, (fields, text) in sorted(bad.items()):
        if not text.replace(",", "").replace('"', "").strip():
            continue  # blank lines (trailing lines in spreadsheets) are not data
        short = fields < width
        column = columns[fields] if short else f"field {width + 1} (beyond the header)"
        problems.add(name, source, position + 2, column, None,
                     f"{width} fields like the header row; this row has {fields}"
                     + (" (it ends before this column)" if short else ""))
    if len(problems) > before:
        return None
    if isinstance(body, pd.DataFrame):
        frame = body
    else:
        positions = [p for p in range(len(body)) if p not in bad]
        rows = body if not bad else [body[p] for p in positions]
        cells = list(zip(*rows)) if rows else [()] * width
        frame = pd.DataFrame({i: pd.Series(column, dtype=object) for i, column in enumerate(cells)})
        frame.index = pd.Index(positions, dtype="int64")
    frame.columns = columns
    return finish_table(name, source, path, frame, first_row=2, problems=problems)


def cell_text(value) -> str:
    """One typed cell (Parquet, Excel) as the text a CSV would hold; blank for missing."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "strftime"):
        if not hasattr(value, "year"):  # a time of day without a date
            return value.strftime("%H:%M")
        stamp = pd.Timestamp(value)
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")
    return str(value)


def column_text(column: pd.Series) -> pd.Series:
    """A typed column (Parquet, Excel) as the text a CSV would hold."""
    if pd.api.types.is_datetime64_any_dtype(column):
        out = column.dt.strftime("%Y-%m-%d %H:%M")
        midnight = column.dt.normalize() == column
        out = out.where(~midnight, column.dt.strftime("%Y-%m-%d"))
        return out.fillna("")
    if pd.api.types.is_bool_dtype(column):
        return column.map({True: "true", False: "false"}).fillna("").astype(str)
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    return column.map(cell_text).astype(str)


def finish_table(name, source, path, frame, first_row, problems) -> RawTable | None:
    """Cells trimmed; a column without a header name must be empty (it is then dropped).

    A cell longer than :data:`analysis.limits.MAX_CELL_CHARS` is a problem naming its row and column.
    """
    frame = frame.astype(str)
    for label, column, length in long_cells(frame):
        problems.add(name, source, int(label) + first_row, column, frame.at[label, column][:40],
                     cell_too_long(length))
    frame = frame.apply(lambda s: s.str.strip())
    for column in [c for c in frame.columns if is_unnamed(c)]:
        filled = frame.index[frame[column] != ""]
        if len(filled):
            problems.add(name, source, first_row - 1 if first_row > 1 else None, column, None,
                         f"a name in the header row above this column: it holds values (first in row "
                         f"{int(filled[0]) + first_row}) and could be a contract column whose name was lost")
        frame = frame.drop(columns=[column])
    if len(frame.columns):
        blank = (frame == "").all(axis=1)
        if blank.any():
            frame = frame[~blank].copy()  # keeps file positions for row numbers
    return RawTable(name, source, path, frame, first_row)
