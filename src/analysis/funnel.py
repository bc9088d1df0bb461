"""Funnel plots of proportions across local authorities.

Method: PHE Fingertips, *Technical Guide: Funnel plots* (as implemented in
PHEindicatormethods ``phe_funnels``/``sigma_adjustment``). The control limits
around the overall proportion p0 (sum of counts / sum of denominators) at
denominator n are the observed proportions whose 95% (or 99.8%) Wilson score
interval just touches p0; solving that gives p0 +/- z*sqrt(p0*(1-p0)/n),
clipped to [0, 1], with z for two-sided 95% (p = 0.975) and 99.8%
(p = 0.999). ``method="exact"`` gives exact binomial limits instead
(Spiegelhalter 2005, Statistics in Medicine 24:1185: binomial quantiles,
interpolated between integers), which behave better for tiny denominators.

An authority whose count (or complement) is small is suppressed: its point is
not drawn (its position would reveal the count) and the plot says how many
authorities were left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as st

from .disclosure import SUPPRESSED, Disclosure
from .stats import wilson_arrays

LEVELS = (0.95, 0.998)
POSITIONS = ("below 99.8% limit", "below 95% limit", "within limits", "above 95% limit", "above 99.8% limit")


def control_limits(p0: float, n, confidence: float = 0.95, method: str = "wilson"):
    """Lower and upper control limits (proportions) for denominators ``n`` around ``p0``."""
    n = np.asarray(n, dtype=float)
    if method == "wilson":
        z = st.norm.ppf(1 - (1 - confidence) / 2)
        half = z * np.sqrt(p0 * (1 - p0) / n)
        return np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)
    if method == "exact":
        tail = (1 - confidence) / 2
        return _exact(tail, n, p0), _exact(1 - tail, n, p0)
    raise ValueError(f"method must be 'wilson' or 'exact', not {method!r}")


def _exact(prob: float, n, p0: float):
    """Spiegelhalter's interpolated binomial quantile, as a proportion of n."""
    r = st.binom.ppf(prob, n, p0)
    below = st.binom.cdf(r - 1, n, p0)
    at = st.binom.cdf(r, n, p0)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(at > below, (at - prob) / (at - below), 0.0)
    return np.clip((r - alpha) / n, 0, 1)


def position(pct, p0: float, n, method: str = "wilson") -> str:
    """Where one proportion (0-1) lies against the 95% and 99.8% limits."""
    lo95, hi95 = control_limits(p0, n, 0.95, method)
    lo998, hi998 = control_limits(p0, n, 0.998, method)
    if pct < lo998:
        return POSITIONS[0]
    if pct < lo95:
        return POSITIONS[1]
    if pct > hi998:
        return POSITIONS[4]
    if pct > hi95:
        return POSITIONS[3]
    return POSITIONS[2]


def funnel_table(units: pd.DataFrame, control: Disclosure, method: str = "wilson") -> tuple[pd.DataFrame, dict]:
    """Per unit: count, denominator, %, 95% Wilson CI and position against the limits, suppressed.

    ``units`` has columns ``unit``, ``count``, ``denominator`` (numbers or NA
    where the source withheld them). Returns the shareable table and a
    summary (overall %, units shown, units not shown and why).
    """
    frame = units.copy()
    known = frame["count"].notna() & frame["denominator"].notna() & (frame["denominator"] > 0)
    count = frame.loc[known, "count"].astype(float)
    den = frame.loc[known, "denominator"].astype(float)
    p0 = float(count.sum() / den.sum()) if den.sum() > 0 else float("nan")
    small = pd.Series(False, index=frame.index)
    if control.suppress:
        c, d = frame["count"].astype("Float64"), frame["denominator"].astype("Float64")
        small = (((c > 0) & (c < control.min_cell)) | ((d > 0) & (d < control.min_cell))
                 | (((d - c) > 0) & ((d - c) < control.min_cell))).fillna(False).astype(bool)
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
                       position=position(k / n, p0, n, method))
        rows.append(row)
    table = pd.DataFrame(rows, dtype=object)  # counts stay whole numbers beside "c"
    shown = table["pct"].map(lambda v: isinstance(v, float))
    summary = {
        "overall_pct": None if np.isnan(p0) else 100 * p0,
        "units": len(table), "shown": int(shown.sum()),
        "not_shown_small": int(small[known].sum()), "not_shown_unpublished": int((~known).sum()),
        "method": "PHE funnel plot, Wilson score control limits" if method == "wilson"
                  else "funnel plot, exact binomial control limits (Spiegelhalter)",
    }
    for name in POSITIONS:
        summary[name] = int((table["position"] == name).sum())
    return table, summary


