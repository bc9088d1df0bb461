"""Logistic models of disclosed harm on police risk grade, with checks before fitting (issues 5 and 17).

Definitions used:

- model: one row per in-scope RHI; outcome = the harm disclosed at that RHI;
  categorical covariates (police risk, the exposure; cohort, age band, sex, episode
  band, the adjustment covariates), each coded against a reference level (police
  risk: medium if present; episode band: first episode if present; otherwise the
  most common level). A covariate with a single level is left out, and the result says so.
- adjustment levels are merged by a rule fixed before the outcome is read
  (``collapse_sparse_levels``): a level with fewer than ``MIN_LEVEL`` (10) RHIs, or
  RHIs of fewer than ``MIN_CHILDREN`` (5) children, joins its neighbour (ordered
  covariates) or a pooled level, itself joined to the most common level if still
  sparse (nominal covariates). Police risk is never merged.
- preferred fit: GEE (statsmodels; Liang and Zeger 1986), binomial family, logit link,
  exchangeable working correlation within child, bias-reduced sandwich covariance
  (Mancl and DeRouen 2001; always, whatever the number of children), Wald intervals
  and tests referred to Student's t on the term's effective number of children
  (``association.effective_clusters`` of the children's terms of the sandwich, at most
  children - 1; ``df`` column), so that several RHIs of one child are not treated as
  independent and few children do not make the test too liberal.
- a police grade carried by fewer than ``MIN_CHILDREN`` children, or compared with a
  reference that is, gets no odds ratio, interval or p-value, whatever the fit (GEE or
  Firth), and its ``note`` says why (``_few_children``; issue 28).
- multiplicity: ``odds_ratio_table`` adds Benjamini-Hochberg q-values over the police
  grade terms of every outcome's model (``q_value_bh``, family in ``bh_family``).
- separation (linear programme, Konis 2007: a non-zero direction b with
  (2y-1) x'b >= 0 for every row): if a police-risk term is involved, its maximum
  likelihood estimate does not exist and Firth's penalised logistic regression is
  fitted instead (Firth 1993; ``analysis.stats.firth``), with profile penalised-likelihood
  intervals and penalised likelihood-ratio tests (Heinze and Schemper 2002); the fit
  treats RHIs as independent, which the table says beside every estimate. If only
  adjustment terms are involved, GEE is kept and the RHIs those terms predict
  perfectly are left out of the fit (the limit of the maximum likelihood fit).
- fewer than 10 events per parameter (EPV) is reported as a warning.
- ``ModelResult.status`` is "ok", "firth: ..." or "not estimable: ...".
"""

from __future__ import annotations

import math
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.stats.association import MIN_CHILDREN, bh_adjust, effective_clusters
from analysis.stats.firth import FirthFit, FirthProfile, firth_logit, firth_profile  # noqa: F401 - re-exported

EPV_MIN = 10
Z_95 = 1.959963984540054


# --- checks before fitting ----------------------------------------------------------

def detect_separation(X, y) -> np.ndarray | None:
    """Direction of (quasi-)complete separation, or None when the data overlap.

    Linear programme: maximise sum_i s_i x_i'b subject to s_i x_i'b >= 0 and
    -1 <= b_j <= 1, with s_i = 2 y_i - 1. A positive optimum means some
    direction b separates events from non-events (completely or quasi-completely).
    """
    X = np.asarray(X, dtype=float)
    s = 2 * np.asarray(y, dtype=float) - 1
    A = s[:, None] * X
    res = optimize.linprog(-A.sum(axis=0), A_ub=-A, b_ub=np.zeros(len(A)),
                           bounds=[(-1, 1)] * X.shape[1], method="highs")
    if res.status != 0:
        return None
    if -res.fun > 1e-7 * max(1.0, len(A)):
        return res.x
    return None


