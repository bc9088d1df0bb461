"""Tests of association: exact and chi-square choice, Cochran-Armitage trend, Benjamini-Hochberg."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.multitest import multipletests

from analysis import association as assoc


def brute_force_fisher(table):
    """Freeman-Halton p-value by explicit loops over every table with the observed margins."""
    rows = [sum(r) for r in table]
    k = sum(r[0] for r in table)
    n = sum(rows)

    def prob(cells):
        return math.prod(math.comb(rows[i], cells[i]) for i in range(len(rows))) / math.comb(n, k)

    observed = prob([r[0] for r in table])
    total = 0.0
    for cells in itertools.product(*[range(r + 1) for r in rows]):
        if sum(cells) == k:
            p = prob(cells)
            if p <= observed * (1 + 1e-7):
                total += p
    return total


@pytest.mark.parametrize("table", [
    [[2, 8], [0, 12], [5, 3]],
    [[1, 1], [0, 6], [3, 0]],
    [[0, 5], [0, 7], [2, 9]],
    [[4, 10], [6, 9], [1, 20]],
])
def test_freeman_halton_matches_brute_force(table):
    assert assoc.fisher_exact_rx2(table) == pytest.approx(brute_force_fisher(table), rel=1e-9)


def test_freeman_halton_2x2_equals_scipy_fisher():
    table = [[3, 1], [1, 3]]
    assert assoc.fisher_exact_rx2(table) == pytest.approx(stats.fisher_exact(table).pvalue)
    table = [[8, 2], [1, 5]]                      # scipy documentation example: p = 0.03497
    assert assoc.fisher_exact_rx2(table) == pytest.approx(0.034965034965034975)


def test_cochrans_rule_picks_chi_square_for_large_tables():
    table = [[20, 80], [30, 70], [45, 55]]
    res = assoc.independence_test(table)
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert res.method == "Pearson chi-square test" and "at least 5" in res.reason
    assert (res.statistic, res.pvalue, res.df) == (pytest.approx(chi2), pytest.approx(p), 2)


def test_cochrans_rule_picks_exact_for_small_expected():
    table = [[2, 8], [0, 12], [5, 3]]
    res = assoc.independence_test(table)
    assert res.method == "Fisher-Freeman-Halton exact test" and "below 5" in res.reason
    assert res.pvalue == pytest.approx(brute_force_fisher(table))


def test_empty_grade_dropped_and_2x2_uses_scipy_fisher():
    res = assoc.independence_test([[0, 0], [1, 9], [6, 4]])
    assert res.method == "Fisher's exact test"
    assert res.pvalue == pytest.approx(stats.fisher_exact([[1, 9], [6, 4]]).pvalue)


def test_not_testable_cases_are_stated():
    assert not assoc.independence_test([[0, 10], [0, 5]]).tested
    assert "nobody disclosed" in assoc.independence_test([[0, 10], [0, 5]]).reason
    assert "fewer than two" in assoc.independence_test([[3, 10], [0, 0]]).reason
    assert not assoc.cochran_armitage([0, 0, 0], [5, 5, 5], [1, 2, 3]).tested


def test_cochran_armitage_hand_worked():
    # low, medium, high: 5/50, 10/50, 20/50 with scores 1, 2, 3; p = 35/150 = 7/30.
    # T = sum s_i x_i - p sum s_i n_i = (5 + 20 + 60) - (7/30)(300) = 85 - 70 = 15
    # Var = p(1-p) [sum n s^2 - (sum n s)^2 / N] = (7/30)(23/30) [700 - 600] = 16100/900
    z = 15 / math.sqrt(16100 / 900)
    res = assoc.cochran_armitage([5, 10, 20], [50, 50, 50], [1, 2, 3])
    assert res.statistic == pytest.approx(z) and z == pytest.approx(3.5465, abs=1e-4)
    assert res.pvalue == pytest.approx(2 * stats.norm.sf(z))


def test_cochran_armitage_agrees_with_statsmodels_linear_by_linear():
    # statsmodels' ordinal (linear-by-linear) test uses the permutation variance: z_sm = z_CA sqrt((N-1)/N).
    x, n = np.array([3, 9, 14]), np.array([40, 35, 30])
    res = assoc.cochran_armitage(x, n, [1, 2, 3])
    sm = Table(np.column_stack([x, n - x])).test_ordinal_association(row_scores=np.array([1, 2, 3]),
                                                                      col_scores=np.array([1, 0]))
    big_n = n.sum()
    assert res.statistic * math.sqrt((big_n - 1) / big_n) == pytest.approx(sm.zscore)


def test_cochran_armitage_two_groups_equals_uncorrected_chi_square():
    res = assoc.cochran_armitage([4, 12], [30, 30], [1, 2])
    chi2, p, _, _ = stats.chi2_contingency([[4, 26], [12, 18]], correction=False)
    assert res.statistic ** 2 == pytest.approx(chi2) and res.pvalue == pytest.approx(p)


def test_bh_adjust_matches_statsmodels_and_skips_untested():
    pvals = [0.01, None, 0.04, 0.03, float("nan"), 0.2]
    q = assoc.bh_adjust(pvals)
    expected = multipletests([0.01, 0.04, 0.03, 0.2], method="fdr_bh")[1]
    assert [q[i] for i in (0, 2, 3, 5)] == pytest.approx(list(expected))
    assert q[1] is None and q[4] is None
    # by hand: sorted 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.0533, 0.0533, 0.2
    assert q[0] == pytest.approx(0.04) and q[3] == pytest.approx(0.04 * 4 / 3)


def test_association_table_per_outcome():
    frame = pd.DataFrame({"police_risk": ["high"] * 10 + ["medium"] * 12 + ["low"] * 8,
                          "a": [True] * 6 + [False] * 4 + [True] * 2 + [False] * 10 + [True] * 1 + [False] * 7,
                          "b": [False] * 30})
    table = assoc.association_table(frame, ["a", "b"]).set_index("outcome")
    assert table.loc["a", ["high_count", "high_denominator", "low_count"]].tolist() == [6, 10, 1]
    expected = brute_force_fisher([[6, 4], [2, 10], [1, 7]])
    assert table.loc["a", "p_value"] == pytest.approx(expected)
    assert table.loc["a", "q_value_bh"] == pytest.approx(expected)    # family of one tested outcome
    assert table.loc["b", "test"] == "not tested" and pd.isna(table.loc["b", "q_value_bh"])
    ca = assoc.cochran_armitage([1, 2, 6], [8, 12, 10], [1, 2, 3])
    assert table.loc["a", "trend_z"] == pytest.approx(ca.statistic) and ca.statistic > 0


def test_format_p():
    assert assoc.format_p(0.0004) == "<0.001" and assoc.format_p(0.0312) == "0.031" and assoc.format_p(None) == "-"
