"""Tests of association between police risk grade and disclosure (issue 5).

Definitions used:

- ``independence_test(table)``: a table of groups (rows) by disclosed yes/no
  (2 columns). Rows with no observations are dropped first. Pearson's
  chi-square test (no continuity correction) is used when every expected
  count is at least 5 (Cochran's rule); otherwise Fisher's exact test: scipy's
  ``fisher_exact`` for a 2x2 table and, for more rows, the Freeman-Halton
  extension computed exactly by enumerating every table with the observed
  margins (``fisher_exact_rx2``). The method and the reason go beside the p-value.
- ``cochran_armitage(events, totals, scores)``: the Cochran-Armitage test for
  a linear trend in proportions across ordered groups (here low < medium <
  high), asymptotic normal, two-sided, no continuity correction.
- ``bh_adjust(pvalues)``: Benjamini-Hochberg false discovery rate adjustment
  (statsmodels ``multipletests(method="fdr_bh")``) across indicators; untestable
  indicators are left out of the family.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from scipy.special import gammaln
from statsmodels.stats.multitest import multipletests

EXPECTED_MIN = 5
# Tables whose probability is within this relative tolerance of the observed one count as "as extreme" (as R).
REL_TOL = 1e-7
# Beyond this many candidate tables the exact enumeration is replaced by a seeded Monte Carlo estimate.
MAX_ENUMERATION = 20_000_000


@dataclass(frozen=True)
class TestResult:
    """One test: which, why, statistic and p-value; ``method`` is None when nothing could be tested."""

    method: str | None
    reason: str
    statistic: float | None = None
    pvalue: float | None = None
    df: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def tested(self) -> bool:
        return self.pvalue is not None


def _log_comb(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def fisher_exact_rx2(table) -> float:
    """Exact (Freeman-Halton) Fisher p-value for an r x 2 table of counts.

    Sums the hypergeometric probabilities of every table with the observed
    row and column totals that is no more probable than the observed table.
    """
    table = np.asarray(table, dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 2:
        raise ValueError("fisher_exact_rx2 needs a table with exactly two columns")
    rows = table.sum(axis=1)
    col = table[:, 0]
    k = int(col.sum())
    n = int(rows.sum())
    if k > n - k:  # enumerate over the smaller column; the p-value is symmetric in the columns
        col, k = table[:, 1], n - k
    log_total = _log_comb(n, k)

    def log_prob(cells):  # cells: (..., r) counts in the first column
        return _log_comb(rows, cells).sum(axis=-1) - log_total

    observed = log_prob(col.astype(float))
    grids = _compositions(rows, k)
    if grids is None:
        return _fisher_monte_carlo(table)
    logp = log_prob(grids.astype(float))
    keep = logp <= observed + math.log1p(REL_TOL)
    return float(min(1.0, np.exp(logp[keep]).sum()))


def _compositions(rows: np.ndarray, k: int) -> np.ndarray | None:
    """Every vector (a_1..a_r) with 0 <= a_i <= rows_i summing to k, as an array; None if too many."""
    r = len(rows)
    size = 1
    for cap in rows[:-1]:
        size *= int(min(cap, k)) + 1
    if size > MAX_ENUMERATION:
        return None
    axes = [np.arange(int(min(cap, k)) + 1) for cap in rows[:-1]]
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(r - 1, -1).T
    last = k - mesh.sum(axis=1)
    ok = (last >= 0) & (last <= rows[-1])
    return np.column_stack([mesh[ok], last[ok]])


def _fisher_monte_carlo(table) -> float:
    method = stats.MonteCarloMethod(n_resamples=20_000, rng=np.random.default_rng(20190101))
    return float(stats.fisher_exact(table, method=method).pvalue)


def independence_test(table, labels=None) -> TestResult:
    """Chi-square or Fisher's exact test of independence for groups (rows) x disclosed yes/no."""
    table = np.asarray(table, dtype=np.int64)
    table = table[table.sum(axis=1) > 0]
    if len(table) < 2:
        return TestResult(None, "not testable: fewer than two police risk grades have any observations")
    cols = table.sum(axis=0)
    if (cols == 0).any():
        which = "nobody disclosed it" if cols[0] == 0 else "everybody disclosed it"
        return TestResult(None, f"not testable: {which}, so there is no variation to test")
    expected = np.outer(table.sum(axis=1), cols) / table.sum()
    shape = f"{table.shape[0]}x2"
    if (expected >= EXPECTED_MIN).all():
        chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
        return TestResult("Pearson chi-square test", f"every expected count is at least {EXPECTED_MIN} "
                          f"(Cochran's rule), so the chi-square approximation holds ({shape} table)",
                          float(chi2), float(p), int(dof))
    small = int((expected < EXPECTED_MIN).sum())
    reason = (f"{small} of {expected.size} expected counts are below {EXPECTED_MIN} (Cochran's rule), "
              f"so an exact test is used ({shape} table)")
    if table.shape[0] == 2:
        res = stats.fisher_exact(table)
        return TestResult("Fisher's exact test", reason, float(res.statistic), float(res.pvalue))
    return TestResult("Fisher-Freeman-Halton exact test", reason, None, fisher_exact_rx2(table))