def funnel_from_published(table: pd.DataFrame, method: str = "wilson") -> tuple[pd.DataFrame, dict]:
    """A funnel table from published values: rows ``unit``, ``count``, ``denominator`` ('c' where suppressed).

    The overall proportion is the all-authorities row (unit ``all``) as its
    own report publishes it, so the comparison and that report agree, and no
    hidden authority can be recovered from the overall line. Where that row
    is suppressed there is no funnel.
    """
    overall = table[table["unit"] == "all"]
    units = table[table["unit"] != "all"].reset_index(drop=True)
    p0 = float("nan")
    if len(overall) and all(isinstance(overall.iloc[0][c], (int, np.integer)) for c in ("count", "denominator")):
        k0, n0 = int(overall.iloc[0]["count"]), int(overall.iloc[0]["denominator"])
        p0 = k0 / n0 if n0 else float("nan")
    rows = []
    for rec in units.to_dict("records"):
        k, n = rec["count"], rec["denominator"]
        if SUPPRESSED in (k, n):
            rows.append({**rec, "pct": SUPPRESSED, "ci_low": SUPPRESSED, "ci_high": SUPPRESSED,
                         "position": "not shown (suppressed)"})
        elif not n:
            rows.append({**rec, "pct": None, "ci_low": None, "ci_high": None, "position": "no value"})
        else:
            low, high = wilson_arrays([k], [n])
            where = "no overall figure" if np.isnan(p0) else position(k / n, p0, n, method)
            rows.append({**rec, "pct": round(100 * k / n, 1), "ci_low": round(100 * float(low[0]), 1),
                         "ci_high": round(100 * float(high[0]), 1), "position": where})
    out = pd.DataFrame(rows, columns=["unit", "count", "denominator", "pct", "ci_low", "ci_high", "position"],
                       dtype=object)
    shown = out["pct"].map(lambda v: isinstance(v, float))
    summary = {"overall_pct": None if np.isnan(p0) else round(100 * p0, 1), "units": len(out),
               "shown": int(shown.sum()), "not_shown_small": int((out["position"] == "not shown (suppressed)").sum()),
               "not_shown_unpublished": int((out["position"] == "no value").sum()),
               "method": "PHE funnel plot, normal-approximation control limits" if method == "wilson"
                         else "funnel plot, exact binomial control limits (Spiegelhalter)"}
    for name in POSITIONS:
        summary[name] = int((out["position"] == name).sum())
    return out, summary


def plot_funnel(table: pd.DataFrame, summary: dict, title: str, xlabel: str, ylabel: str,
                highlight: str | None = None, label_column: str = "unit", note: str = "", method: str = "wilson"):
    """Funnel plot: points shown, overall line, 95% and 99.8% limits, one unit highlighted."""
    import matplotlib.pyplot as plt

    shown = table[table["pct"].map(lambda v: isinstance(v, float))]
    fig, ax = plt.subplots(figsize=(8, 5))
    p0 = (summary["overall_pct"] or 0) / 100
    dens = shown["denominator"].astype(float)
    nmax = max(float(dens.max()) if len(shown) else 10.0, 10.0)
    nmin = max(1.0, 0.8 * float(dens.min())) if len(shown) else 1.0
    grid = np.unique(np.round(np.geomspace(nmin, nmax * 1.05, 300)).astype(int))
    for conf, style in ((0.95, "--"), (0.998, ":")):
        lo, hi = control_limits(p0, grid, conf, method)
        ax.plot(grid, 100 * lo, style, color="0.35", lw=1, label=f"{conf:.1%} limits".replace(".0%", "%"))
        ax.plot(grid, 100 * hi, style, color="0.35", lw=1)
    ax.axhline(100 * p0, color="0.2", lw=1, label=f"overall {100 * p0:.1f}%")
    outside = shown["position"] != "within limits"
    ax.scatter(shown.loc[~outside, "denominator"], shown.loc[~outside, "pct"], s=18, color="#4477aa",
               label="authority (within limits)")
    ax.scatter(shown.loc[outside, "denominator"], shown.loc[outside, "pct"], s=22, color="#ee6677",
               label="authority (outside 95% limits)")
    if highlight:
        hit = shown[shown[label_column] == highlight]
        if len(hit):
            ax.scatter(hit["denominator"], hit["pct"], s=120, facecolor="none", edgecolor="black", lw=2,
                       label=f"{highlight}", zorder=5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    top = max([100 * control_limits(p0, grid[:1], 0.998, method)[1][0]] + list(shown["pct"].astype(float)))
    ax.set_ylim(0, min(100.0, top * 1.1 + 1))
    if nmax / nmin > 30:
        ax.set_xscale("log")
    left_out = summary["not_shown_small"] + summary["not_shown_unpublished"]
    foot = f"{summary['shown']} authorities shown; {left_out} with suppressed or unpublished values not shown."
    fig.text(0.01, -0.02, foot + (" " + note if note else ""), fontsize=7, ha="left", va="top", wrap=True)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def rhi_rates_by_la(ds, params, indicators=("cse_victim", "cse_red_flag_any", "cce_victim", "mental_health")):
    """Per authority: RHI completion (notified episodes linked to a completed RHI) and disclosure rates.

    Disclosure rates are child level: RHI children with the indicator at an
    in-scope RHI over RHI children (contract, section 3).
    """
    from dataclasses import replace

    from .populations import Populations

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
