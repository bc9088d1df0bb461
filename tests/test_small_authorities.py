"""Simulations: do the methods hold their stated error rates where authorities are small? (issue 28)

Each test draws seeded data sets under a stated model, applies one method and compares its
rejection rate (under no effect) or coverage with the nominal rate, allowing its Monte Carlo
error: 2 standard errors of the nominal rate at the number of replicates (a one-sided
bound; the seeds are fixed, so a test passes or fails the same way every time). The data
are clustered as RHIs of children are, in the two settings docs/linkage-analysis.md
("Small authorities") reports:

- ``heavy``: 1 + negative binomial (mean 7 more, dispersion 0.7) RHIs per child, so a few
  children have 20 or more; grades nearly fixed within a child (Dirichlet 0.2, 0.6, 0.4);
  outcome with a child random effect of SD 3 on the logit (intra-child correlation about 0.7).
  The plain first-order Rao-Scott test rejected 10% to 17% here at 20 to 40 children.
- ``mild``: 1 + negative binomial (mean 4 more), grades varying within children
  (Dirichlet 2, 6, 4), child effect SD 1.5.

Marked slow (about a minute in all): ``make test`` runs them, ``make test-fast`` leaves them out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.stats import association as assoc
from analysis.stats import models
from analysis.stats.firth import firth_logit, firth_profile

pytestmark = pytest.mark.slow

NOMINAL = 0.05
SETTINGS = {"heavy": (8.0, 3.0, 0.1), "mild": (5.0, 1.5, 1.0)}   # mean RHIs per child, child effect SD, grade mixing
GRADES = np.array(["high", "medium", "low"])


def allowance(replicates: int, rate: float = NOMINAL) -> float:
    """The Monte Carlo error allowed: 2 standard errors of ``rate`` at ``replicates``."""
    return 2 * (rate * (1 - rate) / replicates) ** 0.5


def rhis(rng, children: int, prevalence: float, setting: str):
    """One authority's RHIs under no association between grade and outcome: grade, outcome, child."""
    mean, sd, mixing = SETTINGS[setting]
    m = 1 + rng.negative_binomial(0.7, 0.7 / (0.7 + mean - 1), children)
    child = np.repeat(np.arange(children), m)
    share = rng.dirichlet(np.array([2.0, 6.0, 4.0]) * mixing, children)[child]
    u = rng.random(len(child))
    grade = np.where(u < share[:, 0], 0, np.where(u < share[:, 0] + share[:, 1], 1, 2))
    effect = rng.normal(0, sd, children)[child]
    y = rng.random(len(child)) < 1 / (1 + np.exp(-(np.log(prevalence / (1 - prevalence)) + effect)))
    return GRADES[grade], y, child


def rejection_rates(children: int, prevalence: float, setting: str, replicates: int, seed: int):
    """Share of tested data sets in which the Rao-Scott F test and the clustered trend test reject at 5%."""
    rng = np.random.default_rng(seed)
    tested = {"rao_scott": [], "trend": []}
    for _ in range(replicates):
        grade, y, child = rhis(rng, children, prevalence, setting)
        if not 0 < y.sum() < len(y):
            continue
        for name, res in (("rao_scott", assoc.rao_scott_test(grade, y, child)),
                          ("trend", assoc.clustered_trend_test(pd.Series(grade).map(assoc.RISK_SCORES), y, child))):
            if res.tested:
                tested[name].append(res.pvalue < NOMINAL)
    return {name: (np.mean(v), len(v)) for name, v in tested.items()}


@pytest.mark.parametrize("children", [20, 40, 100])
@pytest.mark.parametrize("setting", ["heavy", "mild"])
def test_clustered_tests_hold_five_percent_from_20_children(children, setting):
    # 600 data sets per cell, prevalence 0.3 (heavy also 0.1 at 40 children, where it was worst before); the tests are
    # made only where every grade has RHIs of five or more children (most data sets: at least 400 are required).
    for prevalence in ((0.3, 0.1) if (setting, children) == ("heavy", 40) else (0.3,)):
        rates = rejection_rates(children, prevalence, setting, 600, seed=children * 10 + int(prevalence * 10))
        for name, (rate, tested) in rates.items():
            assert tested >= 400, (name, tested)
            assert rate <= NOMINAL + allowance(tested), (name, prevalence, rate, tested)