def cochran_armitage(events, totals, scores) -> TestResult:
    """Cochran-Armitage test for a linear trend in proportions events/totals across ordered scores.

    T = sum s_i (x_i - n_i p), Var(T) = p (1 - p) [sum n_i s_i^2 - (sum n_i s_i)^2 / N],
    z = T / sqrt(Var(T)), two-sided normal p-value; p = sum x / N.
    """
    x = np.asarray(events, dtype=float)
    n = np.asarray(totals, dtype=float)
    s = np.asarray(scores, dtype=float)
    keep = n > 0
    x, n, s = x[keep], n[keep], s[keep]
    if len(n) < 2:
        return TestResult(None, "not testable: fewer than two police risk grades have any observations")
    big_n = n.sum()
    p = x.sum() / big_n
    if p in (0.0, 1.0):
        return TestResult(None, "not testable: the proportion is 0% or 100% in every grade")
    t = float((s * (x - n * p)).sum())
    var = p * (1 - p) * ((n * s ** 2).sum() - (n * s).sum() ** 2 / big_n)
    z = t / math.sqrt(var)
    pvalue = float(2 * stats.norm.sf(abs(z)))
    return TestResult("Cochran-Armitage trend test", "ordered grades (low < medium < high); tests a linear "
                      "trend in the proportion disclosing, normal approximation, two-sided", z, pvalue)


def bh_adjust(pvalues) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values); None stays None and is not in the family."""
    values = list(pvalues)
    idx = [i for i, p in enumerate(values) if p is not None and not (isinstance(p, float) and math.isnan(p))]
    out: list[float | None] = [None] * len(values)
    if idx:
        _, q, _, _ = multipletests([values[i] for i in idx], method="fdr_bh")
        for i, qi in zip(idx, q):
            out[i] = float(qi)
    return out


def format_p(p: float | None) -> str:
    if p is None:
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


RISK_SCORES = {"low": 1, "medium": 2, "high": 3}


def association_table(frame, outcomes, group="police_risk", levels=("high", "medium", "low"),
                      scores=RISK_SCORES) -> "pd.DataFrame":
    """For each outcome: grade x disclosed test (method, reason, p) and trend test, with BH q-values.

    ``frame`` has one row per unit (RHI, or child with one grade each) with
    the ``group`` column and one boolean column per outcome. The BH family is
    the outcomes tested, separately for the independence and the trend tests.
    """
    import pandas as pd

    rows = []
    for outcome in outcomes:
        counts = [(int(frame.loc[frame[group] == lv, outcome].sum()), int((frame[group] == lv).sum()))
                  for lv in levels]
        table = [[x, n - x] for x, n in counts]
        ind = independence_test(table)
        trend = cochran_armitage([x for x, _ in counts], [n for _, n in counts], [scores[lv] for lv in levels])
        row = {"outcome": outcome}
        for lv, (x, n) in zip(levels, counts):
            row[f"{lv}_count"], row[f"{lv}_denominator"] = x, n
        row.update({"test": ind.method or "not tested", "test_reason": ind.reason, "p_value": ind.pvalue,
                    "trend_test": trend.method or "not tested", "trend_reason": trend.reason,
                    "trend_z": trend.statistic, "trend_p_value": trend.pvalue})
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["q_value_bh"] = bh_adjust(table["p_value"].tolist())
        table["trend_q_value_bh"] = bh_adjust(table["trend_p_value"].tolist())
    return table
