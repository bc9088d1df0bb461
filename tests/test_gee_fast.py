"""The vectorised logistic GEE (analysis.stats.gee) against statsmodels itself, the reference.

Each dataset is fitted by both, warnings treated as errors (as ``models._gee`` does): the same
datasets must fail with the same kind of exception, and where both fit, the parameters, the
bias-reduced standard errors and the exchangeable correlation must agree to 1e-8 relative.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.stats import models
from analysis.stats.gee import gee_logit_exchangeable

RTOL = 1e-8


def make_case(seed: int, n_clusters: int | None = None, n_cov: int | None = None, base: float | None = None,
              sd: float | None = None, max_size: int | None = None):
    """A clustered binary dataset: cluster sizes 1 to 15 (a few up to 40), 1 to 12 dummy columns
    (cluster-level and row-level categorical covariates), rare to common outcomes, and a random
    cluster effect from none to strong (strong: many clusters all 0 or all 1). Rows in random order."""
    rng = np.random.default_rng(seed)
    n_clusters = n_clusters or int(rng.choice([40, 120, 300, 800, 2000]))
    n_cov = n_cov or int(rng.integers(1, 13))
    base = rng.choice([-4.0, -2.5, -1.0, 0.0, 1.5]) if base is None else base
    sd = rng.choice([0.0, 0.5, 1.5, 3.0]) if sd is None else sd
    max_size = max_size or int(rng.choice([1, 3, 6, 15]))
    sizes = rng.integers(1, max_size + 1, n_clusters)
    if max_size > 1:
        big = rng.random(n_clusters) < 0.02
        sizes[big] = rng.integers(16, 41, big.sum())
    cluster = np.repeat(np.arange(n_clusters), sizes)
    n = len(cluster)
    cols, names = [np.ones(n)], ["Intercept"]
    v = 0
    while len(cols) < n_cov + 1:
        levels = int(rng.integers(2, 6))
        if rng.random() < 0.5:   # cluster-level (like sex, cohort) or row-level (like episode band)
            z = rng.integers(0, levels, n_clusters)[cluster]
        else:
            z = rng.integers(0, levels, n)
        for lev in range(1, levels):
            if len(cols) < n_cov + 1 and (z == lev).any():
                cols.append((z == lev).astype(float))
                names.append(f"v{v}={lev}")
        v += 1
    X = np.column_stack(cols)
    while np.linalg.matrix_rank(X) < X.shape[1]:
        X = X[:, :-1]
    beta = rng.normal(0, 0.7, X.shape[1])
    beta[0] = base
    u = rng.normal(0, 1, n_clusters)[cluster] * sd
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta + u)))).astype(float)
    perm = rng.permutation(n)
    labels = rng.permutation(n_clusters) * 7 + 3     # arbitrary labels, unsorted rows
    return y[perm], X[perm], labels[cluster[perm]]


def reference(y, X, groups, maxiter=100):
    """statsmodels, exactly as models._gee called it before the vectorised version."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = sm.GEE(y, X, groups=groups, family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable())
        fit = model.fit(maxiter=maxiter, cov_type="bias_reduced")
    return np.asarray(fit.params), np.asarray(fit.bse), float(fit.cov_struct.dep_params), fit.converged


def fast(y, X, groups, maxiter=100):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = gee_logit_exchangeable(y, X, groups, maxiter=maxiter)
    return fit.params, fit.bse, fit.dep_param, fit.converged


def outcome(fn, *args, **kw):
    try:
        return None, fn(*args, **kw)
    except Exception as err:  # noqa: BLE001 - the kind of failure is what is compared
        return type(err), str(err).splitlines()[0] if str(err) else ""


def relative(a, b):
    """Largest |a - b| / |a|; a value below 1e-6 in magnitude (a coefficient that is zero in truth, rho = 0)
    is compared with 1e-6 instead: rounding leaves differences of about 1e-16 there."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-6)))


def finite(fn):
    """models._gee's view of a fit: non-finite estimates or standard errors are a failure (ValueError)."""
    def fit(*args, **kw):
        res = fn(*args, **kw)
        if not (np.isfinite(res[0]).all() and np.isfinite(res[1]).all()):
            raise ValueError("non-finite estimates")
        return res
    return fit


def separated(y, X) -> bool:
    """models.fit_outcome_model never gives GEE separated data (Firth, or the rows left out)."""
    return models.detect_separation(X, y) is not None


def compare(y, X, groups, maxiter=100):
    """Both fits; the same failure, or agreement. Returns the relative differences (or None: both failed)."""
    err_ref, ref = outcome(finite(reference), y, X, groups, maxiter)
    err_new, new = outcome(finite(fast), y, X, groups, maxiter)
    assert err_ref == err_new, (err_ref, ref, err_new, new)
    if err_ref is not None:
        assert ref == new
        return None
    d = relative(ref[0], new[0]), relative(ref[1], new[1]), relative(ref[2], new[2])
    assert ref[3] == new[3]
    assert max(d) <= RTOL, d
    return d


def test_agrees_with_statsmodels_on_random_datasets():
    """30 random datasets (cluster sizes, covariates and outcome rates vary with the seed); those with one
    outcome only or separated are left out, as models never fits GEE to them (most are kept: asserted)."""
    fitted = 0
    for seed in range(30):
        y, X, groups = make_case(seed)
        if y.min() == y.max() or separated(y, X):
            continue
        compare(y, X, groups)
        fitted += 1
    assert fitted >= 20