def separated_columns(X, y, columns) -> list[int]:
    """The columns j for which some separating direction b has b_j != 0 (two linear programmes per column).

    The directions b with s_i x_i'b >= 0 for every row (s_i = 2 y_i - 1) form a cone;
    a column with a non-zero component in some direction of that cone has no maximum
    likelihood estimate (the likelihood keeps rising as it moves along b).
    """
    X = np.asarray(X, dtype=float)
    A = (2 * np.asarray(y, dtype=float) - 1)[:, None] * X
    out = []
    for j in columns:
        for sign in (1, -1):
            c = np.zeros(X.shape[1])
            c[j] = -sign
            res = optimize.linprog(c, A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1, 1)] * X.shape[1], method="highs")
            if res.status == 0 and -res.fun > 1e-7:
                out.append(j)
                break
    return out


def perfectly_predicted(X, y) -> np.ndarray:
    """Rows whose outcome a separating direction predicts perfectly (s_i x_i'b > 0), found by repeated LPs.

    Leaving these rows out gives the limit of the maximum likelihood fit of the
    coefficients that have an estimate: in the limit their fitted probabilities are
    0 or 1 and they add nothing to the score of any other coefficient.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    s = 2 * y - 1
    out = np.zeros(len(y), dtype=bool)
    while True:
        keep = ~out
        used = np.abs(X[keep]).sum(axis=0) > 0
        direction = detect_separation(X[keep][:, used], y[keep])
        if direction is None:
            return out
        margin = np.zeros(len(y))
        margin[keep] = s[keep] * (X[keep][:, used] @ direction)
        new = keep & (margin > 1e-7)
        if not new.any():
            return out
        out |= new


def zero_cells(data: pd.DataFrame, outcome: str, covariates) -> list[str]:
    """Covariate levels at which every or no RHI has the outcome; the text gives no counts (disclosure control).

    Used only to describe a separation in words, never to choose the design.
    """
    out = []
    for cov in covariates:
        grouped = data.groupby(cov, observed=True)[outcome].agg(["sum", "size"])
        for level, row in grouped.iterrows():
            if row["sum"] == 0 or row["sum"] == row["size"]:
                out.append(f"{cov}={level} ({'no' if row['sum'] == 0 else 'every'} RHI at this level had the outcome)")
    return out


#: A level of an adjustment covariate with fewer RHIs than this is merged (``collapse_sparse_levels``).
MIN_LEVEL = 10


def collapse_sparse_levels(data: pd.DataFrame, covariate: str, order=None, min_n: int = MIN_LEVEL,
                           cluster: str | None = None,
                           min_children: int = MIN_CHILDREN) -> tuple[pd.DataFrame, list[str]]:
    """Merge the sparse levels of an adjustment covariate; the outcome is never read.

    A level is sparse when it has fewer than ``min_n`` RHIs or, with ``cluster`` (the
    child column) given, when its RHIs come from fewer than ``min_children`` children (a
    cluster-robust variance cannot be estimated from fewer; issue 28). The rule is fixed in
    advance and looks at the covariate's own frequencies only, so the design is the same
    whatever the outcome values are:

    - ordered covariate (``order`` given): the first sparse level (in ``order``) is merged
      with its neighbour towards the middle (e.g. 15+ into 5-14, giving "5-14|15+");
      repeated until no level is sparse or one is left. Levels not in ``order`` are
      treated as nominal, after the ordered ones.
    - nominal covariate: the sparse levels are pooled into one level ("other|unknown");
      if that pool is sparse too, it joins the most common level (ties by label), e.g.
      "female|other".

    Returns the data with the merged labels and one sentence per merge (no counts).
    """
    if covariate not in data.columns:
        raise KeyError(f"collapse_sparse_levels: no column {covariate!r}")
    values = data[covariate].astype(object).copy()
    why = f"fewer than {min_n} RHIs" + (f" or fewer than {min_children} children" if cluster else "")

    def sparse(level) -> bool:
        at = values == level
        return bool(at.sum() < min_n or (cluster is not None and data.loc[at, cluster].nunique() < min_children))

    notes = []
    order = [lv for lv in (order or ()) if (values == lv).any()]
    while len(order) > 1:
        bad = [lv for lv in order if sparse(lv)]
        if not bad:
            break
        i = order.index(bad[0])
        j = i + 1 if i < len(order) / 2 - 0.5 or i == 0 else i - 1
        a, b = sorted([i, j])
        merged = f"{order[a]}|{order[b]}"
        values = values.where(~values.isin([order[a], order[b]]), merged)
        notes.append(f"{covariate}: {order[a]} and {order[b]} merged ({bad[0]} had {why})")
        order[a:b + 1] = [merged]
    rest = values[~values.isin(order)].dropna()
    counts = rest.value_counts()
    few = sorted((lv for lv in counts.index if sparse(lv)), key=str)
    if few and len(counts) + len(order) > 1:
        pool = "|".join(str(lv) for lv in few)
        values = values.where(~values.isin(few), pool)
        if len(few) > 1:
            notes.append(f"{covariate}: {', '.join(map(str, few))} pooled (each had {why})")
        sizes = values.value_counts()
        others = sorted((-n, str(lv), lv) for lv, n in sizes.items() if lv != pool)
        if sparse(pool) and others:
            target = others[0][2]
            values = values.where(~values.isin([pool, target]), f"{target}|{pool}")
            notes.append(f"{covariate}: {pool} merged into the most common level {target} ({why})")
    return data.assign(**{covariate: values}), notes


# --- design and fit -----------------------------------------------------------------

def reference_level(values: pd.Series, preferred=None):
    present = values.value_counts()
    if preferred is not None and preferred in present.index:
        return preferred
    return present.index[0]


def design_matrix(data: pd.DataFrame, covariates, references: dict) -> tuple[pd.DataFrame, list[str]]:
    """Intercept plus one indicator column per non-reference level; returns it and the dropped covariates."""
    columns = {"Intercept": np.ones(len(data))}
    dropped = []
    for cov in covariates:
        levels = list(pd.unique(data[cov]))
        if len(levels) < 2:
            dropped.append(cov)
            continue
        ref = reference_level(data[cov], references.get(cov))
        for level in sorted(levels, key=str):
            if level != ref:
                columns[f"{cov}={level}"] = (data[cov] == level).astype(float).to_numpy()
    return pd.DataFrame(columns, index=data.index), dropped


def collapse_adjustment_levels(data: pd.DataFrame, covariates, ordered: dict | None = None,
                               exposure: str = "police_risk",
                               cluster: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """``collapse_sparse_levels`` on every covariate but the exposure (which is never merged)."""
    merges = []
    for cov in covariates:
        if cov != exposure:
            data, notes = collapse_sparse_levels(data, cov, (ordered or {}).get(cov), cluster=cluster)
            merges += notes
    return data, merges


@dataclass
class ModelResult:
    outcome: str
    status: str
    method: str | None = None
    n_rhis: int = 0
    n_children: int = 0
    events: int = 0
    # term, log_odds, se, odds_ratio, ci_low, ci_high, p_value, note, interval_method, p_value_method,
    # covariance, limitation
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    references: dict = field(default_factory=dict)

    @property
    def estimable(self) -> bool:
        return not self.status.startswith("not estimable")


#: Covariance of the GEE estimates: always the bias-reduced sandwich (see ``_gee``).
GEE_COVARIANCE = "bias-reduced cluster-robust sandwich by child (Mancl and DeRouen 2001)"
GEE_INTERVALS = ("Wald 95% intervals with the bias-reduced cluster-robust standard error and Student's t on the "
                 "term's effective number of children (df column)")
GEE_TEST = "Wald t test on the term's effective number of children (df column)"
FIRTH_COVARIANCE = "model-based (inverse information at the penalised estimate), RHIs treated as independent"
FIRTH_INTERVALS = "profile penalised likelihood (Heinze and Schemper 2002)"
FIRTH_LIMITATION = ("Firth's penalised likelihood treats the RHIs of one child as independent: the interval "
                    "may be too narrow and the p-value too small when children have several RHIs")
SEPARATED_NOTE = "level involved in separation: penalised estimate, very uncertain, not a finding"


def fit_outcome_model(data: pd.DataFrame, outcome: str, covariates, references: dict | None = None,
                      cluster: str = "child_id", ordered: dict | None = None,
                      exposure: str = "police_risk") -> ModelResult:
    """Fit the model of one outcome: GEE if the exposure has an estimate, Firth if it is separated.

    1. Every covariate except ``exposure`` is an adjustment covariate; its levels with
       fewer than ``MIN_LEVEL`` RHIs are merged by ``collapse_sparse_levels`` (``ordered``
       maps ordered covariates to their level order), before the outcome is read.
    2. Separation (linear programme) involving an exposure term -> Firth's penalised
       regression with profile intervals and penalised likelihood-ratio tests.
    3. Separation involving adjustment terms only -> GEE all the same: the RHIs whose
       outcome those terms predict perfectly are left out of the fit, with any level left
       empty (the limit of the maximum likelihood fit; the exposure estimate is unaffected).
    """
    references = references or {}
    covariates = list(covariates)
    missing = [c for c in covariates + [outcome, cluster] if c not in data.columns]
    if missing:
        raise KeyError(f"fit_outcome_model: no column(s) {missing}")
    data = data.dropna(subset=covariates + [outcome])
    data, merges = collapse_adjustment_levels(data, covariates, ordered, exposure, cluster)
    y = data[outcome].astype(float).to_numpy()
    events = int(y.sum())
    result = ModelResult(outcome, "ok", n_rhis=len(data), n_children=int(data[cluster].nunique()), events=events)
    if len(data) == 0:
        result.status = "not estimable: no RHIs"
        return result
    if events == 0 or events == len(data):
        result.status = f"not estimable: {'no' if events == 0 else 'every'} RHI recorded this harm"
        return result
    result.warnings += merges
    X, dropped = design_matrix(data, covariates, references)
    for cov in dropped:
        result.warnings.append(f"{cov} left out: only one level in these data")
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        result.status = "not estimable: covariates are collinear (a level of one is fully determined by another)"
        return result
    n_params = X.shape[1] - 1
    if len(data) <= X.shape[1]:
        result.status = f"not estimable: {len(data)} RHIs for {X.shape[1]} parameters"
        return result
    epv = min(events, len(data) - events) / max(n_params, 1)
    if epv < EPV_MIN:
        result.warnings.append(f"sparse data: {epv:.1f} events per parameter (fewer than {EPV_MIN}); "
                               "estimates may be biased and intervals wide")
    used = [c for c in covariates if c not in dropped]
    result.references = {c: reference_level(data[c], references.get(c)) for c in used}
    exposure_cols = [j for j, name in enumerate(X.columns) if name.startswith(f"{exposure}=")]
    keep = np.ones(len(y), dtype=bool)
    if detect_separation(X.to_numpy(), y) is not None:
        involved = separated_columns(X.to_numpy(), y, exposure_cols)
        if involved:
            terms = [X.columns[j] for j in involved]
            cells = [c for c in zero_cells(data, outcome, [exposure]) if c.split(" (")[0] in terms]
            where = "; ".join(cells) if cells else "the combination of " + ", ".join(terms)
            flagged = [X.columns[j] for j in separated_columns(X.to_numpy(), y, range(1, X.shape[1]))]
            return _few_children(_firth(result, X, y, f"firth: separation in {where}", flagged), data, exposure,
                                 cluster)
        keep = ~perfectly_predicted(X.to_numpy(), y)
        result.warnings += _left_out_warnings(X, y, keep)
    return _few_children(_gee(result, X, y, data[cluster], keep), data, exposure, cluster)


def _few_children(result: ModelResult, data: pd.DataFrame, exposure: str, cluster: str) -> ModelResult:
    """No estimate for an exposure level, or against a reference, carried by fewer than ``MIN_CHILDREN`` children.

    A variance between children cannot be estimated from one or two, and Wald tests with
    few children carrying a level reject far too often (docs/linkage-analysis.md, "Small
    authorities"); Firth's fit ignores children altogether. The row keeps its term with
    no odds ratio, interval or p-value, and its ``note`` says why; no other analysis is
    substituted (the child-level test of the grade uses each child once). The note gives
    no count, only that the minimum was not reached; the publication hides it with the
    number of children of that grade when that number is hidden.
    """
    if not result.estimable or result.table.empty:
        return result
    children = data.groupby(exposure)[cluster].nunique()
    reference = result.references.get(exposure)
    blank = {"log_odds": math.nan, "se": math.nan, "odds_ratio": math.nan, "ci_low": math.nan, "ci_high": math.nan,
             "p_value": math.nan, "df": math.nan}
    for i, term in result.table["term"].items():
        if not str(term).startswith(f"{exposure}="):
            continue
        level = str(term).split("=", 1)[1]
        short = [lv for lv in (level, reference) if children.get(lv, 0) < MIN_CHILDREN]
        if short:
            which = f"the {level} grade" if short[0] == level else f"the reference grade {reference}"
            for column, value in blank.items():
                if column in result.table:
                    result.table.at[i, column] = value
            result.table.at[i, "note"] = (f"not estimated: {which} comes from fewer than {MIN_CHILDREN} children, too "
                                          "few for a variance between children; see the child-level test")
    return result


def _left_out_warnings(X: pd.DataFrame, y, keep) -> list[str]:
    """Say which adjustment levels predicted the outcome perfectly and were left out (no counts)."""
    out, explained = [], np.zeros(len(y), dtype=bool)
    for name in X.columns[1:]:
        col = X[name].to_numpy() != 0
        if col.any() and not (col & keep).any():
            which = "no" if y[col].max() == 0 else "every" if y[col].min() == 1 else "a predictable"
            out.append(f"{name}: {which} RHI at this level had the outcome, so these RHIs carry no information on "
                       "the other terms; the level and its RHIs are left out of the fit (the limit of the "
                       "maximum likelihood fit)")
            explained |= col
    if (~keep & ~explained).any():
        out.append("some RHIs whose outcome a combination of adjustment levels predicts perfectly are left out of "
                   "the fit (the limit of the maximum likelihood fit)")
    return out


def _gee(result: ModelResult, X: pd.DataFrame, y, groups, keep=None) -> ModelResult:
    """GEE, exchangeable within child, with the bias-reduced sandwich covariance (Mancl and DeRouen 2001).

    The bias-reduced covariance is used whatever the number of children: the plain
    sandwich is biased downwards with few clusters (an authority may have few children
    with RHIs), and with many clusters the correction tends to nothing, so there is no
    threshold at which the method changes.

    The estimator is statsmodels' (``sm.GEE(y, X, groups, family=Binomial(),
    cov_struct=Exchangeable()).fit(maxiter=100, cov_type="bias_reduced")``: its starting
    values, iterations, estimate of the correlation, convergence rule and covariance),
    computed by ``analysis.stats.gee.gee_logit_exchangeable``, the same algorithm
    vectorised over children instead of a Python loop per child; it agrees with
    statsmodels to rounding (tests/test_gee_fast.py). Warnings are errors here, so the
    fit fails where statsmodels' would (iteration limit, overflow, a singular system) and
    any failure, or a non-finite estimate, falls back to Firth's regression with the reason.
    """
    from analysis.stats.gee import gee_logit_exchangeable

    keep = np.ones(len(y), dtype=bool) if keep is None else keep
    columns = [c for c in X.columns if c == "Intercept" or X.loc[keep, c].abs().sum() > 0]
    Xk, yk = X.loc[keep, columns], y[keep]
    if yk.min() == yk.max() or np.linalg.matrix_rank(Xk.to_numpy()) < Xk.shape[1]:
        result.status = "not estimable: the RHIs left after perfectly predicted adjustment levels do not identify the model"
        return result
    codes = pd.factorize(pd.Series(np.asarray(groups))[keep])[0]
    order = np.argsort(codes, kind="stable")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fit = gee_logit_exchangeable(yk[order], Xk.to_numpy(dtype=float)[order], codes[order], maxiter=100)
        params, bse = fit.params, fit.bse
        if not (np.isfinite(params).all() and np.isfinite(bse).all()):
            raise ValueError("non-finite estimates")
    except Exception as err:  # noqa: BLE001 - any failure of GEE falls back, and says why
        return _firth(result, X, y, f"firth: GEE did not converge ({str(err).splitlines()[0][:80]})", [])
    result.method = ("GEE logistic (binomial, logit link), exchangeable correlation within child, "
                     f"{GEE_COVARIANCE}, {GEE_INTERVALS}")
    n_children = fit.n_clusters
    df = np.array([min(n_children - 1.0, effective_clusters(fit.cluster_terms_bc[:, j] ** 2))
                   for j in range(len(columns))])
    crit = stats.t.ppf(0.975, df)
    result.table = _odds_table(columns, params, bse, [_exp(v) for v in params - crit * bse],
                               [_exp(v) for v in params + crit * bse],
                               2 * stats.t.sf(np.abs(params / bse), df), set(), df=df,
                               interval_method=GEE_INTERVALS, p_value_method=GEE_TEST,
                               covariance=GEE_COVARIANCE, limitation="")
    return result


def _firth(result: ModelResult, X: pd.DataFrame, y, status: str, separated_terms) -> ModelResult:
    """Firth's fit with profile penalised-likelihood intervals and penalised LR tests, the limitation stated."""
    fit = firth_logit(X.to_numpy(), y)
    if not fit.converged or not np.isfinite(fit.params).all():
        result.status = "not estimable: separation, and Firth's penalised regression did not converge"
        return result
    terms = [j for j, name in enumerate(X.columns) if name != "Intercept"]
    try:
        prof = firth_profile(X.to_numpy(), y, fit, terms=terms)
    except ValueError as err:
        result.status = f"not estimable: {err}"
        return result
    result.status = status
    result.method = ("Firth penalised logistic regression, profile penalised-likelihood 95% intervals and penalised "
                     "likelihood-ratio tests; no clustering: " + FIRTH_LIMITATION)
    low = np.array([_exp(v) for v in prof.ci_low])
    high = np.array([_exp(v) for v in prof.ci_high])
    result.table = _odds_table(X.columns, fit.params, fit.bse, low, high, prof.p_value, set(separated_terms),
                               interval_method=FIRTH_INTERVALS, p_value_method="penalised likelihood-ratio test",
                               covariance=FIRTH_COVARIANCE, limitation=FIRTH_LIMITATION)
    return result


