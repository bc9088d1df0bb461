"""Logistic models of disclosed harm on police risk grade, with checks before fitting (issue 5).

Definitions used:

- model: one row per in-scope RHI; outcome = the harm disclosed at that RHI;
  categorical covariates (police risk, cohort, age band, sex, episode band),
  each coded against a reference level (police risk: medium if present;
  episode band: first episode if present; otherwise the most common level).
  A covariate with a single level in the data is left out, and the result says so.
- preferred fit: GEE (statsmodels), binomial family, logit link, exchangeable
  working correlation within child, robust (sandwich) standard errors, so
  that several RHIs of one child are not treated as independent.
- checks before fitting: an outcome with no events (or no non-events) is not
  estimable; a covariate level with no events or no non-events (a zero cell)
  or quasi-complete separation found by a linear programme (Konis 2007: a
  non-zero direction b with (2y-1) x'b >= 0 for every row) means the maximum
  likelihood estimate does not exist, so Firth's penalised logistic regression
  is fitted instead (``firth_logit``; model-based standard errors, as the
  penalised fit has no clustered robust version here, and Wald intervals);
  fewer than 10 events per parameter (EPV) is reported as a warning.
- ``ModelResult.status`` is "ok", "firth: ..." or "not estimable: ...".
"""

from __future__ import annotations

import math
import textwrap
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit

EPV_MIN = 10
Z_95 = 1.959963984540054


# --- Firth's penalised logistic regression ---------------------------------------

@dataclass(frozen=True)
class FirthFit:
    params: np.ndarray
    bse: np.ndarray
    converged: bool
    iterations: int
    penalised_loglik: float


def _penalised_loglik(X, y, beta) -> float:
    eta = X @ beta
    loglik = float(np.sum(y * eta - np.logaddexp(0, eta)))
    p = expit(eta)
    info = X.T @ ((p * (1 - p))[:, None] * X)
    sign, logdet = np.linalg.slogdet(info)
    return loglik + 0.5 * logdet if sign > 0 else -np.inf


