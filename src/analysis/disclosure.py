"""Statistical disclosure control for shareable outputs (contract, section 4).

Rule: a count from 1 to ``min_cell - 1`` is shown as ``c``, and so is any
percentage or interval built on it (as numerator or denominator). Zero is
shown as 0. Where a suppressed cell could be recovered by subtraction from a
published total (the other cells of a group that sums to a shown total), the
smallest other non-zero cell of the group is suppressed too (secondary
suppression). Suppression is on unless turned off explicitly, and every
output says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

SUPPRESSED = "c"
NOT_AVAILABLE = "x"   # the source does not hold what the number needs (DfE symbol)
SYMBOLS = (SUPPRESSED, NOT_AVAILABLE, "z")


def is_symbol(value) -> bool:
    """True for a published symbol (c suppressed, x not available, z not applicable) in place of a number."""
    return isinstance(value, str) and value in SYMBOLS
DEFAULT_MIN_CELL = 5


@dataclass(frozen=True)
class Disclosure:
    """Whether and how an output is suppressed; its ``statement`` goes on every output."""

    suppress: bool = True
    min_cell: int = DEFAULT_MIN_CELL

    def __post_init__(self):
        if self.min_cell < 1:
            raise ValueError("min_cell must be at least 1")

    @property
    def statement(self) -> str:
        if self.suppress:
            return (f"Disclosure control applied: counts from 1 to {self.min_cell - 1} and percentages "
                    f"built on them are shown as '{SUPPRESSED}'; zeros are shown as 0.")
        return "INTERNAL USE ONLY: disclosure control is OFF; small counts are shown. Do not share."

    def is_small(self, count) -> bool:
        return self.suppress and count is not None and 0 < int(count) < self.min_cell


def is_small(values, min_cell: int = DEFAULT_MIN_CELL) -> pd.Series:
    values = pd.to_numeric(pd.Series(values), errors="coerce")
    return (values > 0) & (values < min_cell)


def suppress_figure(record: dict, control: Disclosure) -> dict:
    """Suppress one figure record (count, denominator, pct, ci_low, ci_high) if built on a small count."""
    out = dict(record)
    if not control.suppress:
        return out
    small_count = control.is_small(record.get("count"))
    small_den = control.is_small(record.get("denominator"))
    # The complement (denominator - count) is as disclosive as the count itself.
    count, den = record.get("count"), record.get("denominator")
    small_rest = count is not None and den is not None and control.is_small(int(den) - int(count))
    if small_count or small_den or small_rest:
        for key in ("count", "pct", "ci_low", "ci_high"):
            if key in out:
                out[key] = SUPPRESSED
        if small_den:
            out["denominator"] = SUPPRESSED
        out["suppressed"] = True
    return out


def suppress_counts(table: pd.DataFrame, count_columns, control: Disclosure,
                    linked: dict[str, list[str]] | None = None, total_column: str | None = None) -> pd.DataFrame:
    """Suppress small counts in ``count_columns`` of a table, row by row.

    ``linked`` maps a count column to columns derived from it (percentages,
    interval ends) which are suppressed with it. If ``total_column`` is given,
    the count columns of a row are parts of that total, and secondary
    suppression stops a single suppressed part being recovered by subtraction.
    Returns a copy with object dtype where anything was suppressed.
    """
    out = table.copy().astype(object)
    if not control.suppress:
        return out
    linked = linked or {}
    counts = table[list(count_columns)].apply(pd.to_numeric, errors="coerce")
    small = counts.apply(lambda col: is_small(col, control.min_cell))
    if total_column is not None:
        small = _secondary(counts, small)
        total_small = is_small(table[total_column], control.min_cell)
        out.loc[total_small, total_column] = SUPPRESSED
    for column in count_columns:
        mask = small[column]
        out.loc[mask, column] = SUPPRESSED
        for derived in linked.get(column, []):
            out.loc[mask, derived] = SUPPRESSED
    return out


def _secondary(counts: pd.DataFrame, small: pd.DataFrame) -> pd.DataFrame:
    """Where exactly one part of a row is suppressed, also suppress the smallest other non-zero part."""
    small = small.copy()
    for idx in counts.index:
        row_small = small.loc[idx]
        if row_small.sum() == 1:
            others = counts.loc[idx][~row_small]
            others = others[others > 0]
            if len(others):
                small.loc[idx, others.idxmin()] = True
    return small


def suppress_series_counts(values: pd.Series, control: Disclosure) -> pd.Series:
    """Small counts of one series shown as 'c' (primary suppression only)."""
    out = values.astype(object).copy()
    if control.suppress:
        out[is_small(values, control.min_cell).values] = SUPPRESSED
    return out
