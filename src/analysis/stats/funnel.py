"""Funnel plots of proportions across local authorities.

Control limits around the overall proportion p0 at denominator n, at 95% and
99.8% (two-sided; tail probabilities 0.025 and 0.001 each side):

- ``"exact"``: exact binomial limits with Spiegelhalter's (2005, Statistics in
  Medicine 24:1185, appendix) interpolation between integers, applied in the
  direction of each tail: the lower limit is (r - a)/n with r the tail
  quantile of Binomial(n, p0) and a = (P(X <= r) - tail)/P(X = r); the upper
  limit is its mirror image, the lower limit of the failures n - X, which is
  (r + 1 - a)/n for the upper quantile r. A count y is then beyond a limit
  exactly when its own tail probability is below the tail: below the lower
  limit iff P(X <= y) < tail, above the upper iff P(X >= y) < tail (0 of 3 at
  p0 = 0.6, P(X = 0) = 0.064, is within the 95% limits; 3 of 3 at p0 = 0.3,
  P(X >= 3) = 0.027, within both).
- ``"normal"``: the normal approximation p0 +/- z sqrt(p0 (1 - p0) / n)
  clipped to [0, 1] (PHE Fingertips' funnel-plot method; these are also the
  proportions whose Wilson score interval touches p0, which is why PHE
  describes them through Wilson; they are not Wilson intervals). ``"wilson"``
  is accepted as an old name for it.
- ``"auto"`` (default): exact where n p0 (1 - p0) < ``NORMAL_FROM`` (100),
  normal from there on. At that size the two differ by under two counts of
  the denominator and by up to 5.0% (95% limits) and 6.1% (99.8%) of the limits'
  half-width, most where p0 is near 0 or 1 (p0 from 0.01 to 0.99; 4.1% and 4.3%
  for p0 from 0.2 to 0.8).

Overdispersion (``overdispersion``): z-scores z_i = (y_i/n_i - p0) /
sqrt(p0 (1 - p0) / n_i) of the authorities shown, winsorised at 10% each
tail (values beyond the 10th and 90th percentiles set to them, as NHS
England's FunnelPlotR), phi = mean of the squared winsorised z-scores
(Spiegelhalter 2005, Quality and Safety in Health Care 14:347), tested by
k phi against chi-square on k - 1 df (k authorities, p0 estimated). Where the
test says overdispersed (p < 0.05), the limits are widened multiplicatively:
p0 + sqrt(phi) (limit - p0) (for the normal limits, p0 +/- z sqrt(phi p0 (1 -
p0) / n)). Not estimated with fewer than ``MIN_UNITS_PHI`` authorities shown.
FunnelPlotR computes its z-scores on the arcsine square-root scale; here they
are on the proportion scale, as the limits. Winsorising shrinks phi: for normal
z-scores the mean of the squared winsorised values is 0.68 of their variance, so
phi is about two thirds of the true overdispersion (0.65 to 0.67 in simulation), and
the widened limits still flag in-control authorities more often than their nominal
rates (``PHI_CAVEAT``, which the funnel's caption carries when the limits are widened).

An authority whose count (or complement) is small is suppressed: its point is
not drawn (its position would reveal the count) and the plot says how many
authorities were left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from analysis.disclosure import NOT_AVAILABLE, SUPPRESSED, Disclosure, is_symbol
from analysis.stats.proportions import wilson_arrays

LEVELS = (0.95, 0.998)
POSITIONS = ("below 99.8% limit", "below 95% limit", "within limits", "above 95% limit", "above 99.8% limit")
METHODS = ("auto", "exact", "normal")
NORMAL_FROM = 100          # "auto": the normal approximation where n p0 (1 - p0) is at least this
WINSOR = 0.10              # share of z-scores winsorised at each tail for phi
MIN_UNITS_PHI = 10         # fewer authorities shown: phi is not estimated
OVERDISPERSION_ALPHA = 0.05
PHI_CAVEAT = ("The widening uses phi from winsorised z-scores, which is about two thirds of the true overdispersion, "
              "so the widened limits still flag more authorities than their nominal rates when none is out of line "
              "(in simulation about 10% beyond the 95% limits and 1% beyond the 99.8% limits, against 5% and 0.2%).")
LIMIT_TYPES = {
    "exact": "exact binomial limits (Spiegelhalter 2005 interpolation)",
    "normal": "normal-approximation limits, p0 ± z·sqrt(p0(1−p0)/n)",
    "auto": (f"exact binomial limits (Spiegelhalter 2005 interpolation) where n·p0·(1−p0) < {NORMAL_FROM}, "
             "normal approximation p0 ± z·sqrt(p0(1−p0)/n) from there on"),
}


def _method(method: str) -> str:
    if method == "wilson":        # the old, misleading name of the normal approximation
        return "normal"
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (or 'wilson', the old name of 'normal'), "
                         f"not {method!r}")
    return method


def control_limits(p0: float, n, confidence: float = 0.95, method: str = "auto", phi: float = 1.0):
    """Lower and upper control limits (proportions) for denominators ``n`` around ``p0``.

    ``phi`` > 1 widens them multiplicatively (p0 + sqrt(phi) (limit - p0)); 1 leaves them as they are.
    """
    method = _method(method)
    if not 0 <= p0 <= 1:
        raise ValueError(f"the overall proportion must be between 0 and 1, not {p0}")
    if phi < 1:
        raise ValueError(f"phi below 1 never narrows the limits; got {phi}")
    n = np.asarray(n, dtype=float)
    if (n <= 0).any():
        raise ValueError("denominators must be positive")
    tail = (1 - confidence) / 2
    z = st.norm.ppf(1 - tail)
    half = z * np.sqrt(p0 * (1 - p0) / n)
    low, high = p0 - half, p0 + half
    if method != "normal":
        exact = n * p0 * (1 - p0) < NORMAL_FROM if method == "auto" else np.ones(n.shape, dtype=bool)
        if exact.any():
            low = np.where(exact, _exact_lower(tail, n, p0), low)
            high = np.where(exact, 1 - _exact_lower(tail, n, 1 - p0), high)
    root = np.sqrt(phi)
    return np.clip(p0 + root * (low - p0), 0, 1), np.clip(p0 + root * (high - p0), 0, 1)


def _exact_lower(tail: float, n, p0: float):
    """Spiegelhalter's interpolated lower binomial limit, as a proportion of n: (r - a)/n.

    r: the smallest count with P(X <= r) >= tail; a = (P(X <= r) - tail) / P(X = r), in [0, 1).
    A count y lies below (r - a) exactly when y <= r - 1, i.e. when P(X <= y) < tail.
    The upper limit is 1 - this limit for the failures (p0 -> 1 - p0).
    """
    n = np.asarray(n, dtype=float)
    if p0 <= 0:
        return np.zeros(n.shape)
    if p0 >= 1:
        return np.ones(n.shape)
    r = st.binom.ppf(tail, n, p0)
    at = st.binom.cdf(r, n, p0)
    mass = st.binom.pmf(r, n, p0)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(mass > 0, (at - tail) / mass, 0.0)
    return (r - np.clip(a, 0, 1)) / n


def position(pct, p0: float, n, method: str = "auto", phi: float = 1.0) -> str:
    """Where one proportion (0-1) lies against the 95% and 99.8% limits."""
    lo95, hi95 = control_limits(p0, n, 0.95, method, phi)
    lo998, hi998 = control_limits(p0, n, 0.998, method, phi)
    if pct < lo998:
        return POSITIONS[0]
    if pct < lo95:
        return POSITIONS[1]
    if pct > hi998:
        return POSITIONS[4]
    if pct > hi95:
        return POSITIONS[3]
    return POSITIONS[2]


def overdispersion(counts, denominators, p0: float, winsor: float = WINSOR) -> dict:
    """phi from winsorised z-scores (Spiegelhalter 2005; FunnelPlotR's winsorising), and its chi-square test.

    Returns ``phi`` (None when not estimable), ``phi_units`` (k), ``overdispersion_p``
    (k phi against chi-square on k - 1 df), ``overdispersed`` (p < 0.05) and a ``statement``.
    """
    y = np.asarray(counts, dtype=float)
    n = np.asarray(denominators, dtype=float)
    k = len(y)
    out = {"phi": None, "phi_units": k, "overdispersion_p": None, "overdispersed": False}
    if k < MIN_UNITS_PHI:
        return {**out, "statement": f"overdispersion not estimated: {k} authorities shown, fewer than "
                                    f"{MIN_UNITS_PHI}"}
    if not 0 < p0 < 1:
        return {**out, "statement": "overdispersion not estimated: the overall proportion is 0% or 100%"}
    z = (y / n - p0) / np.sqrt(p0 * (1 - p0) / n)
    lo, hi = np.quantile(z, [winsor, 1 - winsor])          # R's default (type 7) quantiles, as FunnelPlotR
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    p = float(st.chi2.sf(k * phi, k - 1))
    over = p < OVERDISPERSION_ALPHA
    verdict = ("overdispersed (p < 0.05): limits widened by sqrt(phi)" if over
               else "no significant overdispersion (p >= 0.05): limits not widened")
    return {**out, "phi": phi, "overdispersion_p": p, "overdispersed": over,
            "statement": f"phi = {phi:.2f} from the winsorised z-scores of {k} authorities; "
                         f"k·phi against chi-square on {k - 1} df: p {'< 0.001' if p < 0.001 else f'= {p:.3f}'}; {verdict}"}


def _limits_summary(method: str, disp: dict, adjust: bool) -> dict:
    method = _method(method)
    applied = disp["phi"] if (adjust and disp["overdispersed"]) else 1.0
    label = LIMIT_TYPES[method] + (f", widened by sqrt(phi) = {applied ** 0.5:.2f} for overdispersion"
                                   if applied > 1 else "")
    return {"limits": method, "limit_type": label, "phi": disp["phi"], "phi_units": disp["phi_units"],
            "overdispersion_p": disp["overdispersion_p"], "overdispersion_adjusted": applied > 1,
            "phi_applied": applied, "overdispersion": disp["statement"] if adjust else
            "overdispersion not adjusted for (overdispersion=False)"}


def funnel_table(units: pd.DataFrame, control: Disclosure, method: str = "auto",
                 overdispersion_adjust: bool = True) -> tuple[pd.DataFrame, dict]:
    """Per unit: count, denominator, %, 95% Wilson CI and position against the limits, suppressed.

    ``units`` has columns ``unit``, ``count``, ``denominator`` (numbers or NA
    where the source withheld them). The overall proportion uses every known
    unit; phi uses the units shown. Returns the shareable table and a summary
    (overall %, units shown, not shown and why, limit type, phi).
    """
    method = _method(method)
    frame = units.copy()
    known = frame["count"].notna() & frame["denominator"].notna() & (frame["denominator"] > 0)
    count = frame.loc[known, "count"].astype(float)
    den = frame.loc[known, "denominator"].astype(float)
    if ((count < 0) | (count > den)).any():
        raise ValueError("funnel_table: every count must be between 0 and its denominator")
    p0 = float(count.sum() / den.sum()) if den.sum() > 0 else float("nan")
    small = pd.Series(False, index=frame.index)
    if control.suppress:
        c, d = frame["count"].astype("Float64"), frame["denominator"].astype("Float64")
        small = (((c > 0) & (c < control.min_cell)) | ((d > 0) & (d < control.min_cell))
                 | (((d - c) > 0) & ((d - c) < control.min_cell))).fillna(False).astype(bool)
    shown = known & ~small
    disp = overdispersion(frame.loc[shown, "count"].astype(float), frame.loc[shown, "denominator"].astype(float), p0) \
        if not np.isnan(p0) else {"phi": None, "phi_units": 0, "overdispersion_p": None, "overdispersed": False,
                                  "statement": "overdispersion not estimated: no overall proportion"}
    limits = _limits_summary(method, disp, overdispersion_adjust)
    rows = []
    for idx, rec in frame.iterrows():
        row = {k: rec[k] for k in frame.columns if k not in ("count", "denominator")}
        if not known[idx]:
            row.update(count=None, denominator=None, pct=None, ci_low=None, ci_high=None, position="no value")
        elif small[idx]:
            row.update(count=SUPPRESSED, denominator=SUPPRESSED if control.is_small(rec["denominator"]) else int(rec["denominator"]),
                       pct=SUPPRESSED, ci_low=SUPPRESSED, ci_high=SUPPRESSED, position="not shown (small count)")
        else:
            k, n = int(rec["count"]), int(rec["denominator"])
            low, high = wilson_arrays([k], [n])
            row.update(count=k, denominator=n, pct=100 * k / n, ci_low=100 * float(low[0]), ci_high=100 * float(high[0]),
                       position=position(k / n, p0, n, method, limits["phi_applied"]))
        rows.append(row)
    table = pd.DataFrame(rows, dtype=object)  # counts stay whole numbers beside "c"
    is_shown = table["pct"].map(lambda v: isinstance(v, float))
    summary = {
        "overall_pct": None if np.isnan(p0) else 100 * p0,
        "units": len(table), "shown": int(is_shown.sum()),
        "not_shown_small": int(small[known].sum()), "not_shown_unpublished": int((~known).sum()),
        "method": "funnel plot, " + limits["limit_type"], **limits,
    }
    for name in POSITIONS:
        summary[name] = int((table["position"] == name).sum())
    return table, summary


def funnel_from_published(table: pd.DataFrame, method: str = "auto",
                          overdispersion_adjust: bool = True) -> tuple[pd.DataFrame, dict]:
    """A funnel table from published values: rows ``unit``, ``count``, ``denominator`` ('c' where suppressed).

    The overall proportion is the all-authorities row (unit ``all``) as its
    own report publishes it, so the comparison and that report agree, and no
    hidden authority can be recovered from the overall line. Where that row
    is suppressed there is no funnel. phi uses the authorities whose values
    are published.
    """
    method = _method(method)
    overall = table[table["unit"] == "all"]
    units = table[table["unit"] != "all"].reset_index(drop=True)
    p0 = float("nan")
    if len(overall) and all(isinstance(overall.iloc[0][c], (int, np.integer)) for c in ("count", "denominator")):
        k0, n0 = int(overall.iloc[0]["count"]), int(overall.iloc[0]["denominator"])
        p0 = k0 / n0 if n0 else float("nan")
    published = [(int(r["count"]), int(r["denominator"])) for r in units.to_dict("records")
                 if not (is_symbol(r["count"]) or is_symbol(r["denominator"])) and r["denominator"]]
    if np.isnan(p0):
        disp = {"phi": None, "phi_units": 0, "overdispersion_p": None, "overdispersed": False,
                "statement": "overdispersion not estimated: the overall figure is not published"}
    else:
        disp = overdispersion([k for k, _ in published], [n for _, n in published], p0)
    limits = _limits_summary(method, disp, overdispersion_adjust)
    rows = []
    for rec in units.to_dict("records"):
        k, n = rec["count"], rec["denominator"]
        if NOT_AVAILABLE in (k, n):
            rows.append({**rec, "pct": NOT_AVAILABLE, "ci_low": NOT_AVAILABLE, "ci_high": NOT_AVAILABLE,
                         "position": "not available in this source"})
        elif SUPPRESSED in (k, n):
            rows.append({**rec, "pct": SUPPRESSED, "ci_low": SUPPRESSED, "ci_high": SUPPRESSED,
                         "position": "not shown (suppressed)"})
        elif not n:
            rows.append({**rec, "pct": None, "ci_low": None, "ci_high": None, "position": "no value"})
        else:
            low, high = wilson_arrays([k], [n])
            where = "no overall figure" if np.isnan(p0) else position(k / n, p0, n, method, limits["phi_applied"])
            rows.append({**rec, "pct": round(100 * k / n, 1), "ci_low": round(100 * float(low[0]), 1),
                         "ci_high": round(100 * float(high[0]), 1), "position": where})
    out = pd.DataFrame(rows, columns=["unit", "count", "denominator", "pct", "ci_low", "ci_high", "position"],
                       dtype=object)
    shown = out["pct"].map(lambda v: isinstance(v, float))
    summary = {"overall_pct": None if np.isnan(p0) else round(100 * p0, 1), "units": len(out),
               "shown": int(shown.sum()), "not_shown_small": int((out["position"] == "not shown (suppressed)").sum()),
               "not_shown_unpublished": int((out["position"] == "no value").sum()),
               "method": "funnel plot, " + limits["limit_type"], **limits}
    for name in POSITIONS:
        summary[name] = int((out["position"] == name).sum())
    return out, summary


def rhi_rates_by_la(ds, params, indicators=("cse_victim", "cse_red_flag_any", "cce_victim", "mental_health")):
    """Per authority: RHI completion (notified episodes linked to a completed RHI) and disclosure rates.

    Disclosure rates are child level: RHI children with the indicator at an
    in-scope RHI over RHI children (contract, section 3).
    """
    from dataclasses import replace

    from analysis.definitions.populations import Populations

    completed = ds.rhis.loc[ds.rhis["status"] == "completed", "rhi_id"]
    links = ds.rhi_episodes
    linked = set(links.loc[links["set_aside"].isna() & links["rhi_id"].isin(completed), "episode_id"])
    rows = []
    for la in ds.la_codes:
        pop = Populations(ds.subset_la(la), replace(params, la_code=la))
        notified = pop.notified
        rows.append({"measure": "rhi_completion", "unit": la, "count": int(notified["episode_id"].isin(linked).sum()),
                     "denominator": len(notified)})
        for ind in indicators:
            k, n = pop.prevalence(ind) if len(pop.children) else (0, 0)
            rows.append({"measure": ind, "unit": la, "count": k, "denominator": n})
    return pd.DataFrame(rows)
