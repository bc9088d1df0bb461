"""Proportions with confidence intervals.

``proportion(count, denominator)`` is the building block of every figure:
the count, the denominator, the percentage and a 95% Wilson score interval
(statsmodels ``proportion_confint(method="wilson")``). Wilson is used because
it keeps good coverage for small denominators and proportions near 0 or 1,
where the normal (Wald) interval fails; it is the interval recommended for
public-health indicators (PHE Technical Guide, "Confidence intervals").
"""

from __future__ import annotations

import math
from functools import lru_cache
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm
from statsmodels.stats.proportion import proportion_confint

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    count: int
    denominator: int
    pct: float | None          # None when the denominator is 0: no estimate
    ci_low: float | None       # percent
    ci_high: float | None      # percent
    method: str = "Wilson score interval, 95%"

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self, decimals: int = 0) -> str:
        """'12 of 80 (15%, 95% CI 9% to 24%)', or 'no children' style when empty."""
        if self.pct is None:
            return f"{self.count} of {self.denominator} (no estimate: denominator is 0)"
        f = f"{{:.{decimals}f}}"
        return (f"{self.count:,} of {self.denominator:,} ({f.format(self.pct)}%, 95% CI "
                f"{f.format(self.ci_low)}% to {f.format(self.ci_high)}%)")


@lru_cache(maxsize=8)
def _critical_value(confidence: float) -> float:
    return float(norm.isf((1 - confidence) / 2))


def wilson_interval(count, denominator, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for count/denominator, as proportions in [0, 1].

    The arithmetic of statsmodels ``proportion_confint(method="wilson")``, step
    for step (so the results are the same to the last bit, which a test checks),
    without its per-call overhead: a report computes thousands of these.
    """
    n = float(denominator)
    q = count / n
    crit = _critical_value(confidence)
    crit2 = crit ** 2
    denom = 1 + crit2 / n
    center = (q + crit2 / (2 * n)) / denom
    dist = crit * math.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n ** 2)) / denom
    # Exact ends: 0 of n has a lower bound of 0 and n of n an upper bound of 1 (not 1e-15 off).
    low = 0.0 if count == 0 else center - dist
    high = 1.0 if count == denominator else center + dist
    return low, high


def proportion(count: int, denominator: int, confidence: float = 0.95) -> Proportion:
    """Count, denominator, percentage and Wilson interval (percent). Denominator 0 gives no estimate."""
    count, denominator = int(count), int(denominator)
    if count < 0 or denominator < 0 or count > denominator:
        raise ValueError(f"a proportion needs 0 <= count <= denominator, got {count} of {denominator}")
    if denominator == 0:
        return Proportion(count, denominator, None, None, None)
    low, high = wilson_interval(count, denominator, confidence)
    return Proportion(count, denominator, 100 * count / denominator, 100 * low, 100 * high,
                      f"Wilson score interval, {confidence:.0%}")


def round_half_up(value: float, decimals: int = 0) -> float:
    """Round as printed reports do (0.5 up), not to even."""
    factor = 10 ** decimals
    return math.floor(value * factor + 0.5 + 1e-9) / factor


def wilson_arrays(count, denominator, confidence: float = 0.95):
    """Vectorised Wilson interval (proportions); NaN where the denominator is 0."""
    count = np.asarray(count, dtype=float)
    n = np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(count, n, alpha=1 - confidence, method="wilson")
    low = np.where(count == 0, 0.0, low)
    high = np.where(count == n, 1.0, high)
    low = np.where(n > 0, low, np.nan)
    high = np.where(n > 0, high, np.nan)
    return low, high


def printed_decimals(value) -> int:
    """Decimals the report printed: 22 -> 0, 92.5 -> 1."""
    if value is None:
        return 0
    text = repr(float(value)).rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0
