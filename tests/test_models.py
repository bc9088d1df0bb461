"""Models: Firth's penalised regression, separation checks, GEE fit and the status of each result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import optimize

from analysis import models, narrative


def test_firth_single_binary_covariate_equals_haldane_correction():
    # With an intercept and one binary covariate Firth's estimate equals the log odds ratio with 1/2 added to
    # every cell. Cells: exposed 10 events, 0 non-events (separated); unexposed 5 events, 15 non-events.
    X = np.column_stack([np.ones(30), np.r_[np.ones(10), np.zeros(20)]])
    y = np.r_[np.ones(10), np.ones(5), np.zeros(15)]
    fit = models.firth_logit(X, y)
    assert fit.converged
    assert fit.params[1] == pytest.approx(np.log((10.5 / 0.5) / (5.5 / 15.5)), rel=1e-6)
    assert fit.params[0] == pytest.approx(np.log(5.5 / 15.5), rel=1e-6)


def test_firth_maximises_the_penalised_likelihood():
    rng = np.random.default_rng(7)
    X = np.column_stack([np.ones(60), rng.normal(size=60), rng.integers(0, 2, 60)])
    y = (rng.random(60) < 0.35).astype(float)

    def negative(beta):
        eta = X @ beta
        p = 1 / (1 + np.exp(-eta))
        info = X.T @ ((p * (1 - p))[:, None] * X)
        return -(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(info)[1])

    direct = optimize.minimize(negative, np.zeros(3), method="BFGS", options={"gtol": 1e-10})
    fit = models.firth_logit(X, y)
    assert fit.params == pytest.approx(direct.x, abs=1e-5)
    # Firth shrinks towards 0 compared with maximum likelihood
    ml = sm.Logit(y, X).fit(disp=0).params
    assert np.all(np.abs(fit.params[1:]) <= np.abs(ml[1:]) + 1e-9)


def test_separation_detected_by_linear_programme():
    X = np.column_stack([np.ones(8), [1, 2, 3, 4, 5, 6, 7, 8]])
    assert models.detect_separation(X, [0, 0, 0, 0, 1, 1, 1, 1]) is not None        # complete
    assert models.detect_separation(X, [0, 0, 0, 1, 0, 1, 0, 1]) is None             # overlap
    Xq = np.column_stack([np.ones(8), [0, 0, 0, 0, 1, 1, 1, 1]])
    assert models.detect_separation(Xq, [0, 1, 0, 1, 1, 1, 1, 1]) is not None       # quasi-complete


def clustered_data(seed=3, n=300, separated=False):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"child_id": rng.integers(0, 120, n).astype(str),
                         "police_risk": rng.choice(["high", "medium", "low"], n, p=[0.2, 0.5, 0.3]),
                         "sex": rng.choice(["female", "male"], n)})
    p = np.where(data["police_risk"] == "high", 0.45, 0.25)
    data["y"] = rng.random(n) < p
    if separated:
        data.loc[data["police_risk"] == "low", "y"] = False
    return data


def test_gee_when_checks_pass_matches_statsmodels_directly():
    data = clustered_data()
    res = models.fit_outcome_model(data, "y", ["police_risk", "sex"], {"police_risk": "medium"})
    assert res.status == "ok" and res.method.startswith("GEE")
    direct = smf.gee("y ~ C(police_risk, Treatment('medium')) + C(sex, Treatment('male'))", "child_id",
                     data.assign(y=data["y"].astype(float)).sort_values("child_id", kind="stable"),
                     family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()).fit()
    table = res.table.set_index("term")
    name = "C(police_risk, Treatment('medium'))[T.high]"
    assert table.loc["police_risk=high", "odds_ratio"] == pytest.approx(np.exp(direct.params[name]), rel=1e-4)
    assert table.loc["police_risk=high", "ci_low"] == pytest.approx(np.exp(direct.conf_int().loc[name, 0]), rel=1e-3)
    assert "police_risk=medium" not in table.index                       # medium is the reference


def test_perfect_separation_falls_back_to_firth_and_says_so():
    data = clustered_data(separated=True)
    res = models.fit_outcome_model(data, "y", ["police_risk", "sex"], {"police_risk": "medium"})
    assert res.status.startswith("firth: separation in police_risk=low")
    assert "Firth" in res.method and "robust errors within child are not available" in res.method
    low = res.table.set_index("term").loc["police_risk=low"]
    assert np.isfinite(low["odds_ratio"]) and "not a finding" in low["note"]
    text = narrative.describe_model(res)
    assert "firth: separation" in text and "low vs reference: not reported as a finding" in text


def test_not_estimable_and_sparse_warnings():
    data = clustered_data()
    none = models.fit_outcome_model(data.assign(y=False), "y", ["police_risk"], {})
    assert none.status == "not estimable: no RHI recorded this harm" and none.table.empty
    assert "No odds ratios are reported" in narrative.describe_model(none)
    small = clustered_data(n=40, seed=11)
    res = models.fit_outcome_model(small, "y", ["police_risk", "sex"], {"police_risk": "medium"})
    assert any("events per parameter" in w for w in res.warnings)
    one_level = models.fit_outcome_model(data.assign(sex="female"), "y", ["police_risk", "sex"], {})
    assert "sex left out: only one level in these data" in one_level.warnings


def test_reference_falls_back_to_most_common_level():
    data = clustered_data()
    data = data[data["police_risk"] != "medium"]
    res = models.fit_outcome_model(data, "y", ["police_risk"], {"police_risk": "medium"})
    assert list(res.table["term"]) == ["police_risk=high"]               # low (more common) is the reference


def test_odds_ratio_table_and_forest_plot():
    import matplotlib
    matplotlib.use("Agg")
    data = clustered_data()
    results = [models.fit_outcome_model(data, "y", ["police_risk"], {"police_risk": "medium"}),
               models.fit_outcome_model(data.assign(z=False), "z", ["police_risk"], {})]
    table = models.odds_ratio_table(results)
    assert set(table["status"]) == {"ok", "not estimable: no RHI recorded this harm"}
    fig = models.plot_forest(results)
    assert len(fig.axes) == 2


def test_sparse_ordered_level_merged_with_neighbour_and_said():
    data = clustered_data()
    data["band"] = np.where(np.arange(len(data)) < 150, "1", "2-4")
    data.loc[data.index[-1], "band"] = "15+"                     # one RHI alone in 15+
    merged, notes = models.collapse_sparse_levels(data, "y", "band", ("1", "2-4", "5-14", "15+"))
    assert set(merged["band"]) == {"1", "2-4|15+"} and "15+ had fewer than 10 RHIs" in notes[0]
    res = models.fit_outcome_model(data, "y", ["police_risk", "band"], {"police_risk": "medium"},
                                   ordered={"band": ("1", "2-4", "5-14", "15+")})
    assert res.status == "ok" and any("merged" in w for w in res.warnings)
    assert res.references["police_risk"] == "medium" and res.references["band"] in {"1", "2-4|15+"}