def _exp(x) -> float:
    """exp that gives inf instead of an error where a wild estimate (separation) overflows; exp(-inf) = 0."""
    return math.inf if x >= 700 else math.exp(x)


def _odds_table(names, params, bse, ci_low, ci_high, p_values, flagged, df=None, **labels) -> pd.DataFrame:
    """One row per term but the intercept; ``df``: the t reference's degrees of freedom per term (NaN: none)."""
    rows = []
    df = [math.nan] * len(params) if df is None else df
    for name, b, se, lo, hi, p, dof in zip(names, params, bse, ci_low, ci_high, p_values, df):
        if name == "Intercept":
            continue
        rows.append({"term": name, "log_odds": float(b), "se": float(se), "odds_ratio": _exp(b),
                     "ci_low": float(lo), "ci_high": float(hi), "p_value": float(p), "df": float(dof),
                     "note": SEPARATED_NOTE if name in flagged else "", **labels})
    return pd.DataFrame(rows)


# --- the models of issue 5 ----------------------------------------------------------------

MODEL_COVARIATES = ("police_risk", "cohort", "age_band", "sex", "episode_band")
MODEL_REFERENCES = {"police_risk": "medium", "episode_band": "1"}
MODEL_ORDERED = {"episode_band": ("1", "2-4", "5-14", "15+"), "age_band": ("10 or under", "11-13", "14-16", "17")}


