"""Header rows of the canonical tables (contract, section 1).

A header name matches a contract column after trimming spaces and ignoring
case (``Police_Risk`` is ``police_risk``). A name that appears twice after
that is an error. An unknown name is kept and ignored, unless it is a near
miss of a contract column that the table lacks, which would otherwise empty
an analysis without a word: the same letters once spaces, underscores and
hyphens are dropped (``Police Risk``), or a close spelling by
:func:`difflib.get_close_matches` at a ratio of at least 0.85
(``polce_risk``). A header cell left blank above a column holding values is
an error too, because that column could be a contract column whose name was
lost.
"""

from __future__ import annotations

import difflib
import re

from analysis.errors import Problems
from analysis.dataset.schema import COLUMNS

NEAR_MISS_RATIO = 0.85


def normalise_header(name) -> str:
    """The name as matched: trimmed and lower case."""
    return str(name).strip().lower()


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def near_miss(name: str, table: str, present: set[str]) -> str | None:
    """The contract column an unknown header name probably means, or None."""
    contract = [spec.name for spec in COLUMNS.get(table, ())]
    squashed = _squash(name)
    for column in contract:
        if _squash(column) == squashed:
            return column
    absent = [c for c in contract if c not in present]
    close = difflib.get_close_matches(name, absent, n=1, cutoff=NEAR_MISS_RATIO)
    return close[0] if close else None


def check_header(table: str, source: str, header_row: int | None, names: list, problems: Problems,
                 labels: list[str] | None = None) -> list[str]:
    """Normalised column names of one header; adds a problem for each duplicate or near miss.

    ``labels`` names each position for a message when its header is blank
    (a spreadsheet letter, or a field number in a CSV file).
    """
    written = ["" if n is None else str(n).strip() for n in names]
    columns = [normalise_header(n) for n in written]
    labels = labels or [str(i + 1) for i in range(len(columns))]
    contract = {spec.name for spec in COLUMNS.get(table, ())}
    first: dict[str, int] = {}
    for position, column in enumerate(columns):
        if not column:
            continue
        if column in first:
            problems.add(table, source, header_row, written[position], None,
                         f"each column name once in the header row: {written[first[column]]!r} ({labels[first[column]]}) "
                         f"and {written[position]!r} ({labels[position]}) are the same column once case and "
                         "surrounding spaces are ignored")
        else:
            first[column] = position
    present = set(columns) & contract
    for position, column in enumerate(columns):
        if not column or column in contract:
            continue
        meant = near_miss(column, table, present)
        if meant:
            problems.add(table, source, header_row, written[position], None,
                         f"the contract's column name {meant}: {written[position]!r} looks like a misspelling "
                         f"of it and would otherwise be ignored; rename the column to {meant}"
                         + (" (the table already has one, so remove one of them)" if meant in present else ""))
    return [column or f"{labels[i]} (no name)" for i, column in enumerate(columns)]


def is_unnamed(column: str) -> bool:
    """True for a position whose header cell was blank (named by :func:`check_header`)."""
    return column.endswith(" (no name)")