def test_the_old_first_order_test_did_not_hold_in_the_heavy_setting():
    # The check above can fail: in the heavy setting at 20 children, Pearson's X2 over the plain (not bias-reduced)
    # design effect against chi-square, as before, rejects far above 5% on the same data sets.
    rng = np.random.default_rng(200)
    rejected = []
    for _ in range(400):
        grade, y, child = rhis(rng, 20, 0.3, "heavy")
        levels, row = np.unique(grade, return_inverse=True)
        table = np.array([[y[row == i].sum(), (~y[row == i]).sum()] for i in range(len(levels))])
        if len(levels) < 2 or (table.sum(axis=0) == 0).any():
            continue
        cells = np.zeros((len(y), 2 * len(levels)))
        cells[np.arange(len(y)), 2 * row + (~y).astype(int)] = 1
        p = cells.mean(axis=0)
        inv = np.where(p > 0, 1 / np.where(p > 0, p, 1), 0)
        k = len(levels) - 1
        contrasts = np.zeros((2 * len(levels), k))       # log odds ratios of each grade against the first
        for j in range(1, len(levels)):
            contrasts[[0, 1, 2 * j, 2 * j + 1], j - 1] = [-1, 1, 1, -1]
        w = inv[:, None] * contrasts
        v = assoc.cluster_covariance(cells, child)
        v0 = assoc.cluster_covariance(cells, np.arange(len(y)))
        deff = max(1.0, np.trace(np.linalg.solve(w.T @ v0 @ w, w.T @ v @ w)) / k)
        chi2 = stats.chi2_contingency(table, correction=False)[0]
        rejected.append(stats.chi2.sf(chi2 / deff, k) < NOMINAL)
    assert np.mean(rejected) > NOMINAL + 2 * allowance(len(rejected))


def gee_data(rng, children: int, carrying: int):
    """``children`` children with 1 + Poisson(1.5) medium or low RHIs and ``carrying`` more with 1 + Poisson(11) RHIs
    all graded high; child effect SD 1.5 on the logit, no effect of the grade."""
    m = 1 + rng.poisson(np.r_[np.full(children, 1.5), np.full(carrying, 11.0)])
    child = np.repeat(np.arange(children + carrying), m)
    grade = np.where(child >= children, "high", np.where(rng.random(len(child)) < 0.5, "medium", "low"))
    effect = rng.normal(0, 1.5, children + carrying)[child]
    y = rng.random(len(child)) < 1 / (1 + np.exp(0.8 - effect))
    return pd.DataFrame({"child_id": child, "police_risk": grade, "y": y})


@pytest.mark.parametrize("children", [20, 40, 100])
def test_gee_grade_test_holds_five_percent_with_five_children_carrying_it(children):
    # The smallest number of children the models accept for a grade (MIN_CHILDREN = 5), each with about 12 RHIs:
    # the Wald test of the high grade, referred to Student's t on the effective number of children, rejects at most
    # 5% plus its Monte Carlo error (400 data sets; separated ones go to Firth and are left out). With the normal
    # reference it rejected 6.6% to 7.9% in such data.
    assert models.MIN_CHILDREN == 5
    rng = np.random.default_rng(children)
    rejected = []
    for _ in range(400):
        frame = gee_data(rng, children, 5)
        res = models.fit_outcome_model(frame, "y", ["police_risk"], {"police_risk": "medium"})
        if res.status != "ok":
            continue
        rejected.append(res.table.set_index("term").loc["police_risk=high", "p_value"] < NOMINAL)
    assert len(rejected) >= 360
    assert np.mean(rejected) <= NOMINAL + allowance(len(rejected))


