"""Read the canonical tables from one ``.xlsx`` workbook, a sheet per table.

A sheet is a table when its name, trimmed and ignoring case, is a table's
name. Refused, with the sheet, row and column named:

- an encrypted (password-protected) workbook, an old ``.xls`` renamed, or a
  damaged file;
- a table on a hidden or very hidden sheet (what is analysed must be what a
  person sees: unhide the sheet or remove it);
- a formula cell with no saved result: files written by programs that do not
  calculate formulas hold only the formula, and reading it as blank would
  silently lose the value (open the workbook in Excel, let it recalculate,
  save it);
- a cell holding a spreadsheet error such as ``#N/A``;
- a value in a column with no name in the header row.

The workbook is read once in openpyxl's read-only mode; only when it holds
formulas is it read a second time for the values Excel saved with them.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from analysis.errors import Problems
from analysis.limits import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, too_many, workbook_too_large
from analysis.dataset.rawtable import RawTable, cell_text, table_from_records
from analysis.vocab import OPTIONAL_TABLES, TABLES

# Compound File Binary signature: encrypted .xlsx files and old .xls files start with it.
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_workbook(path: Path, problems: Problems) -> dict[str, RawTable]:
    """Every contract table found in the workbook, or problems naming what is wrong."""
    if not _is_zip(path, problems):
        return {}
    beyond = workbook_too_large(path)
    if beyond:
        problems.add("dataset", path.name, None, None, None, beyond)
        return {}
    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        problems.add("dataset", path.name, None, None, None,
                     f"a readable .xlsx workbook (this one is damaged: {type(exc).__name__})")
        return {}
    try:
        sheets = _table_sheets(book, path, problems)
        formulas: dict[str, list[tuple[int, int, str]]] = {}
        grids: dict[str, list[list]] = {}
        for name, sheet in sheets.items():
            grids[name], formulas[name] = _read_sheet(sheet, name, path, problems)
    except Exception as exc:  # a damaged part of the file found while reading rows
        problems.add("dataset", path.name, None, None, None,
                     f"a readable .xlsx workbook (this one is damaged: {type(exc).__name__})")
        return {}
    finally:
        book.close()
    if any(formulas.values()):
        _cached_values(path, sheets, grids, formulas, problems)
    tables = {}
    for name, grid in grids.items():
        if grid is None:  # beyond the bounds (analysis.limits): already a problem
            continue
        table = _table(name, path, sheets[name].title, grid, problems)
        if table is not None:
            tables[name] = table
    return tables


def _is_zip(path: Path, problems: Problems) -> bool:
    try:
        with path.open("rb") as handle:
            start = handle.read(8)
    except OSError as exc:
        problems.add("dataset", path.name, None, None, None, f"a readable file ({exc.strerror or exc})")
        return False
    if start == CFB_MAGIC:
        problems.add("dataset", path.name, None, None, None,
                     "an .xlsx workbook without a password: this file is encrypted (password-protected) "
                     "or an old .xls file; open it in Excel, remove the password "
                     "(File > Info > Protect Workbook) and save it as .xlsx")
        return False
    if not zipfile.is_zipfile(path):
        problems.add("dataset", path.name, None, None, None,
                     "a readable .xlsx workbook (this file is damaged or is not an .xlsx workbook)")
        return False
    return True


def _table_sheets(book, path: Path, problems: Problems) -> dict:
    """Contract tables by sheet name (trimmed, any case); hidden ones and doubles are problems."""
    found: dict[str, list] = {}
    for sheet in book.worksheets:
        name = sheet.title.strip().lower()
        if name in TABLES + OPTIONAL_TABLES:
            found.setdefault(name, []).append(sheet)
    sheets = {}
    for name, candidates in found.items():
        source = f"{path.name}, sheet {candidates[0].title}"
        if len(candidates) > 1:
            problems.add(name, path.name, None, None, None,
                         f"one sheet for the table {name}, not {len(candidates)} "
                         f"({', '.join(repr(s.title) for s in candidates)})")
            continue
        sheet = candidates[0]
        if sheet.sheet_state != "visible":
            how = "very hidden (only the VBA editor can unhide it)" if sheet.sheet_state == "veryHidden" else "hidden"
            problems.add(name, source, None, None, None,
                         f"a visible sheet: this sheet is {how}, so the data analysed would not be what people "
                         "see in the workbook; unhide the sheet or remove it")
            continue
        sheets[name] = sheet
    return sheets


def _read_sheet(sheet, name: str, path: Path, problems: Problems) -> tuple[list[list] | None, list]:
    """Cell values row by row; formula cells are noted (row, column, formula) for their saved values.

    No grid (None) for a sheet beyond the bounds of :mod:`analysis.limits`, which is a problem at the row
    where reading stopped.
    """
    grid, formulas = [], []
    source = f"{path.name}, sheet {sheet.title}"
    sheet.reset_dimensions()  # do not trust the size the writer recorded
    cells = 0
    for r, row in enumerate(sheet.iter_rows()):
        cells += len(row)
        beyond = (too_many("rows", r, MAX_ROWS) if r > MAX_ROWS else
                  too_many("columns", len(row), MAX_COLUMNS) if len(row) > MAX_COLUMNS else
                  too_many("cells", cells, MAX_CELLS) if cells > MAX_CELLS else None)
        if beyond:  # stop reading: the table is refused whatever else it holds
            problems.add(name, source, r + 1, None, None, beyond + " (reading stopped at this row)")
            return None, []
        values = []
        for c, cell in enumerate(row):
            kind = getattr(cell, "data_type", None)
            if kind == "f":
                formulas.append((r, c, str(cell.value)))
                values.append(None)
            elif kind == "e":
                problems.add(name, source, r + 1, _label(grid, c), str(cell.value),
                             "a value, not a spreadsheet error")
                values.append(None)
            else:
                values.append(cell.value)
        grid.append(values)
    return grid, formulas


def _cached_values(path: Path, sheets: dict, grids: dict, formulas: dict, problems: Problems) -> None:
    """Fill formula cells with the results Excel saved; a formula with none is a problem."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        for name, cells in formulas.items():
            if not cells:
                continue
            sheet = book[sheets[name].title]
            sheet.reset_dimensions()
            saved = {(r, c): cell for r, row in enumerate(sheet.iter_rows()) for c, cell in enumerate(row)}
            source = f"{path.name}, sheet {sheet.title}"
            for r, c, formula in cells:
                cell = saved.get((r, c))
                value = None if cell is None else cell.value
                if value is None:
                    problems.add(name, source, r + 1, _label(grids[name], c), formula,
                                 "a value, but this cell holds a formula with no saved result (the workbook was "
                                 "written by a program that does not calculate formulas); open it in Excel, "
                                 "let it recalculate and save it")
                elif getattr(cell, "data_type", None) == "e":
                    problems.add(name, source, r + 1, _label(grids[name], c), str(value),
                                 "a value, not a spreadsheet error (from the formula " + formula + ")")
                else:
                    grids[name][r][c] = value
    finally:
        book.close()


