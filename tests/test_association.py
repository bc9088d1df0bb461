"""Tests of association: exact and chi-square choice, Rao-Scott for clustered RHIs, Cochran-Armitage trend,
Benjamini-Hochberg, and intervals for clustered proportions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.multitest import multipletests

from analysis.stats import association as assoc


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
    assert "stricter than Cochran's 1954 rule" in res.reason and "(Cochran's rule)" not in res.reason
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
    table = assoc.association_table(frame, ["a", "b"], cluster=None).set_index("outcome")
    assert table.loc["a", ["high_count", "high_denominator", "low_count"]].tolist() == [6, 10, 1]
    expected = brute_force_fisher([[6, 4], [2, 10], [1, 7]])
    assert table.loc["a", "p_value"] == pytest.approx(expected)
    assert table.loc["a", "q_value_bh"] == pytest.approx(expected)    # family of one tested outcome
    assert table.loc["b", "test"] == "not tested" and pd.isna(table.loc["b", "q_value_bh"])
    ca = assoc.cochran_armitage([1, 2, 6], [8, 12, 10], [1, 2, 3])
    assert table.loc["a", "trend_z"] == pytest.approx(ca.statistic) and ca.statistic > 0


def test_format_p():
    assert assoc.format_p(0.0004) == "<0.001" and assoc.format_p(0.0312) == "0.031" and assoc.format_p(None) == "-"


def test_a_monte_carlo_p_value_is_not_called_exact(monkeypatch):
    monkeypatch.setattr(assoc, "MAX_ENUMERATION", 1)
    table = [[2, 8], [0, 12], [5, 3]]
    res = assoc.independence_test(table)
    assert "Monte Carlo" in res.method and "exact" not in res.method.lower()
    assert "20,000 random tables" in res.reason
    assert res.pvalue == pytest.approx(brute_force_fisher(table), abs=0.01)     # an estimate of the exact value


# --- clustered RHIs: Rao-Scott ------------------------------------------------------------------------

def clustered_data(seed=3, n=300, children=80):
    """RHIs of children with a child effect on the outcome (so RHIs of one child are correlated)."""
    rng = np.random.default_rng(seed)
    child = rng.integers(0, children, n)
    effect = rng.normal(size=children)[child]
    grade = rng.choice(["high", "medium", "low"], n)
    y = rng.random(n) < 1 / (1 + np.exp(0.8 - effect))
    return grade, y, child


def test_rao_scott_equals_pearson_when_every_child_has_one_rhi():
    grade, y, _ = clustered_data()
    res = assoc.rao_scott_test(grade, y, np.arange(len(y)))
    chi2, p, dof, _ = stats.chi2_contingency(pd.crosstab(grade, y).to_numpy(), correction=False)
    assert res.design_effect == pytest.approx(1.0, abs=1e-9)
    assert (res.statistic, res.pvalue, res.df) == (pytest.approx(chi2), pytest.approx(p), dof)


@pytest.mark.parametrize("levels", [("high", "low"), ("high", "medium", "low")])
def test_rao_scott_design_effect_matches_statsmodels_gee(levels):
    # Independent reference: the generalised design effects are those of the log odds ratios of the groups,
    # whose cluster-robust and model-based covariances statsmodels' GEE (independence) gives. The GEE sandwich
    # has no G/(G-1) factor and its model covariance is the one-RHI-per-cluster sandwich without n/(n-1).
    grade, y, child = clustered_data()
    keep = np.isin(grade, levels)
    grade, y, child = grade[keep], y[keep], child[keep]
    frame = pd.DataFrame({"g": grade, "y": y.astype(float), "child": child})
    fit = sm.GEE.from_formula("y ~ C(g)", groups="child", data=frame, family=sm.families.Binomial(),
                              cov_struct=sm.cov_struct.Independence()).fit()
    df = len(levels) - 1
    g, n = len(np.unique(child)), len(y)
    expected = np.trace(np.linalg.solve(fit.cov_naive[1:, 1:], fit.cov_robust[1:, 1:])) / df * (g / (g - 1)) * ((n - 1) / n)
    res = assoc.rao_scott_test(grade, y, child)
    assert res.design_effect == pytest.approx(expected, rel=1e-8) and res.design_effect > 1.05
    chi2 = stats.chi2_contingency(pd.crosstab(grade, y).to_numpy(), correction=False)[0]
    assert res.statistic == pytest.approx(chi2 / expected) and res.pvalue == pytest.approx(stats.chi2.sf(chi2 / expected, df))
    assert res.method == "Rao-Scott adjusted chi-square test"


def test_rao_scott_when_each_childs_rhis_are_copies():
    # Hand-derived: k copies of each of n independent RHIs (n children). Pearson's X2 is k times the original;
    # the cluster covariance is k^2 n/(n-1) S/(kn)^2 and the reference kn/(kn-1) k S/(kn)^2, so the design
    # effect is (kn - 1)/(n - 1) and the adjusted X2 = k X2 (n - 1)/(kn - 1).
    grade, y, _ = clustered_data(seed=5, n=120)
    n, k = len(y), 3
    res = assoc.rao_scott_test(np.repeat(grade, k), np.repeat(y, k), np.repeat(np.arange(n), k))
    chi2 = stats.chi2_contingency(pd.crosstab(grade, y).to_numpy(), correction=False)[0]
    assert res.design_effect == pytest.approx((k * n - 1) / (n - 1))
    assert res.statistic == pytest.approx(k * chi2 * (n - 1) / (k * n - 1))
    trend = assoc.clustered_trend_test(np.repeat(pd.Series(grade).map(assoc.RISK_SCORES), k), np.repeat(y, k),
                                       np.repeat(np.arange(n), k))
    ca = assoc.cochran_armitage(*zip(*[(int(y[grade == lv].sum()), int((grade == lv).sum()), s)
                                       for lv, s in assoc.RISK_SCORES.items()]))
    assert trend.design_effect == pytest.approx((k * n - 1) / (n - 1))
    assert trend.statistic ** 2 == pytest.approx(k * ca.statistic ** 2 * (n - 1) / (k * n - 1))


def test_clustered_trend_equals_cochran_armitage_when_every_child_has_one_rhi():
    grade, y, _ = clustered_data()
    scores = pd.Series(grade).map(assoc.RISK_SCORES)
    res = assoc.clustered_trend_test(scores, y, np.arange(len(y)))
    ca = assoc.cochran_armitage(*zip(*[(int(y[grade == lv].sum()), int((grade == lv).sum()), s)
                                       for lv, s in assoc.RISK_SCORES.items()]))
    assert res.design_effect == pytest.approx(1.0) and res.statistic == pytest.approx(ca.statistic)


def test_rao_scott_refuses_small_expected_counts_instead_of_an_exact_test():
    # 4 children with 2 RHIs each: expected counts are far below 5, and an exact test would assume independence.
    res = assoc.rao_scott_test(["high", "high", "low", "low", "high", "low", "high", "low"],
                               [True, True, False, False, True, False, False, False], [1, 1, 2, 2, 3, 3, 4, 4])
    assert not res.tested and "not tested" in res.reason and "independent" in res.reason


def test_association_table_adjusts_rhi_level_tests_and_names_the_bh_family():
    grade, y, child = clustered_data()
    frame = pd.DataFrame({"police_risk": grade, "a": y, "b": ~y, "child_id": child})
    table = assoc.association_table(frame, ["a", "b"], family="RHI level, police grade").set_index("outcome")
    assert (table["test"] == "Rao-Scott adjusted chi-square test").all()
    assert table.loc["a", "design_effect"] == pytest.approx(assoc.rao_scott_test(grade, y, child).design_effect)
    assert table.loc["a", "trend_test"] == "Cochran-Armitage trend test, Rao-Scott adjusted"
    assert table.loc["a", "bh_family"].startswith("RHI level, police grade: the 2 independence test(s)")
    assert table.loc["a", "trend_bh_family"].startswith("RHI level, police grade: the 2 trend test(s)")
    assert table.loc["a", "q_value_bh"] == pytest.approx(multipletests(table["p_value"], method="fdr_bh")[1][0])
    # one row per child (the child-level table): the ordinary tests, no design effect
    kids = frame.drop_duplicates("child_id")
    plain = assoc.association_table(kids, ["a"]).set_index("outcome")
    assert plain.loc["a", "test"] in ("Pearson chi-square test", "Fisher-Freeman-Halton exact test")
    assert pd.isna(plain.loc["a", "design_effect"])
    with pytest.raises(ValueError, match="no column 'child_id'"):
        assoc.association_table(frame.drop(columns="child_id"), ["a"])


# --- a proportion of clustered RHIs ------------------------------------------------------------------

def test_clustered_proportion_is_wilson_when_every_child_has_one_rhi():
    res = assoc.clustered_proportion([True] * 3 + [False] * 9, list(range(12)))
    low, high = proportion_confint(3, 12, method="wilson")
    assert res.design_effect == pytest.approx(1.0) and (res.ci_low, res.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_clustered_proportion_hand_worked():
    # Children A (1, 1), B (0, 0), C (1, 0): p = 1/2, n = 6. Influences (y - p)/n summed by child: 1/6, -1/6, 0;
    # cluster variance 3/2 (1/36 + 1/36) = 1/12; with every RHI its own cluster 6/5 x 6 x (1/12)^2 = 1/20;
    # design effect 5/3, effective size 6/(5/3) = 3.6, Wilson at 1.8 of 3.6.
    res = assoc.clustered_proportion([1, 1, 0, 0, 1, 0], ["A", "A", "B", "B", "C", "C"])
    assert res.design_effect == pytest.approx(5 / 3) and res.effective_n == pytest.approx(3.6)
    low, high = proportion_confint(1.8, 3.6, method="wilson")
    assert (res.ci_low, res.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_clustered_proportion_design_effect_matches_statsmodels_gee():
    # Intercept-only GEE (independence): robust variance of the logit x (p(1-p))^2 is the sandwich variance of p.
    _, y, child = clustered_data()
    fit = sm.GEE(y.astype(float), np.ones((len(y), 1)), groups=child, family=sm.families.Binomial(),
                 cov_struct=sm.cov_struct.Independence()).fit()
    p, n, g = y.mean(), len(y), len(np.unique(child))
    expected = fit.cov_robust[0, 0] * (p * (1 - p)) ** 2 * g / (g - 1) / (p * (1 - p) / (n - 1))
    assert assoc.clustered_proportion(y, child).design_effect == pytest.approx(expected)


def test_clustered_proportion_at_0_percent_takes_the_worst_case():
    # No event: the design effect is not estimable; every child's RHIs are taken as alike: sum m^2 / n = (9 + 1)/4.
    res = assoc.clustered_proportion([False] * 4, ["A", "A", "A", "B"])
    assert res.design_effect == pytest.approx(2.5) and "not estimable" in res.basis
    low, high = proportion_confint(0, 4 / 2.5, method="wilson")
    assert res.ci_low == pytest.approx(0, abs=1e-12) and res.ci_high == pytest.approx(100 * high)


def test_a_design_effect_below_1_is_taken_as_1():
    # Each child has one RHI with and one without the outcome in the same grade: the children's RHIs are negatively
    # correlated, the estimated design effect is below 1, and the test is not made more significant than Pearson's.
    grade = ["high"] * 24 + ["low"] * 24
    y = [True, False] * 6 + [True] * 12 + [True, False] * 12
    child = np.repeat(np.arange(24), 2)
    res = assoc.rao_scott_test(grade, y, child)
    chi2 = stats.chi2_contingency(pd.crosstab(np.array(grade), np.array(y)).to_numpy(), correction=False)[0]
    assert res.design_effect < 1 and res.statistic == pytest.approx(chi2) and "taken as 1" in res.reason