def test_rare_common_outcomes_and_all_0_or_all_1_clusters():
    fitted = 0
    for base in (-5.0, -3.0, 0.0, 2.5):
        for sd in (0.0, 2.0, 4.0):
            y, X, groups = make_case(1000 + int(10 * base + sd), n_clusters=500, n_cov=6, base=base, sd=sd, max_size=8)
            if y.min() == y.max() or separated(y, X):
                continue
            compare(y, X, groups)
            fitted += 1
    assert fitted >= 8


def test_every_cluster_a_single_row():
    # statsmodels never updates the correlation then (a GLM); rho stays 0
    y, X, groups = make_case(5, n_clusters=700, n_cov=5, max_size=1)
    assert len(np.unique(groups)) == len(y)
    compare(y, X, groups)
    assert fast(y, X, groups)[2] == 0.0


def test_large_input():
    # about 30,000 rows in 15,000 children, 12 columns (the national speed is measured by make bench)
    y, X, groups = make_case(2024, n_clusters=15_000, n_cov=11, base=-1.0, sd=1.0, max_size=3)
    assert len(y) > 25_000 and X.shape[1] == 12
    compare(y, X, groups)


def test_iteration_limit_warns_as_statsmodels():
    y, X, groups = make_case(11, n_clusters=300, n_cov=6, base=-1.0, sd=1.5, max_size=6)
    for maxiter in (1, 2, 3):
        compare(y, X, groups, maxiter=maxiter)      # 1: the start's score is already < ctol: no warning
    from statsmodels.tools.sm_exceptions import IterationLimitWarning
    with pytest.warns(IterationLimitWarning):
        gee_logit_exchangeable(y, X, groups, maxiter=2)


def test_complete_separation_fails_as_statsmodels():
    # complete separation: the starting logistic fit drives X beta past exp's range, and numpy warns
    # (models sends such data to Firth before GEE; here the failure itself is compared)
    rng = np.random.default_rng(3)
    x = rng.normal(size=200)
    X = np.column_stack([np.ones(200), x])
    y = (x > 0).astype(float)
    groups = rng.integers(0, 80, 200)
    assert compare(y, X, groups) is None
    assert outcome(fast, y, X, groups)[0] is RuntimeWarning


def test_as_many_pairs_as_columns_fails_as_statsmodels():
    # statsmodels divides by (pairs - columns) when estimating rho: zero -> division by zero
    rng = np.random.default_rng(4)
    groups = np.r_[np.arange(60), [100, 100, 101, 101, 102, 102]]
    X = np.column_stack([np.ones(66), rng.integers(0, 2, 66), rng.integers(0, 2, 66)]).astype(float)
    y = (rng.random(66) < 0.4).astype(float)
    assert compare(y, X, groups) is None
    assert outcome(fast, y, X, groups) == (RuntimeWarning, "divide by zero encountered in scalar divide")


def test_agreement_summary_over_many_datasets():
    """Largest relative differences over 20 further datasets (separated ones skipped) (all within RTOL; printed with -s)."""
    worst = np.zeros(3)
    fitted = failed = 0
    for seed in range(500, 520):
        y, X, groups = make_case(seed)
        if y.min() == y.max() or separated(y, X):
            continue
        d = compare(y, X, groups)
        if d is None:
            failed += 1
        else:
            fitted += 1
            worst = np.maximum(worst, d)
    print(f"\n{fitted} fitted, {failed} failed in both; max relative difference params {worst[0]:.1e}, "
          f"bse {worst[1]:.1e}, rho {worst[2]:.1e}")
    assert fitted >= 14


def test_models_gee_uses_the_vectorised_fit_and_matches_statsmodels():
    # fit_outcome_model's GEE table equals the one statsmodels' GEE gives on the same rows
    rng = np.random.default_rng(8)
    n = 900
    child = rng.integers(0, 400, n)
    data = pd.DataFrame({
        "child_id": [f"c{c}" for c in child],
        "police_risk": rng.choice(["low", "medium", "high"], n),
        "sex": np.array(["F", "M"])[child % 2],
        "age_band": rng.choice(["11-13", "14-16", "17"], n),
    })
    lin = -1 + 0.8 * (data.police_risk == "high") + 0.3 * (data.sex == "M") + rng.normal(0, 1, 400)[child]
    data["harm"] = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    res = models.fit_outcome_model(data, "harm", ["police_risk", "sex", "age_band"],
                                   references={"police_risk": "medium"})
    assert res.status == "ok" and res.method.startswith("GEE")
    X, _ = models.design_matrix(data, ["police_risk", "sex", "age_band"], {"police_risk": "medium"})
    codes = pd.factorize(data.child_id)[0]
    order = np.argsort(codes, kind="stable")
    params, bse, _, _ = reference(data.harm.to_numpy(float)[order], X.to_numpy()[order], codes[order])
    table = res.table.set_index("term")
    for j, name in enumerate(X.columns):
        if name == "Intercept":
            continue
        assert table.loc[name, "log_odds"] == pytest.approx(params[j], rel=RTOL)
        assert table.loc[name, "se"] == pytest.approx(bse[j], rel=RTOL)
