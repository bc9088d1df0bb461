"""Reading source extracts as text, and turning their cells into canonical values.

Every cell is kept as stripped text with the row number a person sees in the
file (header = row 1), so that any problem names the source file, its row and
its column. Helpers collect :class:`~analysis.errors.Problem` objects instead
of raising at the first fault: an import reports every problem it finds.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import Problems
from analysis.limits import (MAX_CELLS, MAX_COLUMNS, MAX_ROWS, cell_too_long, csv_shape_problem, long_cells,
                            too_many)
from analysis.dataset.schema import normalise_code, parse_datetimes


class ImportFailure(Exception):
    """A problem with the command itself (options, mapping, key): one plain message."""


@dataclass
class SourceTable:
    """One source table as read: text cells, where they came from, row numbers as seen."""

    name: str          # e.g. "ssd_missing"
    source: str        # what the user sees: "ssd_missing.csv" or "export.xlsx, sheet RHIs"
    path: Path
    frame: pd.DataFrame
    first_row: int = 2  # file row of the first data row

    def rows(self, index=None) -> list[int]:
        """File row numbers of the frame's rows (or of the given index labels)."""
        labels = self.frame.index if index is None else index
        return [int(i) + self.first_row for i in labels]

    def row(self, label) -> int:
        return int(label) + self.first_row

    def column(self, aliases, problems: Problems | None = None, why: str = "") -> str | None:
        """The frame's column matching any alias (case-insensitive); a problem if required and absent.

        ``problems`` given means the column is required; ``why`` says who asked for it.
        """
        aliases = [aliases] if isinstance(aliases, str) else list(aliases)
        by_key = {_key(c): c for c in self.frame.columns}
        for alias in aliases:
            if _key(alias) in by_key:
                return by_key[_key(alias)]
        if problems is not None:
            close = difflib.get_close_matches(aliases[0], list(self.frame.columns), n=3, cutoff=0.5)
            hint = f"; closest in the file: {', '.join(repr(c) for c in close)}" if close else ""
            also = f" (or {', '.join(aliases[1:])})" if len(aliases) > 1 else ""
            asked = f", {why}" if why else ""
            problems.add(self.name, self.source, 1, aliases[0], None,
                         f"a column named {aliases[0]!r}{also} in the header row{asked}{hint}")
        return None


def _key(name: str) -> str:
    return " ".join(str(name).lower().split())