def fit_harm_models(rt: pd.DataFrame, outcomes, covariates=MODEL_COVARIATES,
                    references=MODEL_REFERENCES) -> list[ModelResult]:
    """One model per outcome over the in-scope RHIs (child as cluster)."""
    return [fit_outcome_model(rt, outcome, list(covariates), dict(references), ordered=MODEL_ORDERED)
            for outcome in outcomes]


def reference_text(rt: pd.DataFrame, covariates=MODEL_COVARIATES, references=MODEL_REFERENCES) -> str:
    """'police_risk: medium; cohort: ...' - the reference level of each covariate in these data."""
    parts = []
    for cov in covariates:
        values = rt[cov].dropna()
        if values.nunique() >= 2:
            parts.append(f"{cov}: {reference_level(values, references.get(cov))}")
    return "; ".join(parts)


def odds_ratio_table(results: list[ModelResult], exposure: str = "police_risk") -> pd.DataFrame:
    """Tidy table of every estimable model: outcome, status, method, term, OR and 95% interval.

    ``q_value_bh``: Benjamini-Hochberg adjusted p-values over one family, the exposure terms
    (police grade against the reference) of every model in the table that have a p-value;
    ``bh_family`` names it on those rows. Adjustment terms are not in the family.
    """
    frames = []
    for r in results:
        if r.estimable and len(r.table):
            t = r.table.copy()
        else:
            t = pd.DataFrame([{"term": None}])
        t.insert(0, "outcome", r.outcome)
        t.insert(1, "status", r.status)
        t["method"] = r.method
        t["rhis"], t["children"], t["events"] = r.n_rhis, r.n_children, r.events
        t["warnings"] = "; ".join(r.warnings)
        frames.append(t)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    if "p_value" not in out:
        return out
    family = out["term"].astype(str).str.startswith(f"{exposure}=") & out["p_value"].notna()
    out["q_value_bh"] = bh_adjust([float(p) if f else None for p, f in zip(out["p_value"], family)])
    out["bh_family"] = np.where(family, f"Benjamini-Hochberg over the {int(family.sum())} police-grade term(s) with a "
                                "p-value in the models of this table (every outcome); adjustment terms are not "
                                "in the family", "")
    return out