def test_one_child_carrying_a_grade_made_the_old_test_reject_far_too_often():
    # Why there is a minimum: with one child carrying the high grade (about 12 RHIs) beside 40 others, the Wald test
    # as it was (bias-reduced GEE, normal reference) rejects far above 5% (300 data sets); the models now give no
    # estimate below five children (docs/linkage-analysis.md has the rates for one to eight).
    from analysis.stats.gee import gee_logit_exchangeable

    rng = np.random.default_rng(1)
    rejected = []
    for _ in range(300):
        frame = gee_data(rng, 40, 1)
        high = (frame["police_risk"] == "high").to_numpy()
        if frame.loc[high, "y"].nunique() < 2:
            continue
        X = np.column_stack([np.ones(len(frame)), high, frame["police_risk"] == "low"]).astype(float)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = gee_logit_exchangeable(frame["y"].to_numpy(float), X, frame["child_id"].to_numpy(), maxiter=100)
        except np.linalg.LinAlgError:      # the one child's I - H_i singular: the old models went to Firth
            continue
        rejected.append(2 * stats.norm.sf(abs(fit.params[1] / fit.bse[1])) < NOMINAL)
    assert np.mean(rejected) > NOMINAL + 3 * allowance(len(rejected))
    frame = gee_data(np.random.default_rng(5), 40, 1)
    res = models.fit_outcome_model(frame, "y", ["police_risk"], {"police_risk": "medium"})
    assert np.isnan(res.table.set_index("term").loc["police_risk=high", "p_value"])


def population_share(prevalence: float, sd: float) -> float:
    """E[expit(logit(prevalence) + sd Z)]: the share of RHIs with the outcome in the population of children."""
    from scipy import integrate

    shift = np.log(prevalence / (1 - prevalence))
    return integrate.quad(lambda z: stats.norm.pdf(z) / (1 + np.exp(-(shift + sd * z))), -12, 12)[0]


@pytest.mark.parametrize("children", [10, 20])
def test_korn_graubard_coverage_with_10_and_20_children(children):
    # RHI-level proportions of 10 or 20 children (1 + negative binomial RHIs, mean 3; each child's own probability,
    # logit(0.3) + N(0, 1.5^2), strongly clustered). Korn and Graubard's interval is not exact either: over 2,000
    # data sets it covered 0.955 (10 children) and 0.938 (20); required here: at least 0.93 less its Monte Carlo
    # error, and more often than the Wilson interval at n/d used before (0.902 and 0.911), which fails that bound.
    truth = population_share(0.3, 1.5)
    rng = np.random.default_rng(children * 100 + 30)
    kg, wilson = [], []
    for _ in range(2000):
        m = 1 + rng.negative_binomial(0.7, 0.7 / 2.7, children)
        child = np.repeat(np.arange(children), m)
        prob = 1 / (1 + np.exp(-(np.log(0.3 / 0.7) + rng.normal(0, 1.5, children))))
        y = rng.random(len(child)) < prob[child]
        res = assoc.clustered_proportion(y, child)
        kg.append(res.ci_low / 100 <= truth <= res.ci_high / 100)
        low, high = wilson_at(y.mean(), len(y) / res.design_effect)
        wilson.append(low <= truth <= high)
    assert np.mean(kg) >= 0.93 - allowance(2000, 0.93)
    assert np.mean(wilson) < 0.93 - allowance(2000, 0.93) < np.mean(kg)


def wilson_at(p, n):
    from statsmodels.stats.proportion import proportion_confint

    return proportion_confint(p * n, n, method="wilson")


def test_firth_profile_intervals_cover_95_percent_for_independent_rhis():
    # Firth's profile interval assumes independent RHIs (one per child): 40 RHIs, a rare high grade (15%), true log
    # odds ratio 1 for high against medium; coverage at least 95% less its Monte Carlo error (300 data sets, those
    # without a high-graded RHI left out as the models would have no high term).
    rng = np.random.default_rng(40)
    beta = np.array([-1.0, 1.0, 0.5])
    covered = []
    for _ in range(300):
        grade = rng.choice(3, 40, p=[0.15, 0.5, 0.35])
        X = np.column_stack([np.ones(40), grade == 0, grade == 2]).astype(float)
        y = (rng.random(40) < 1 / (1 + np.exp(-X @ beta))).astype(float)
        if not (grade == 0).any() or y.min() == y.max():
            continue
        fit = firth_logit(X, y)
        assert fit.converged
        prof = firth_profile(X, y, fit, terms=[1])
        covered.append(prof.ci_low[1] <= beta[1] <= prof.ci_high[1])
    assert np.mean(covered) >= 0.95 - allowance(len(covered), 0.95)