def find_file(folder: Path, names, problems: Problems | None, table: str, ext=(".csv",)) -> Path | None:
    """The file in ``folder`` named one of ``names`` (case-insensitive), or a problem if required."""
    names = [names] if isinstance(names, str) else list(names)
    wanted = {n.lower() + e for n in names for e in ext}
    matches = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower() in wanted)
    if matches:
        return matches[0]
    if problems is not None:
        present = sorted(p.name for p in folder.iterdir() if p.is_file())
        close = difflib.get_close_matches(names[0] + ext[0], present, n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        problems.add(table, folder.name, None, None, None,
                     f"a file named {names[0]}{ext[0]} in {folder}{hint}")
    return None


def read_csv(path: Path, name: str, problems: Problems) -> SourceTable | None:
    """A CSV file as text cells; UTF-8 (with or without BOM), else Windows-1252 as Excel writes it."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if not text.strip():
        problems.add(name, path.name, None, None, None, "a header row naming the columns")
        return None
    beyond = csv_shape_problem(data)  # columns, rows and cells counted before parsing
    if beyond:
        problems.add(name, path.name, 1, None, None, beyond)
        return None
    import io as _io

    try:
        frame = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        import re

        match = re.search(r"line (\d+)", str(exc))
        problems.add(name, path.name, int(match.group(1)) if match else None, None, None,
                     "the same number of comma-separated fields as the header row")
        return None
    return bounded(SourceTable(name, path.name, path, tidy(frame), first_row=2), problems)


def bounded(table: SourceTable, problems: Problems) -> SourceTable | None:
    """The table if it is within the bounds of :mod:`analysis.limits` (columns, rows, cells, cell length), else None
    with a problem naming the file and, for a long cell, its row and column."""
    rows, columns = table.frame.shape
    beyond = (too_many("columns", columns, MAX_COLUMNS) if columns > MAX_COLUMNS else
              too_many("rows", rows, MAX_ROWS) if rows > MAX_ROWS else
              too_many("cells", rows * columns, MAX_CELLS) if rows * columns > MAX_CELLS else None)
    if beyond:
        problems.add(table.name, table.source, None, None, None, beyond)
        return None
    long = long_cells(table.frame)
    for label, column, length in long:
        problems.add(table.name, table.source, table.row(label), column, table.frame.at[label, column][:40],
                     cell_too_long(length))
    return None if long else table


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip names and cells; drop wholly blank rows but keep each row's position (for row numbers)."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.astype(str).apply(lambda s: s.str.strip()).reset_index(drop=True)
    if len(frame.columns):
        frame = frame[~(frame == "").all(axis=1)]
    return frame


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- cells to canonical values ------------------------------------------------------------------

SOURCE_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
    "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S",
)


def dates(table: SourceTable, column: str, problems: Problems, *, required: bool = False,
          formats=None, expected: str | None = None) -> pd.Series:
    """Parse a date/datetime column; blank -> NaT; a problem for each unparseable (or blank required) cell.

    ``formats`` (strptime patterns) are tried first; ISO forms are always accepted
    too, because spreadsheet date cells arrive as ISO text.
    """
    series = table.frame[column]
    tried = tuple(formats or ()) + SOURCE_DATETIME_FORMATS
    parsed = parse_datetimes(series, tried)
    shown = expected or (f"a date as {', '.join(_readable(f) for f in formats)} (or YYYY-MM-DD)" if formats
                         else "a date as YYYY-MM-DD or dd/mm/yyyy (optionally with a time)")
    for label in series.index[(series != "") & parsed.isna()]:
        problems.add(table.name, table.source, table.row(label), column, series[label], shown)
    if required:
        for label in series.index[series == ""]:
            problems.add(table.name, table.source, table.row(label), column, "",
                         f"a value (this column is required): {shown}")
    return parsed


def _readable(fmt: str) -> str:
    """'%d/%m/%Y %H:%M' -> 'dd/mm/yyyy HH:MM'."""
    for code, text in (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%H", "HH"), ("%M", "MM"),
                       ("%S", "SS")):
        fmt = fmt.replace(code, text)
    return fmt


def codes(table: SourceTable, column: str, mapping: dict, problems: Problems, *,
          required: bool = False, expected: str | None = None) -> pd.Series:
    """Translate a coded column with ``mapping`` (keys compared case- and space-insensitively).

    Blank -> "" (not recorded). A value not in the mapping is a problem.
    """
    series = table.frame[column]
    norm = {normalise_code(pd.Series([str(k)])).iloc[0]: v for k, v in mapping.items()}
    out = normalise_code(series).map(norm)
    shown = expected or "one of " + ", ".join(repr(str(k)) for k in mapping)
    for label in series.index[(series != "") & out.isna()]:
        problems.add(table.name, table.source, table.row(label), column, series[label], shown)
    if required:
        for label in series.index[series == ""]:
            problems.add(table.name, table.source, table.row(label), column, "",
                         f"a value (this column is required): {shown}")
    return out.where(series != "", "").fillna("").astype(object)


def format_datetimes(series: pd.Series) -> pd.Series:
    """Canonical text: 'YYYY-MM-DD HH:MM', or 'YYYY-MM-DD' when the time is midnight (a date only)."""
    out = pd.Series("", index=series.index, dtype=object)
    ok = series.notna()
    if ok.any():
        s = series[ok]
        midnight = s == s.dt.normalize()
        out.loc[ok] = s.dt.strftime("%Y-%m-%d %H:%M").where(~midnight, s.dt.strftime("%Y-%m-%d"))
    return out


def format_dates(series: pd.Series) -> pd.Series:
    out = pd.Series("", index=series.index, dtype=object)
    ok = series.notna()
    out.loc[ok] = series[ok].dt.strftime("%Y-%m-%d")
    return out


GSS_PATTERN = r"(E06|E08|E09|E10|W06)\d{6}"


def check_la_code(la_code: str | None, fmt: str) -> str:
    """The LA code an SSD or SSDA903 import needs, checked against the GSS pattern."""
    import re

    if not la_code:
        raise ImportFailure(
            f"{fmt}: the extract does not say which local authority it is from; pass its GSS code "
            f"with --la-code (e.g. --la-code E08000025)")
    code = la_code.strip().upper()
    if not re.fullmatch(GSS_PATTERN, code):
        raise ImportFailure(f"--la-code {la_code!r}: expected a GSS local authority code such as E08000025 "
                            "(E06, E08, E09, E10 or W06 and six digits)")
    return code
