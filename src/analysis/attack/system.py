"""The attacker's linear system: what the published numbers say about the unknown cells.

Variables are the cells not published as a whole number (``c``, ``z``, ``x``);
published whole numbers are constants. Every constraint is a row
``sum(a_j * x_j) <= b`` or ``== b`` with whole-number coefficients, so that an
integer point can be checked exactly:

- ``sum``: total - sum(parts) == 0.
- ``overlap``: total - sum(parts) <= 0, and part - total <= 0 for each part.
- ``le``: part - total <= 0 for each part.
- ``le_sum``: sum(parts) - total <= 0 (a sum some of whose parts are not published).
- ``linear``: sum(coefficient * cell) <= 0, a coefficient per cell (``relations.csv``'s ``coefficient``).
- a percentage ``v`` printed to ``d`` decimals of numerator ``n`` and denominator
  ``m`` (either unknown): ``v - h <= 100 n / m <= v + h`` with ``h = 0.5 * 10^-d``
  (the closed interval, so rounding half up and half to even are both covered),
  that is ``(2 * 10^d * v - 1) m <= 200 * 10^d n <= (2 * 10^d * v + 1) m``,
  and ``m >= 1``. A ``rate`` is the same with its multiplier (1 unless the
  statistics file has a ``multiplier`` or ``per`` column) instead of 100.
- a confidence interval bound: the interval contains the percentage, so
  ``100 n / m >= lower - h`` and ``<= upper + h`` whatever the method. Where the
  denominator is published, the counts whose 95% Wilson interval prints as
  published are enumerated and bound the numerator (if none does, the interval
  is taken to be some other method and only the general rows are used).

Rows among published numbers alone are checked and, if they fail, reported as
inconsistencies rather than used. The unknowns are then split into connected
components (two unknowns are connected when a row holds both); each component
is solved on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from analysis.attack.read import Publication, Statistic


@dataclass
class Origin:
    """Where a row comes from: a relation or a statistic, the cells it involves and where it is shown."""

    label: str                      # "relation R7 (sum)" or "statistic S3 (percent)"
    cells: list[int]
    shown_in: list[str] = field(default_factory=list)


@dataclass
class Row:
    variables: list[int]            # indices into LinearSystem.cells
    coefficients: list[int]
    equal: bool
    rhs: int
    origin: int                     # index into LinearSystem.origins


@dataclass
class Component:
    variables: list[int]            # indices into LinearSystem.cells (global variable numbers)
    rows: list[int]                 # indices into LinearSystem.rows


@dataclass
class LinearSystem:
    cells: np.ndarray               # cell index (row of Publication.cells) of each variable
    lower: np.ndarray               # smallest value of each variable (1 for c when zeros are shown, else 0)
    audited: np.ndarray             # True for c cells
    rows: list[Row]
    origins: list[Origin]
    inconsistencies: list[str]
    components: list[Component]
    notes: list[str] = field(default_factory=list)


def build_system(pub: Publication) -> LinearSystem:
    symbols, known = pub.symbols, pub.known
    unknown = np.flatnonzero(symbols != "")
    variable_of = {int(cell): v for v, cell in enumerate(unknown)}
    lower = np.where(symbols[unknown] == "c", 1 if pub.zeros_shown else 0, 0).astype(np.int64)
    builder = _Builder(pub, variable_of, known)
    for rel in pub.relations:
        builder.relation(rel)
    for stat in pub.statistics:
        builder.statistic(stat)
    components = connected_components(len(unknown), builder.rows)
    return LinearSystem(unknown, lower, symbols[unknown] == "c", builder.rows, builder.origins,
                        builder.inconsistencies, components, builder.notes)


class _Builder:
    def __init__(self, pub: Publication, variable_of: dict[int, int], known: np.ndarray):
        self.pub, self.variable_of, self.known = pub, variable_of, known
        self.rows: list[Row] = []
        self.origins: list[Origin] = []
        self.inconsistencies: list[str] = []
        self.notes: list[str] = []
        self.shown = pub.cells["shown_in"].tolist()

    def origin(self, label: str, cells: list[int], extra_shown: str = "") -> int:
        shown = [self.shown[c] for c in cells] + [extra_shown]
        outputs = sorted({s.strip() for text in shown for s in text.split(";") if s.strip()})
        self.origins.append(Origin(label, cells, outputs))
        return len(self.origins) - 1

    def add(self, terms: dict[int, Fraction], equal: bool, rhs: Fraction, origin: int, what: str) -> None:
        """Add ``sum(terms[cell] * cell) (== or <=) rhs``; published cells move to the right-hand side."""
        rhs = Fraction(rhs)
        variables: dict[int, Fraction] = {}
        for cell, coef in terms.items():
            if coef == 0:
                continue
            if cell in self.variable_of:
                v = self.variable_of[cell]
                variables[v] = variables.get(v, Fraction(0)) + coef
            else:
                rhs -= coef * int(self.known[cell])
        variables = {v: a for v, a in variables.items() if a != 0}
        if not variables:
            if (rhs != 0) if equal else (rhs < 0):
                self.inconsistencies.append(f"{self.origins[origin].label}: {what} does not hold for the "
                                            f"published numbers ({_cells_text(self.pub, self.origins[origin].cells)})")
            return
        scale = math.lcm(*(a.denominator for a in variables.values()), rhs.denominator)
        ints = [int(a * scale) for a in variables.values()]
        b = int(rhs * scale)
        g = math.gcd(*ints, b) or 1
        self.rows.append(Row(list(variables), [a // g for a in ints], equal, b // g, origin))

    def relation(self, rel) -> None:
        origin = self.origin(f"relation {rel.relation_id} ({rel.kind})", [rel.total, *rel.parts])
        one = Fraction(1)
        if rel.kind == "linear":   # sum of coefficient x cell <= 0
            terms = {}
            for cell, c in zip([rel.total, *rel.parts], rel.coefficients):
                terms[cell] = terms.get(cell, 0) + Fraction(c)
            self.add(terms, False, 0, origin, "the linear bound")
            return
        if rel.kind == "le_sum":
            terms = {rel.total: -one}
            for p in rel.parts:
                terms[p] = terms.get(p, 0) + one
            self.add(terms, False, 0, origin, "sum of parts <= total")
            return
        if rel.kind == "sum":
            terms = {rel.total: one}
            for p in rel.parts:
                terms[p] = terms.get(p, 0) - one
            self.add(terms, True, 0, origin, "total = sum of parts")
            return
        if rel.kind == "overlap":
            terms = {rel.total: one}
            for p in rel.parts:
                terms[p] = terms.get(p, 0) - one
            self.add(terms, False, 0, origin, "total <= sum of parts")
        for p in rel.parts:
            self.add({p: one, rel.total: -one}, False, 0, origin, "part <= total")

    def statistic(self, stat: Statistic) -> None:
        num, den = stat.numerator, stat.denominator
        origin = self.origin(f"statistic {stat.stat_id} ({stat.name or stat.statistic})", [num, den], stat.shown_in)
        h = Fraction(1, 2 * 10 ** stat.decimals)
        factor = Fraction(100) if stat.statistic in ("percent", "ci_lower", "ci_upper") else stat.multiplier
        low, high = stat.value - h, stat.value + h
        if stat.statistic == "ci_lower":
            high = None       # the percentage is at least the lower bound
        elif stat.statistic == "ci_upper":
            low = None        # and at most the upper bound
        what = f"{stat.statistic} {stat.value} (to {stat.decimals} dp) of numerator/denominator"
        self.add({den: Fraction(-1)}, False, -1, origin, "a printed statistic needs a denominator >= 1")
        if high is not None:      # factor * num <= high * den
            self.add(_terms((num, factor), (den, -high)), False, 0, origin, what)
        if low is not None and low > 0:    # low * den <= factor * num
            self.add(_terms((den, low), (num, -factor)), False, 0, origin, what)
        if stat.statistic in ("ci_lower", "ci_upper") and num in self.variable_of and den not in self.variable_of:
            self.wilson(stat, int(self.known[den]), origin)

    def wilson(self, stat: Statistic, n: int, origin: int) -> None:
        """Bound the numerator by the counts whose 95% Wilson bound prints as published."""
        if n < 1:
            return
        k = np.arange(n + 1)
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        bound = 100 * (lo if stat.statistic == "ci_lower" else hi)
        h = 0.5 * 10 ** -stat.decimals
        v = float(stat.value)
        fits = k[(bound >= v - h - 1e-9) & (bound <= v + h + 1e-9)]
        if len(fits) == 0:
            self.notes.append(f"statistic {stat.stat_id}: {stat.statistic} {stat.value} is not a 95% Wilson bound "
                              f"of any count out of {n}; only 'the interval contains the percentage' is used")
            return
        self.add({stat.numerator: Fraction(-1)}, False, -int(fits.min()), origin, "the Wilson interval")
        self.add({stat.numerator: Fraction(1)}, False, int(fits.max()), origin, "the Wilson interval")


def _terms(*pairs) -> dict[int, Fraction]:
    """Coefficients by cell, added up (a numerator may be its own denominator)."""
    terms: dict[int, Fraction] = {}
    for cell, coef in pairs:
        terms[cell] = terms.get(cell, Fraction(0)) + coef
    return terms


def connected_components(n_variables: int, rows: list[Row]) -> list[Component]:
    """Unknowns linked by any row, by union-find; every unknown is in exactly one component."""
    parent = list(range(n_variables))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in rows:
        first = find(row.variables[0])
        for v in row.variables[1:]:
            other = find(v)
            if other != first:
                parent[other] = first
    members: dict[int, list[int]] = {}
    for v in range(n_variables):
        members.setdefault(find(v), []).append(v)
    row_lists: dict[int, list[int]] = {root: [] for root in members}
    for i, row in enumerate(rows):
        row_lists[find(row.variables[0])].append(i)
    return [Component(members[root], row_lists[root]) for root in members]


def _cells_text(pub: Publication, cells: list[int]) -> str:
    ids, values = pub.cells["cell_id"].to_numpy(), pub.cells["value"].to_numpy()
    text = ", ".join(f"{ids[c]} = {values[c]}" for c in cells[:8])
    return text + (", ..." if len(cells) > 8 else "")
