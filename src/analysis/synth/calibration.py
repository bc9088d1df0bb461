"""Whole-number targets for the synthetic study data, read from the published-figures reference.

The synthetic generator (``analysis.synth.study``) must make data on which
the contract's definitions give back every published figure at the printed
precision. It never types a published number: it asks this module for the
count to build, and this module derives it from the reference file.

For a printed percentage ``p`` (with ``d`` decimals) of a denominator ``n``,
the *admissible* counts are the whole numbers ``k`` with
``round_half_up(100 k / n, d) == p``. The target is the admissible count
nearest to ``p * n / 100`` (the lower one on a tie). Where the report prints a
count, the count is the target. If no count is admissible the figure cannot be
met by any data and :class:`CalibrationError` says so.
"""

from __future__ import annotations

from analysis.reference.compare import load_reference
from analysis.stats.proportions import printed_decimals
from analysis.stats.proportions import round_half_up


class CalibrationError(ValueError):
    """A published figure that no whole count can reproduce, or targets that contradict each other."""


def admissible_counts(pct: float, n: int, decimals: int) -> list[int]:
    """Counts k in 0..n whose percentage of n, rounded half up to ``decimals``, prints as ``pct``."""
    if n <= 0:
        return []
    return [k for k in range(n + 1) if round_half_up(100 * k / n, decimals) == float(pct)]


def prints_as(count: int, n: int, pct: float) -> bool:
    """Whether count / n prints as pct at pct's own precision."""
    return n > 0 and round_half_up(100 * count / n, printed_decimals(pct)) == float(pct)


class Calibration:
    """Targets from the reference: population sizes, study period and a count for every figure."""

    def __init__(self, reference: dict | None = None):
        self.reference = reference or load_reference()
        self.populations = self.reference["populations"]
        self.figures = {f["id"]: f for f in self.reference["figures"]}
        self.study = self.reference["study"]

    def n(self, population: str, key: str = "n") -> int:
        """Published size of a population (episodes or children)."""
        return int(self.populations[population][key])

    def has(self, figure_id: str) -> bool:
        return figure_id in self.figures

    def printed_count(self, figure_id: str) -> int | None:
        value = self.figures[figure_id].get("count")
        return None if value is None else int(value)

    def denominator(self, figure_id: str) -> int:
        population = self.figures[figure_id]["population"]
        if population not in self.populations:
            raise CalibrationError(f"{figure_id}: the size of {population} is not published; pass n")
        return self.n(population)

    def count(self, figure_id: str, n: int | None = None) -> int:
        """The count to build for a figure over ``n`` (default: its published population)."""
        fig = self.figures[figure_id]
        n = self.denominator(figure_id) if n is None else int(n)
        printed = fig.get("count")
        if printed is not None and (fig.get("pct") is None or prints_as(int(printed), n, fig["pct"])):
            return int(printed)
        if fig.get("pct") is None:
            raise CalibrationError(f"{figure_id}: neither a usable count nor a percentage")
        return self.nearest(figure_id, n)

    def count_allowing(self, figure_id: str, n: int, share_id: str) -> int:
        """The count for a figure whose count is itself the denominator of another printed share.

        E.g. the number of CCE victims must be one of which some whole number
        prints as the published share of them who were also CSE victims.
        """
        fig = self.figures[figure_id]
        exact = float(fig["pct"]) * n / 100
        for k in sorted(self.options(figure_id, n), key=lambda k: (abs(k - exact), k)):
            if self.options(share_id, k):
                return k
        raise CalibrationError(f"{figure_id}: no count of {n} allows {share_id} as printed")

    def options(self, figure_id: str, n: int | None = None) -> list[int]:
        """Every admissible count of a percentage figure over n."""
        fig = self.figures[figure_id]
        n = self.denominator(figure_id) if n is None else int(n)
        return admissible_counts(fig["pct"], n, printed_decimals(fig["pct"]))

    def nearest(self, figure_id: str, n: int) -> int:
        fig = self.figures[figure_id]
        options = self.options(figure_id, n)
        if not options:
            raise CalibrationError(f"{figure_id}: no whole count of {n} prints as {fig['pct']}%")
        exact = float(fig["pct"]) * n / 100
        return min(options, key=lambda k: (abs(k - exact), k))

    def check(self, figure_id: str, count: int, n: int) -> None:
        """Raise if a built count would not reproduce the printed figure (a design slip, not bad data)."""
        fig = self.figures[figure_id]
        ok = prints_as(count, n, fig["pct"]) if fig.get("pct") is not None else count == fig.get("count")
        if not ok:
            raise CalibrationError(f"{figure_id}: built {count} of {n}, which does not print as published")