def firth_logit(X, y, max_iter: int = 200, max_step: float = 5.0) -> FirthFit:
    """Firth (1993) bias-reduced logistic regression by Newton-Raphson on the modified score.

    U*(b) = X'(y - p + h (1/2 - p)), where h is the diagonal of the hat matrix
    W^1/2 X (X'WX)^-1 X' W^1/2; steps are capped at ``max_step`` and halved
    until the penalised log-likelihood l(b) + 1/2 log|X'WX| does not decrease.
    Converged when every element of the modified score is below 1e-6.
    Standard errors from the inverse of X'WX at the estimate.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    beta = np.zeros(X.shape[1])
    current = _penalised_loglik(X, y, beta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        p = expit(X @ beta)
        w = p * (1 - p)
        cov = np.linalg.pinv(X.T @ (w[:, None] * X))
        h = w * np.einsum("ij,jk,ik->i", X, cov, X)
        score = X.T @ (y - p + h * (0.5 - p))
        step = cov @ score
        biggest = np.abs(step).max()
        if biggest > max_step:
            step *= max_step / biggest
        for _ in range(30):
            candidate = _penalised_loglik(X, y, beta + step)
            if candidate >= current - 1e-12:
                break
            step /= 2
        beta = beta + step
        current = candidate
        if np.abs(score).max() < 1e-6:
            converged = True
            break
    p = expit(X @ beta)
    cov = np.linalg.pinv(X.T @ ((p * (1 - p))[:, None] * X))
    return FirthFit(beta, np.sqrt(np.diag(cov)), converged, it, current)


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


def zero_cells(data: pd.DataFrame, outcome: str, covariates) -> list[str]:
    """Covariate levels at which every or no RHI has the outcome; the text gives no counts (disclosure control)."""
    out = []
    for cov in covariates:
        grouped = data.groupby(cov, observed=True)[outcome].agg(["sum", "size"])
        for level, row in grouped.iterrows():
            if row["sum"] == 0 or row["sum"] == row["size"]:
                out.append(f"{cov}={level} ({'no' if row['sum'] == 0 else 'every'} RHI at this level had the outcome)")
    return out


MIN_LEVEL = 10


def collapse_sparse_levels(data: pd.DataFrame, outcome: str, covariate: str, order,
                           min_n: int = MIN_LEVEL) -> tuple[pd.DataFrame, list[str]]:
    """Merge a level of an ordered covariate with fewer than ``min_n`` rows, or a zero cell, into its neighbour.

    The neighbour is the adjacent level towards the middle (e.g. 15+ into
    5-14, giving "5-14|15+"). Repeats until every level passes or one is left.
    Returns the data with the merged labels and a sentence per merge.
    """
    notes = []
    levels = [lv for lv in order if (data[covariate] == lv).any()]
    values = data[covariate].copy()
    while len(levels) > 1:
        stats = {lv: (int((values == lv).sum()), int(data.loc[values == lv, outcome].sum())) for lv in levels}
        bad = [lv for lv in levels if stats[lv][0] < min_n or stats[lv][1] in (0, stats[lv][0])]
        if not bad:
            break
        lv = bad[0]
        i = levels.index(lv)
        j = i + 1 if i < len(levels) / 2 - 0.5 or i == 0 else i - 1
        j = min(max(j, 0), len(levels) - 1)
        a, b = sorted([i, j])
        merged = f"{levels[a]}|{levels[b]}"
        values = values.where(~values.isin([levels[a], levels[b]]), merged)
        why = (f"fewer than {min_n} RHIs" if stats[lv][0] < min_n
               else "no variation in the outcome")
        notes.append(f"{covariate}: {levels[a]} and {levels[b]} merged ({lv} had {why})")
        levels[a:b + 1] = [merged]
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


@dataclass
class ModelResult:
    outcome: str
    status: str
    method: str | None = None
    n_rhis: int = 0
    n_children: int = 0
    events: int = 0
    table: pd.DataFrame = field(default_factory=pd.DataFrame)   # term, odds_ratio, ci_low, ci_high, p_value
    warnings: list[str] = field(default_factory=list)
    references: dict = field(default_factory=dict)

    @property
    def estimable(self) -> bool:
        return not self.status.startswith("not estimable")


def fit_outcome_model(data: pd.DataFrame, outcome: str, covariates, references: dict | None = None,
                      cluster: str = "child_id", ordered: dict | None = None) -> ModelResult:
    """Fit the model of one outcome: GEE if the checks pass, Firth if separated, else say why not.

    ``ordered`` maps ordered adjustment covariates to their level order; their
    sparse levels are merged with a neighbour first (``collapse_sparse_levels``).
    The exposure (police risk) is never merged.
    """
    references = references or {}
    data = data.dropna(subset=list(covariates) + [outcome])
    merges = []
    for cov, order in (ordered or {}).items():
        if cov in covariates:
            data, notes = collapse_sparse_levels(data, outcome, cov, order)
            merges += notes
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
    cells = zero_cells(data, outcome, used)
    direction = detect_separation(X.to_numpy(), y)
    separated_terms = []
    if direction is not None:
        separated_terms = [X.columns[j] for j in np.flatnonzero(np.abs(direction) > 1e-6) if X.columns[j] != "Intercept"]
    if cells or direction is not None:
        where = "; ".join(cells) if cells else "the combination of " + ", ".join(separated_terms or ["covariates"])
        return _firth(result, X, y, f"firth: separation in {where}", separated_terms, cells)
    return _gee(result, X, y, data[cluster])


def _gee(result: ModelResult, X: pd.DataFrame, y, groups) -> ModelResult:
    import statsmodels.api as sm

    codes = pd.factorize(groups)[0]
    order = np.argsort(codes, kind="stable")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = sm.GEE(y[order], X.to_numpy()[order], groups=codes[order], family=sm.families.Binomial(),
                           cov_struct=sm.cov_struct.Exchangeable())
            fit = model.fit(maxiter=100)
        params, bse = np.asarray(fit.params), np.asarray(fit.bse)
        if not (np.isfinite(params).all() and np.isfinite(bse).all()):
            raise ValueError("non-finite estimates")
    except Exception as err:  # noqa: BLE001 - any failure of GEE falls back, and says why
        return _firth(result, X, y, f"firth: GEE did not converge ({str(err).splitlines()[0][:80]})", [], [])
    result.method = ("GEE logistic (binomial, logit link), exchangeable correlation within child, "
                     "robust standard errors, Wald 95% intervals")
    result.table = _odds_table(X.columns, params, bse, set())
    return result


def _firth(result: ModelResult, X: pd.DataFrame, y, status: str, separated_terms, cells) -> ModelResult:
    fit = firth_logit(X.to_numpy(), y)
    if not fit.converged or not np.isfinite(fit.params).all():
        result.status = "not estimable: separation, and Firth's penalised regression did not converge"
        return result
    result.status = status
    result.method = ("Firth penalised logistic regression (no clustering: robust errors within child are not "
                     "available for this fit, so intervals may be too narrow when children have several RHIs); "
                     "Wald 95% intervals")
    flagged = set(separated_terms)
    for cell in cells:
        flagged.add(cell.split(" (")[0])
    result.table = _odds_table(X.columns, fit.params, fit.bse, flagged)
    return result


def _exp(x) -> float:
    """exp that gives inf instead of an error where a wild estimate (separation) overflows."""
    return math.exp(x) if x < 700 else math.inf


def _odds_table(names, params, bse, flagged) -> pd.DataFrame:
    from scipy.stats import norm

    rows = []
    for name, b, se in zip(names, params, bse):
        if name == "Intercept":
            continue
        z = b / se if se > 0 else math.nan
        rows.append({"term": name, "log_odds": float(b), "se": float(se), "odds_ratio": _exp(b),
                     "ci_low": _exp(b - Z_95 * se), "ci_high": _exp(b + Z_95 * se),
                     "p_value": float(2 * norm.sf(abs(z))),
                     "note": "level involved in separation: penalised estimate, very uncertain, not a finding"
                     if name in flagged else ""})
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


def odds_ratio_table(results: list[ModelResult]) -> pd.DataFrame:
    """Tidy table of every estimable model: outcome, status, method, term, OR and 95% interval."""
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
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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


def plot_forest_table(table: pd.DataFrame, terms_prefix: str = "", title: str = "", note: str = ""):
    """Forest plot from a published odds-ratio table: one panel per outcome; suppressed estimates not drawn."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    outcomes = list(dict.fromkeys(table["outcome"]))
    fig, axes = plt.subplots(1, max(len(outcomes), 1), figsize=(4.2 * max(len(outcomes), 1), 4.5), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        rows = table[table["outcome"] == outcome]
        status = str(rows["status"].iloc[0])
        ax.axvline(1, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_title(f"{outcome}\n{status if len(status) < 60 else status[:57] + '...'}", fontsize=8)
        estimated = rows["odds_ratio"] if "odds_ratio" in rows else pd.Series(None, index=rows.index)
        shown = rows[rows["term"].astype(str).str.startswith(terms_prefix)
                     & estimated.map(lambda v: isinstance(v, float))].reset_index(drop=True)
        if shown.empty:
            ax.text(0.5, 0.5, "not published" if status == "c" else "not estimable", transform=ax.transAxes,
                    ha="center")
            ax.set_yticks([])
            continue
        for i, row in shown.iterrows():
            ax.errorbar(row["odds_ratio"], i, xerr=[[max(0.0, row["odds_ratio"] - row["ci_low"])],
                                                    [max(0.0, row["ci_high"] - row["odds_ratio"])]],
                        fmt="o", color="C3" if row["note"] else "C0", capsize=2)
        ax.set_yticks(range(len(shown)), shown["term"], fontsize=8)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(FixedLocator([0.1, 0.25, 0.5, 1, 2, 4, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("odds ratio (95% CI)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    if note:
        fig.text(0.01, -0.02, note, fontsize=7, ha="left", va="top", wrap=True)
    fig.tight_layout()
    return fig