def _label(grid: list[list], c: int) -> str:
    """A column's header name if the header row is read, else its spreadsheet letter."""
    if grid and c < len(grid[0]) and grid[0][c] not in (None, ""):
        return str(grid[0][c]).strip()
    return get_column_letter(c + 1)


def _table(name: str, path: Path, title: str, grid: list[list], problems: Problems) -> RawTable | None:
    """Header and rows as text; values beyond the header's last named column are problems."""
    source = f"{path.name}, sheet {title}"
    text = [[cell_text(v).strip() if not isinstance(v, str) else v for v in row] for row in grid]
    if not text or not any(v.strip() for v in text[0]):
        empty = not any(v.strip() for row in text for v in row)
        problems.add(name, source, 1, None, None,
                     "a header row naming the columns in row 1" + (" (the sheet is empty)" if empty else ""))
        return None
    header = text[0]
    while header and not header[-1].strip():
        header = header[:-1]
    width = len(header)
    body = []
    for r, row in enumerate(text[1:], start=2):
        extra = [c for c in range(width, len(row)) if row[c].strip()]
        if extra:
            problems.add(name, source, r, f"{get_column_letter(extra[0] + 1)} (no name)", row[extra[0]],
                         "a value only in columns named in the header row")
        body.append((row + [""] * width)[:width])
    return table_from_records(name, source, path, header, body, problems,
                              labels=[get_column_letter(i + 1) for i in range(width)])
