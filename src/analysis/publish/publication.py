"""One protected set of numbers per run: the tables every output is drawn from.

Tables register their counts as cells (``cells.CellStore``) and say which of
their columns are derived from which counts (percentages, intervals) or rest
on which cells (test statistics, odds ratios). ``finish`` suppresses once for
the whole run (``suppression.protect``), and ``table`` then gives each table
as published: counts that are hidden as ``c``, every percentage or interval
built on a hidden count as ``c``, every statistic resting on a hidden cell as
``c``, the rest rounded for display. Notebooks, the index and the files all
show these tables, so two outputs never show different numbers for one cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.disclosure import NOT_AVAILABLE, SUPPRESSED, Disclosure
from analysis.publish.availability import not_available
from analysis.publish.cells import CellStore, Key
from analysis.publish.plan import cost, publishes_cell, publishes_table
from analysis.publish.suppression import Protection, protect

# Decimal places shown for derived columns (by column name); see ``decimals`` for the rest.
DECIMALS = {"pct": 1, "ci_low": 1, "ci_high": 1, "p_value": 3, "q_value_bh": 3, "trend_p_value": 3,
            "trend_q_value_bh": 3, "trend_z": 2, "odds_ratio": 2, "log_odds": 2, "se": 2}
PCT_WORDS = ("pct", "ci_low", "ci_high", "share", "percent")
P_WORDS = ("p_value", "q_value", "trend_p_value", "trend_q_value")
P_FLOOR = 0.001   # p-values below it are printed "<0.001" (and kept exact, for the CSVs' own column)


def is_p_value(column: str) -> bool:
    col = str(column).lower()
    return any(col.startswith(k) or col == k for k in P_WORDS) or col.endswith("p_value") or "q_value" in col


def decimals(column: str) -> int:
    """Decimal places a derived column is printed with, as the reports print it (``render.report.format_cell``):
    percentages and their intervals 1 (any column named like ``within_72h_pct``), p- and q-values 3, then the
    named columns of ``DECIMALS``; anything else 2."""
    col = str(column).lower()
    if col in DECIMALS:
        return DECIMALS[col]
    if any(col == k or col.endswith("_" + k) or col.startswith(k) for k in PCT_WORDS) or col.endswith("pct"):
        return 1
    if is_p_value(col):
        return 3
    return 2


@dataclass
class TableSpec:
    """A table as computed (true values) and how its columns relate to cells."""

    scope: str
    name: str
    frame: pd.DataFrame
    counts: dict = field(default_factory=dict)    # column -> list of Key (or None) per row
    derived: dict = field(default_factory=dict)   # column -> list of tuple[Key] per row it is built on


class Publication:
    """The cells, relations and tables of one run, suppressed once for all of them."""

    def __init__(self, control: Disclosure, period: tuple = (None, None), unavailable=(),
                 risk_levels=("medium", "low")):
        self.control = control
        self.risk_levels = tuple(risk_levels)     # police grades in scope (publication.json says, for readers)
        self.unavailable = tuple(unavailable)     # contract fields the source does not hold
        self._lacks = not_available(self.unavailable)
        self.store = CellStore()
        self.tables: dict[tuple[str, str], TableSpec] = {}
        self.period = period
        self.protection: Protection | None = None
        self.relations = []
        self.years: dict[str, list[str]] = {}     # scope -> its reporting years (labels): dates, never counts

    # --- building ------------------------------------------------------------------------------

    def wants(self, scope: str, name: str) -> bool:
        """Whether the plan publishes table ``name`` for ``scope``'s level (``analysis.publish.plan``): a table
        it does not is not computed there."""
        return publishes_table(scope, name)

    def add_table(self, scope: str, name: str, frame: pd.DataFrame, counts: dict,
                  derived: dict | None = None) -> TableSpec:
        where = f"{scope}/{name}"
        frame = frame.reset_index(drop=True)
        for column, keys in counts.items():
            for value, k in zip(frame[column], keys):
                if k is not None and not _blank(value):
                    self.store.add(k, value, where)
        spec = TableSpec(scope, name, frame, counts, derived or {})
        self.tables[(scope, name)] = spec
        return spec

    def finish(self, progress=None) -> Protection:
        from analysis.timing import stage

        with stage("publication: relations"):
            self.apply_plan()
            self.relations = self.store.relations()
        if self.control.suppress:
            with stage("publication: suppression"):
                shown = {k for k, w in self.store.shown_in.items() if w}
                self.protection = protect(self.store.values, self.relations, min_cell=self.control.min_cell,
                                          progress=progress, shown=shown,
                                          costs={k: cost(k, k in shown) for k in self.store.values})
        else:
            self.protection = Protection(set(), set(), 0, 0)
        return self.protection

    def apply_plan(self) -> None:
        """Leave out every cell the plan does not publish at its level (``analysis.publish.plan``), with the
        table rows built on it; a table left with no row is not published. What was displayed where is
        worked out again from the tables that remain. A relation with a part left out still says what it
        can about the rest (``CellStore.drop``)."""
        store = self.store
        gone = {k for k in store.values if not publishes_cell(k)}
        for where, spec in list(self.tables.items()):
            keep = [i for i in range(len(spec.frame))
                    if not any(keys[i] in gone for keys in spec.counts.values() if keys[i] is not None)
                    and not any(k in gone for based in spec.derived.values() for k in based[i])]
            if not keep:
                del self.tables[where]
            elif len(keep) < len(spec.frame):
                spec.frame = spec.frame.iloc[keep].reset_index(drop=True)
                spec.counts = {c: [keys[i] for i in keep] for c, keys in spec.counts.items()}
                spec.derived = {c: [based[i] for i in keep] for c, based in spec.derived.items()}
        store.drop(gone)
        store.shown_in.clear()
        for (scope, name), spec in self.tables.items():
            for column, keys in spec.counts.items():
                for value, k in zip(spec.frame[column], keys):
                    if k is not None and not _blank(value):
                        store.shown_in[k].add(f"{scope}/{name}")

    # --- reading --------------------------------------------------------------------------------

    def hidden(self, k: Key | None) -> bool:
        return k is not None and k in self.protection.hidden

    def lacking(self, k: Key | None) -> bool:
        """True when the cell rests on a field the dataset's source does not hold (shown as 'x')."""
        return k is not None and self._lacks(k) is not None

    def shown(self, k: Key | None, value):
        """What the reader sees for a cell: 'x' (source lacks it), 'c' (suppressed) or the value."""
        if self.lacking(k):
            return NOT_AVAILABLE
        return SUPPRESSED if self.hidden(k) else value

    def value(self, k: Key):
        """A cell as published: its count, 'c' or 'x'."""
        return self.shown(k, self.store.values[k])

    def table(self, scope: str, name: str) -> pd.DataFrame:
        """The table as published (suppressed, rounded). KeyError if the run has no such table."""
        spec = self.tables[(scope, name)]
        out = spec.frame.copy().astype(object)
        for column, keys in spec.counts.items():
            out[column] = [self.shown(k, _int_or_blank(v)) for v, k in zip(spec.frame[column], keys)]
        for column, based in spec.derived.items():
            digits, p = decimals(column), is_p_value(column)
            out[column] = [NOT_AVAILABLE if any(self.lacking(k) for k in ks)
                           else SUPPRESSED if any(self.hidden(k) for k in ks) else _rounded(v, digits, p)
                           for v, ks in zip(spec.frame[column], based)]
        return out

    def has(self, scope: str, name: str) -> bool:
        return (scope, name) in self.tables

    def summary(self) -> dict:
        p = self.protection
        cells = len(self.store.values)
        shown = {k for k, w in self.store.shown_in.items() if w}
        out = {"cells": cells, "primary": len(p.primary), "secondary": len(p.secondary),
               # secondary cells a report displays (the others, complements and remainders no output shows,
               # follow from a hidden count: hiding them costs readers nothing more)
               "secondary_shown": len(p.secondary & shown),
               "published": cells - len(p.hidden), "relations": len(self.relations), "rounds": p.rounds}
        if p.unproven:   # only large runs: see suppression._unprotected
            out["hidden_without_exact_check"] = p.unproven
        return out


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value == ""


def _int_or_blank(value):
    return None if _blank(value) else int(value)


def _rounded(value, digits: int, p_value: bool = False):
    """A derived number rounded as printed; a p-value below 0.001 is kept exact (printed "<0.001"), never 0.0."""
    if _blank(value) or isinstance(value, str):
        return None if _blank(value) else value
    if isinstance(value, bool):
        return value
    if p_value and 0 <= float(value) < P_FLOOR:
        return float(value)
    return round(float(value), digits)
