"""Tests of association: exact and chi-square choice, Rao-Scott for clustered RHIs, Cochran-Armitage trend,
Benjamini-Hochberg, and intervals for clustered proportions."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

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


def hand_contributions(grade, y, child, levels):
    """Each child's Mancl-DeRouen term of the group proportions, child by child with explicit matrices.

    Logistic GEE with one parameter per group, independence: B = X'WX, H_i = W_i X_i B^-1 X_i',
    r_i* = (I - H_i)^-1 (y_i - p_i), the child's score X_i' r_i*, on the proportion scale B^-1 X_i' r_i* x p(1-p).
    """
    X = np.column_stack([grade == lv for lv in levels]).astype(float)
    p = np.array([y[grade == lv].mean() for lv in levels])
    mu = X @ p
    w = mu * (1 - mu)
    B = X.T @ (w[:, None] * X)
    out = []
    for c in np.unique(child):
        i = child == c
        H = w[i][:, None] * (X[i] @ np.linalg.solve(B, X[i].T))
        r = np.linalg.solve(np.eye(i.sum()) - H, y[i] - mu[i])
        out.append(np.linalg.solve(B, X[i].T @ r) * p * (1 - p))
    return np.array(out)


def test_group_variance_is_the_bias_reduced_sandwich_of_statsmodels_gee():
    # Independent references: statsmodels' GEE (one parameter per grade, independence, cov_type="bias_reduced"),
    # moved to the proportion scale, and the Mancl-DeRouen terms computed child by child with explicit matrices.
    grade, y, child = clustered_data()
    levels = ["high", "medium", "low"]
    codes = np.array([levels.index(g) for g in grade])
    child_codes = np.unique(child, return_inverse=True)[1]
    gv = assoc.group_variance(codes, y, child_codes, 3)
    X = np.column_stack([grade == lv for lv in levels]).astype(float)
    fit = sm.GEE(y.astype(float), X, groups=child, family=sm.families.Binomial(),
                 cov_struct=sm.cov_struct.Independence()).fit(cov_type="bias_reduced")
    p = np.array([y[grade == lv].mean() for lv in levels])
    q = p * (1 - p)
    assert gv.contributions.T @ gv.contributions == pytest.approx(fit.cov_robust_bc * np.outer(q, q), rel=1e-8)
    assert gv.contributions == pytest.approx(hand_contributions(grade, y.astype(float), child, levels), rel=1e-8)
    pooled = y.mean()
    assert gv.srs == pytest.approx(pooled * (1 - pooled) / (np.bincount(codes) - 1))


def test_rao_scott_f_test_by_hand():
    # X2 / tr(Delta) against F(d, d nu): Delta from the hand-computed terms, d = tr^2 / tr(Delta^2),
    # nu = min(children - 1, (k+2)/k (sum a)^2 / sum a^2), a_i each child's share of tr(Delta).
    grade, y, child = clustered_data()
    levels = list(dict.fromkeys(grade))
    c = hand_contributions(grade, y.astype(float), child, levels)
    n_g = np.array([(grade == lv).sum() for lv in levels])
    S = np.diag(y.mean() * (1 - y.mean()) / (n_g - 1))
    L = np.array([[-1.0, 1, 0], [-1, 0, 1]])
    A = L @ S @ L.T
    delta = np.linalg.solve(A, L @ c.T @ c @ L.T)
    a = np.array([ci @ L.T @ np.linalg.solve(A, L @ ci) for ci in c])
    assert a.sum() == pytest.approx(np.trace(delta))
    nu = min(len(np.unique(child)) - 1, 2 * a.sum() ** 2 / (a ** 2).sum())
    d = np.trace(delta) ** 2 / np.trace(delta @ delta)
    chi2 = stats.chi2_contingency(pd.crosstab(grade, y).to_numpy(), correction=False)[0]
    res = assoc.rao_scott_test(grade, y, child)
    assert res.method == "Rao-Scott F test" and res.df == 2
    assert res.statistic == pytest.approx(chi2 / np.trace(delta))
    assert res.pvalue == pytest.approx(stats.f.sf(chi2 / np.trace(delta), d, d * nu))
    assert res.design_effect == pytest.approx(np.trace(delta) / 2) and res.design_effect > 1.05


def test_rao_scott_when_each_childs_rhis_are_copies():
    # Hand-derived: k copies of each RHI of n children of one RHI. Each child's term in its grade is k e/(k n_g - k),
    # the same as with one RHI, so the covariance is unchanged; Pearson's X2 is k times as large and the design
    # effects about k times (S shrinks from pq/(n_g - 1) to pq/(k n_g - 1)): the F statistic stays within rounding
    # of the one-RHI F and the degrees of freedom are the same. Copying RHIs cannot make a result.
    grade, y, _ = clustered_data(seed=5, n=120)
    n, k = len(y), 3
    one = assoc.rao_scott_test(grade, y, np.arange(n))
    copies = assoc.rao_scott_test(np.repeat(grade, k), np.repeat(y, k), np.repeat(np.arange(n), k))
    assert copies.statistic == pytest.approx(one.statistic, rel=0.03)
    assert copies.pvalue == pytest.approx(one.pvalue, rel=0.1)
    assert copies.design_effect == pytest.approx(k * one.design_effect, rel=0.03)
    scores = pd.Series(grade).map(assoc.RISK_SCORES)
    t1 = assoc.clustered_trend_test(scores, y, np.arange(n))
    tk = assoc.clustered_trend_test(np.repeat(scores, k), np.repeat(y, k), np.repeat(np.arange(n), k))
    assert tk.statistic == pytest.approx(t1.statistic, rel=0.03)


def test_clustered_trend_test_by_hand():
    # T = w'p with w_g = n_g (s_g - s_bar); d = sum_i (w'c_i)^2 / w'Sw; t = z_CA / sqrt(max(d, 1)) on
    # nu = min(children - 1, 3 (sum a)^2 / sum a^2) degrees of freedom, a_i = (w'c_i)^2.
    grade, y, child = clustered_data()
    levels = ["high", "medium", "low"]
    c = hand_contributions(grade, y.astype(float), child, levels)
    n_g = np.array([(grade == lv).sum() for lv in levels])
    s = np.array([assoc.RISK_SCORES[lv] for lv in levels], dtype=float)
    w = n_g * (s - (n_g * s).sum() / n_g.sum())
    a = (c @ w) ** 2
    d = a.sum() / (w ** 2 @ (y.mean() * (1 - y.mean()) / (n_g - 1)))
    nu = min(len(np.unique(child)) - 1, 3 * a.sum() ** 2 / (a ** 2).sum())
    ca = assoc.cochran_armitage([y[grade == lv].sum() for lv in levels], n_g, s)
    res = assoc.clustered_trend_test(pd.Series(grade).map(assoc.RISK_SCORES), y, child)
    assert res.design_effect == pytest.approx(d)
    assert res.statistic == pytest.approx(ca.statistic / math.sqrt(max(d, 1)))
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(res.statistic), nu))
    assert res.method == "Cochran-Armitage trend test, Rao-Scott adjusted (t)"


def test_clustered_tests_need_five_children_in_every_group_not_a_design_effect():
    # 4 children with 2 RHIs each: not tested, and the reason is the number of children, not expected counts.
    res = assoc.rao_scott_test(["high", "high", "low", "low", "high", "low", "high", "low"],
                               [True, True, False, False, True, False, False, False], [1, 1, 2, 2, 3, 3, 4, 4])
    assert not res.tested and "at least 5 children" not in res.reason and "at least 5 clusters" in res.reason
    # One child with 12 high-graded RHIs beside 60 children: high comes from one child, not tested (either test)
    rng = np.random.default_rng(2)
    grade = np.r_[["high"] * 12, rng.choice(["medium", "low"], 150)]
    child = np.r_[[0] * 12, rng.integers(1, 61, 150)]
    y = np.r_[[True] * 9 + [False] * 3, rng.random(150) < 0.3]
    for res in (assoc.rao_scott_test(grade, y, child, ("RHIs", "children", "child")),
                assoc.clustered_trend_test(pd.Series(grade).map(assoc.RISK_SCORES), y, child,
                                           ("RHIs", "children", "child"))):
        assert not res.tested and "at least 5 children" in res.reason and res.pvalue is None
    # five children carrying it: tested
    child[:12] = [-(i % 5) - 1 for i in range(12)]
    assert assoc.rao_scott_test(grade, y, child).tested


def test_association_table_adjusts_rhi_level_tests_and_names_the_bh_family():
    grade, y, child = clustered_data()
    frame = pd.DataFrame({"police_risk": grade, "a": y, "b": ~y, "child_id": child})
    table = assoc.association_table(frame, ["a", "b"], family="RHI level, police grade").set_index("outcome")
    assert (table["test"] == "Rao-Scott F test").all()
    assert table.loc["a", "design_effect"] == pytest.approx(assoc.rao_scott_test(grade, y, child).design_effect)
    assert table.loc["a", "trend_test"] == "Cochran-Armitage trend test, Rao-Scott adjusted (t)"
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


# --- a proportion of clustered RHIs: Korn and Graubard (1998) --------------------------------------------------

def test_clustered_proportion_is_clopper_pearson_when_every_child_has_one_rhi():
    res = assoc.clustered_proportion([True] * 3 + [False] * 9, list(range(12)))
    low, high = proportion_confint(3, 12, method="beta")
    assert res.design_effect == pytest.approx(1.0) and res.effective_n == pytest.approx(12)
    assert (res.ci_low, res.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))


def test_clustered_proportion_hand_worked():
    # Children A (1, 1), B (0, 0), C (1, 0): p = 1/2, n = 6. Influences (y - p)/n summed by child: 1/6, -1/6, 0;
    # cluster variance 3/2 (1/36 + 1/36) = 1/12; with every RHI its own cluster 6/5 x 6 x (1/12)^2 = 1/20;
    # design effect 5/3, effective size 6/(5/3) = 3.6; degrees-of-freedom correction (t_5 / t_2)^2 at 0.025
    # (n - 1 = 5, children - 1 = 2); Clopper-Pearson at x* = n*/2 of n*.
    res = assoc.clustered_proportion([1, 1, 0, 0, 1, 0], ["A", "A", "B", "B", "C", "C"])
    assert res.design_effect == pytest.approx(5 / 3)
    n_star = 3.6 * (stats.t.ppf(0.025, 5) / stats.t.ppf(0.025, 2)) ** 2
    assert res.effective_n == pytest.approx(n_star) and n_star < 3.6 / 2
    x = n_star / 2
    assert res.ci_low == pytest.approx(100 * stats.beta.ppf(0.025, x, n_star - x + 1))
    assert res.ci_high == pytest.approx(100 * stats.beta.ppf(0.975, x + 1, n_star - x))


KG_DATA = pd.read_csv(Path(__file__).parent / "fixtures" / "korn_graubard_data.csv", comment="#")
KG_SURVEY = pd.read_csv(Path(__file__).parent / "fixtures" / "korn_graubard_survey.csv", comment="#")


@pytest.mark.parametrize("name", list(KG_SURVEY["dataset"]))
def test_korn_graubard_equals_r_survey_svyciprop_beta(name):
    # tests/fixtures/korn_graubard_survey.R: R survey's svyciprop(method = "beta"), children as clusters. Its n* is
    # p(1-p)/v, (n - 1)/n of ours (n/d, d = 1 with one RHI per child); given the same n*, the intervals agree exactly,
    # and our n* is svyciprop's times n/(n - 1) (where the design effect is above 1; it is floored at 1 here).
    ref = KG_SURVEY.set_index("dataset").loc[name]
    data = KG_DATA[KG_DATA["dataset"] == name]
    res = assoc.clustered_proportion(data["y"].astype(bool), data["child"])
    n, g = int(ref["n"]), int(ref["clusters"])
    correction = (stats.t.ppf(0.025, n - 1) / stats.t.ppf(0.025, g - 1)) ** 2
    assert assoc.korn_graubard(ref["p"], ref["n_eff"] * correction) == (
        pytest.approx(ref["ci_low"], abs=1e-12), pytest.approx(ref["ci_high"], abs=1e-12))
    if res.design_effect > 1:
        assert res.effective_n == pytest.approx(ref["n_eff"] * n / (n - 1) * correction, rel=1e-10)
    else:
        assert res.effective_n == pytest.approx(n * correction)


def test_clustered_proportion_at_0_percent_takes_the_worst_case():
    # No event: the design effect is not estimable; every child's RHIs are taken as alike: sum m^2 / n = (9 + 1)/4.
    res = assoc.clustered_proportion([False] * 4, ["A", "A", "A", "B"])
    assert res.design_effect == pytest.approx(2.5) and "not estimable" in res.basis
    n_star = 4 / 2.5 * (stats.t.ppf(0.025, 3) / stats.t.ppf(0.025, 1)) ** 2
    assert res.ci_low == 0 and res.ci_high == pytest.approx(100 * stats.beta.ppf(0.975, 1, n_star))


def test_a_design_effect_below_1_is_taken_as_1():
    # Each child has one RHI with and one without the outcome in the same grade: the children's RHIs are negatively
    # correlated, the estimated design effect is below 1, and the test is not made more significant than Pearson's.
    grade = ["high"] * 24 + ["low"] * 24
    y = [True, False] * 6 + [True] * 12 + [True, False] * 12
    child = np.repeat(np.arange(24), 2)
    res = assoc.rao_scott_test(grade, y, child)
    chi2, p = stats.chi2_contingency(pd.crosstab(np.array(grade), np.array(y)).to_numpy(), correction=False)[:2]
    assert res.design_effect < 1 and res.statistic == pytest.approx(chi2) and "taken as 1" in res.reason
    assert res.pvalue >= p