def plot_forest(results: list[ModelResult], terms_prefix: str = "", title: str = "", note: str = ""):
    """Forest plot of odds ratios (log scale) with 95% intervals, one panel per outcome; states each status."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.5), sharey=False, squeeze=False)
    for ax, r in zip(axes[0], results):
        ax.axvline(1, color="grey", lw=0.8)
        ax.set_xscale("log")
        status = r.status if len(r.status) < 60 else r.status[:57] + "..."
        ax.set_title(f"{r.outcome}\n{status}", fontsize=8)
        if not r.estimable or r.table.empty:
            ax.text(0.5, 0.5, "not estimable", transform=ax.transAxes, ha="center")
            ax.set_yticks([])
            continue
        t = r.table[r.table["term"].str.startswith(terms_prefix)].reset_index(drop=True)
        for i, row in t.iterrows():
            colour = "C3" if row["note"] else "C0"
            ax.errorbar(row["odds_ratio"], i, xerr=[[max(0.0, row["odds_ratio"] - row["ci_low"])], [max(0.0, row["ci_high"] - row["odds_ratio"])]],
                        fmt="o", color=colour, capsize=2)
        ax.set_yticks(range(len(t)), t["term"], fontsize=7)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(FixedLocator([0.1, 0.25, 0.5, 1, 2, 4, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        refs = ", ".join(f"{k} {v}" for k, v in r.references.items())
        ax.set_xlabel("odds ratio (95% CI)\n" + textwrap.fill(f"reference: {refs}", 45), fontsize=7)
    fig.suptitle(title, fontsize=10)
    if note:
        fig.text(0.01, -0.02, note, fontsize=7, ha="left", va="top", wrap=True)
    fig.tight_layout()
    return fig


