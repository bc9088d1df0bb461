"""The charts of the reports, in one shared style.

Every function takes tidy data as the run publishes it ('c' where a value is
suppressed) and returns a matplotlib Figure, or, where the data a chart needs
are suppressed or absent, a :class:`NotDrawn` saying why in one line, so that no
report shows an empty chart. Each chart has an ``*_alt`` companion that writes
its alternative text from the same data (the values shown, with counts and
denominators), never from a file name.

Style (Government Analysis Function charts guidance): the Analysis Function's
categorical palette (colour-blind safe in this order), direct labels instead
of legends where possible, text no smaller than body text at the size shown,
few gridlines, no chart junk. The backend is left alone: Jupyter shows the
charts inline and a headless process falls back to Agg by itself.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from cycler import cycler

from analysis.disclosure import SUPPRESSED, is_symbol
from analysis.render import textmetrics

textmetrics.share()   # text sizes measured once per process, not once per chart (same bytes: see the module)

# Government Analysis Function categorical palette: dark blue, turquoise, dark pink, orange, dark grey, light purple
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
GRADE_COLOURS = {"high": "#801650", "medium": "#12436D", "low": "#28A197", "medium or low": "#F46A25",
                 "all": "#3D3D3D"}
COLOURS = {"looked_after": PALETTE[0], "open_to_services": PALETTE[1], "not_known": PALETTE[2], **GRADE_COLOURS}
WIDTH = 6.4          # inches: 768 pixels at the saved 120 dpi, about a report column
FONT = 13            # points: at 120 dpi and a column of 700-800 pixels, larger than the page's body text
STYLE = {
    "font.size": FONT, "axes.titlesize": FONT + 1, "axes.labelsize": FONT, "xtick.labelsize": FONT,
    "ytick.labelsize": FONT, "legend.fontsize": FONT, "figure.titlesize": FONT + 1,
    "axes.prop_cycle": cycler(color=PALETTE), "axes.spines.top": False, "axes.spines.right": False,
    "axes.titlelocation": "left", "axes.titleweight": "bold", "figure.figsize": (WIDTH, 4.2),
    "grid.color": "#d9d9d9", "grid.linewidth": 0.8, "lines.linewidth": 2, "errorbar.capsize": 0,
    "svg.fonttype": "path",
}
OUTCOME_LABELS = {"cse_any": "Sexual exploitation (any CSE indicator)", "cce": "Criminal exploitation",
                  "mental_health_any": "Mental health (any indicator)", "serious_harm_any": "Serious harm (any)",
                  "cse_victim": "Sexual exploitation", "cse_red_flag_any": "Any CSE red flag",
                  "cce_victim": "Criminal exploitation", "mental_health": "Mental-health issue"}
INTERVALS = "Lines show 95% Wilson score confidence intervals."
# Captions that name a method: each says what the code computes (issue 28).
KORN_GRAUBARD = ("Lines show 95% Korn-Graubard intervals (Clopper-Pearson at the effective number of RHIs, with their "
                 "degrees-of-freedom correction), which allow for several RHIs of one child.")
RHI_INDEPENDENT = ("These Wilson intervals treat the RHIs of one child as independent, so they are too narrow where "
                   "children have several RHIs; the child-level figures have no such problem.")
FOREST_INTERVALS = ("Lines show 95% confidence intervals. From GEE: Wald intervals with the bias-reduced "
                    "cluster-robust standard error (children as clusters) and Student's t on the term's effective "
                    "number of children. From Firth's penalised regression (used where a grade is separated): profile "
                    "penalised-likelihood intervals that treat the RHIs of one child as independent, too narrow where "
                    "children have several RHIs. A grade carried by fewer than five children has no estimate.")


@dataclass(frozen=True)
class NotDrawn:
    """A chart that is not drawn, and why (one line for the reader)."""

    reason: str


def styled(func):
    """Draw ``func``'s figure in the shared style (fonts, palette, spines)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with plt.rc_context(STYLE):
            return func(*args, **kwargs)
    return wrapper


def number(value) -> float | None:
    """A published value as a float, None where suppressed, missing or not a number."""
    if value is None or (isinstance(value, str) and (not value.strip() or is_symbol(value.strip()))):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def count_text(value) -> str:
    v = number(value)
    return SUPPRESSED if v is None else f"{int(round(v)):,}"


def value_text(row) -> str:
    """'31.2% (45 of 144)' from a published row; 'not shown (c)' when hidden (the same words for every hidden
    value: never 'small', since a hidden value may be a larger one hidden to protect a small one)."""
    pct = number(row.get("pct"))
    if pct is None:
        if number(row.get("denominator")) == 0:
            return "none in this group"
        if str(row.get("pct")).strip() == "x":
            return "not available (x)"
        return "not shown (c)"
    return f"{pct:.1f}% ({count_text(row.get('count'))} of {count_text(row.get('denominator'))})"


def outcome_label(name: str) -> str:
    from analysis.render.words import LABELS, capital

    return OUTCOME_LABELS.get(name) or capital(LABELS.get(str(name), str(name).replace("_", " ")))


def _wrap(text: str, width: int = 60) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


# --- children disclosing harm, by police grade ----------------------------------------------------

def grade_rows(prev_children: pd.DataFrame, hidden: pd.DataFrame | None = None,
               outcomes=("cse_any", "cce", "mental_health_any", "serious_harm_any"), cohort: str = "all") -> pd.DataFrame:
    """Rows of the key chart, from published cells only.

    One row per outcome and group: children with a high-, medium- and
    low-risk RHI (``prevalence_by_risk_children``), and for serious harm the
    pooled group "medium or low on every episode", which the run publishes as a
    cell of its own (the first row of ``hidden_risk``). Nothing is derived from
    a suppressed cell: a pooled figure is shown only as published.
    """
    rows = []
    sub = prev_children[prev_children["cohort"] == cohort]
    for outcome in outcomes:
        for level in ("high", "medium", "low", "medium_or_low"):   # the grades the run publishes for this report
            hit = sub[(sub["outcome"] == outcome) & (sub["police_risk"] == level)]
            if len(hit):
                r = hit.iloc[0]
                rows.append({"outcome": outcome, "group": level.replace("_", " "), "label": level.replace("_", " "),
                             **{k: r[k] for k in ("count", "denominator", "pct", "ci_low", "ci_high")}})
        if outcome == "serious_harm_any" and hidden is not None and len(hidden) and cohort == "all":
            r = hidden.iloc[0]
            rows.append({"outcome": outcome, "group": "medium or low", "label": "medium or low\n(every episode)",
                         **{k: r[k] for k in ("count", "denominator", "pct", "ci_low", "ci_high")}})
    out = pd.DataFrame(rows, columns=["outcome", "group", "label", "count", "denominator", "pct", "ci_low", "ci_high"])
    out["shown"] = out["pct"].map(lambda v: number(v) is not None)
    return out


def grade_chart(rows: pd.DataFrame, place: str = ""):
    """Dot-and-interval chart of the grade rows, directly labelled; NotDrawn when fewer than two values are published."""
    shown = rows[rows["shown"]]
    if len(shown) < 2:
        what = "; ".join(f"{outcome_label(r['outcome']).lower()}, {_alt_label(r['label'])}: {value_text(r)}"
                         for _, r in shown.iterrows())
        return NotDrawn("The chart comparing police grades is not drawn: " +
                        ("no figure by police grade can be shown here" if not what else
                         f"only one figure by police grade can be shown here ({what})") +
                        "; the others are not shown (c), so that a small number cannot be worked out.")
    return _dot_rows(rows, group_key="outcome", xlabel="% of children (95% interval)")


def _alt_label(label: str) -> str:
    label = str(label).replace("\n", " ")
    return label if "every episode" in label else f"{label.replace(' or ', '- or ')}-risk RHI"


def grade_alt(rows: pd.DataFrame, place: str = "") -> str:
    parts = []
    for outcome, sub in rows.groupby("outcome", sort=False):
        parts.append(f"{outcome_label(outcome)}: " + "; ".join(f"{_alt_label(r['label'])} {value_text(r)}" for _, r in sub.iterrows()))
    return (f"Dot chart of the share of children with a completed return home interview who disclosed each harm, "
            f"by the police risk grade{(' in ' + place) if place else ''}. " + ". ".join(parts) + ".")


@styled
def _dot_rows(rows: pd.DataFrame, group_key: str, xlabel: str, label_key: str = "label", colour_key: str = "group",
              header=outcome_label, xmax: float = 100.0):
    """Horizontal dots with intervals: a bold header per group, one line per row, the value written beside it."""
    lines = []   # (kind, text, row)
    for key, sub in rows.groupby(group_key, sort=False):
        lines.append(("header", header(key), None))
        for _, r in sub.iterrows():
            lines.append(("row", str(r[label_key]), r))
    height = 0.42 * len(lines) + 1.1
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    for y, (kind, text, r) in enumerate(lines):
        if kind == "header":
            continue
        pct = number(r["pct"])
        colour = COLOURS.get(str(r.get(colour_key)), PALETTE[0])
        if pct is None:
            ax.text(1, y, value_text(r), va="center", ha="left", color="#505050")
            continue
        low, high = number(r["ci_low"]), number(r["ci_high"])
        if low is not None and high is not None:
            ax.plot([low, high], [y, y], color=colour, lw=2.5, solid_capstyle="butt")
        ax.plot([pct], [y], "o", color=colour, ms=8)
        right = high if high is not None else pct
        ax.text(min(right + 1.5, xmax), y, value_text(r), va="center", ha="left")
    _label_rows(ax, lines)
    ax.set_xlim(0, xmax * 1.45)   # room on the right for the written values
    ax.set_xticks([t for t in (0, 25, 50, 75, 100) if t <= xmax])
    ax.set_xlabel(xlabel, loc="left")
    ax.spines["left"].set_visible(False)
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    fig.tight_layout()
    return fig


def _label_rows(ax, lines) -> None:
    """Row labels as tick labels; each block's header in bold across the top of its block (not in the margin)."""
    from matplotlib.transforms import blended_transform_factory

    ax.set_yticks(range(len(lines)), ["" if kind == "header" else text for kind, text, _ in lines])
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(lines) - 0.5, -0.7)
    across = blended_transform_factory(ax.transAxes, ax.transData)
    for y, (kind, text, _) in enumerate(lines):
        if kind == "header":
            ax.text(0, y + 0.1, text, transform=across, ha="left", va="center", fontweight="bold")


# --- generic dot chart of published rows (cohort prevalence, screening) ---------------------------

def dot_chart(rows: pd.DataFrame, group_key: str, label_key: str, xlabel: str, header=outcome_label,
              colour_key: str | None = None, minimum: int = 1, name: str = "The chart"):
    """Dots with intervals for published rows; NotDrawn when fewer than ``minimum`` values are published."""
    shown = rows["pct"].map(lambda v: number(v) is not None)
    if int(shown.sum()) < minimum:
        return NotDrawn(f"{name} is not drawn: " + ("no value can be shown here" if not shown.any()
                        else "too few values can be shown here to compare") + "; the others are not shown (c), so "
                        "that a small number cannot be worked out.")
    data = rows.copy()
    data["_label"] = data[label_key].map(_words)
    data["_colour"] = data[colour_key] if colour_key else "all"
    return _dot_rows(data, group_key=group_key, xlabel=xlabel, label_key="_label", colour_key="_colour", header=header)


def dot_alt(rows: pd.DataFrame, group_key: str, label_key: str, what: str, header=outcome_label) -> str:
    parts = []
    for key, sub in rows.groupby(group_key, sort=False):
        parts.append(f"{header(key)}: " + "; ".join(f"{_words(r[label_key])} {value_text(r)}"
                                                    for _, r in sub.iterrows()))
    return f"Dot chart of {what}. " + ". ".join(parts) + "."


def _words(value) -> str:
    """A category's label in a chart: its code as words ('cse_victim' -> 'Sexual exploitation')."""
    from analysis.render.words import plain_value

    return str(plain_value("", str(value)))


# --- record flow -----------------------------------------------------------------------------------

@styled
def flow_diagram(flow: pd.DataFrame, unit: str = "episodes", title: str | None = None):
    """CONSORT-style boxes: stages down the page, each exclusion written under the arrow it leaves."""
    rows = flow[flow["unit"] == unit]
    items = []   # ("stage", text) or ("excluded", text)
    for row in rows.itertuples():
        if row.kind == "stage":
            items.append(("stage", f"{_words(row.stage)}: {_fmt(row.count)}"))
        elif row.kind == "excluded":
            items.append(("excluded", f"− {_fmt(row.count)} {_words(row.reason)}"))
    height = 0.55 * len(items) + 0.6
    longest = max([len(text) for _, text in items] + [20])
    fig, ax = plt.subplots(figsize=(min(WIDTH, 0.11 * min(longest, 50) + 0.9), height))   # no empty right half
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(-len(items) + 0.4, 0.6)
    for y, (kind, text) in enumerate(items):
        if kind == "stage":
            ax.text(0.02, -y, _wrap(text, 48), va="center", ha="left", fontweight="bold",
                    bbox=dict(boxstyle="round", fc="#e8eef4", ec=PALETTE[0]))
        else:
            ax.text(0.10, -y, _wrap(text, 50), va="center", ha="left", color="#3D3D3D")
    fig.tight_layout()
    return fig


def flow_alt(flow: pd.DataFrame, unit: str = "episodes") -> str:
    rows = flow[flow["unit"] == unit]
    parts = []
    for row in rows.itertuples():
        if row.kind == "stage":
            parts.append(f"{_words(row.stage)}: {_fmt(row.count)}")
        elif row.kind == "excluded":
            parts.append(f"less {_fmt(row.count)} {_words(row.reason)}")
    return f"Flow diagram of the {unit}, stage by stage: " + "; ".join(parts) + "."


def _fmt(value) -> str:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value)


# --- counts ----------------------------------------------------------------------------------------

@styled
def grouped_bars(table: pd.DataFrame, category: str, group: str, value: str, xlabel: str):
    """Horizontal bars: one block per category, one bar per group, each count written at its end ('c' where suppressed)."""
    cats = list(dict.fromkeys(table[category]))
    groups = [g for g in dict.fromkeys(table[group]) if not all_zero(table, group, g, value)]   # said in the alt text
    if not groups:
        return NotDrawn(f"The chart of {xlabel} is not drawn: every group is 0 here.")
    if all(number(v) is None for v in table[value]):
        return NotDrawn(f"The chart of {xlabel} is not drawn: every number is not shown (c), so that a small "
                        "number cannot be worked out.")
    height = 0.38 * len(cats) * len(groups) + 0.35 * len(cats) + 1.0
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    bar = 0.8 / len(groups)
    top = max([number(v) or 0 for v in table[value]] + [1])
    labels, ticks = [], []
    for i, cat in enumerate(cats):
        for j, g in enumerate(groups):
            y = i + (j - (len(groups) - 1) / 2) * bar
            hit = table[(table[category] == cat) & (table[group] == g)]
            v = number(hit[value].iloc[0]) if len(hit) else None
            ax.barh(y, v or 0, height=bar * 0.9, color=PALETTE[j % len(PALETTE)])
            ax.text((v or 0) + top * 0.01, y, f"{g}: " + (count_text(v) if len(hit) else "none"), va="center", ha="left")
            ticks.append(y)
        labels.append(str(cat))
    ax.set_yticks(range(len(cats)), labels)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(cats) - 0.5, -0.5)
    ax.set_xlim(0, top * 1.45)
    ax.set_xlabel(xlabel, loc="left")
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    fig.tight_layout()
    return fig


def all_zero(table: pd.DataFrame, group: str, level, value: str) -> bool:
    """Whether every published value of one group is 0 (such a group is not drawn; no bar to see)."""
    return all(number(v) == 0 for v in table.loc[table[group] == level, value])


def grouped_alt(table: pd.DataFrame, category: str, group: str, value: str, what: str) -> str:
    zero = [str(g) for g in dict.fromkeys(table[group]) if all_zero(table, group, g, value)]
    if zero:
        return (grouped_alt(table[~table[group].isin(zero)], category, group, value, what)
                + f" Not drawn, 0 in every {category.replace('_', ' ')}: {', '.join(zero)}.")
    parts = []
    for cat, sub in table.groupby(category, sort=False):
        parts.append(f"{cat}: " + ", ".join(f"{g} {count_text(v)}" for g, v in zip(sub[group], sub[value])))
    return f"Bar chart of {what}. " + "; ".join(parts) + "."


@styled
def bar_counts(series: pd.Series, title: str, xlabel: str, ylabel: str, log: bool = False):
    """Horizontal bars of counts (index = category), each written at its end; 'c' where suppressed."""
    values = pd.to_numeric(series, errors="coerce")
    if values.isna().all():
        return NotDrawn(f"The chart of {ylabel} is not drawn: every number is not shown (c), so that a small "
                        "number cannot be worked out.")
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 * len(series) + 1.2))
    labels = [str(i) for i in series.index]
    ax.barh(range(len(labels)), values.fillna(0), color=PALETTE[0])
    top = float(values.max()) if values.notna().any() else 1.0
    for i, v in enumerate(values):
        ax.text((0 if pd.isna(v) else v) + top * 0.01, i, "c" if pd.isna(v) else f"{int(v):,}", va="center")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.6)
    ax.set_xlim(0, top * 1.2)
    if log:
        ax.set_xscale("log")
    ax.set_ylabel(xlabel)
    ax.set_xlabel(ylabel, loc="left")
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    fig.tight_layout()
    return fig


def counts_alt(series: pd.Series, what: str) -> str:
    return f"Bar chart of {what}: " + "; ".join(f"{i}: {count_text(v)}" for i, v in series.items()) + "."


# --- odds ratios -----------------------------------------------------------------------------------

def forest_rows(ors: pd.DataFrame, prefix: str = "") -> pd.DataFrame:
    """Published odds ratios that can be drawn (numbers, not suppressed), with their outcome and term."""
    if "odds_ratio" not in ors:
        return ors.iloc[0:0]
    keep = ors["term"].astype(str).str.startswith(prefix) & ors["odds_ratio"].map(lambda v: number(v) is not None)
    return ors[keep].reset_index(drop=True)


def term_label(term: str) -> str:
    from analysis.render.words import plain_text

    return plain_text(str(term))


@styled
def forest_chart(ors: pd.DataFrame, prefix: str = ""):
    """Odds ratios on a log scale with 95% intervals, one block per outcome, each value written beside it."""
    rows = forest_rows(ors, prefix)
    if rows.empty:
        return NotDrawn("The chart of adjusted odds ratios is not drawn: no model estimate can be shown here (a "
                        "model is not shown (c) where it rests on a hidden number, or it could not be estimated).")
    lines = []
    for outcome, sub in rows.groupby("outcome", sort=False):
        lines.append(("header", outcome_label(outcome), None))
        lines += [("row", term_label(r["term"]), r) for _, r in sub.iterrows()]
    fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * len(lines) + 1.3))
    from matplotlib.transforms import blended_transform_factory

    right_column = blended_transform_factory(ax.transAxes, ax.transData)   # the values, in a column of their own
    ax.axvline(1, color="#3D3D3D", lw=1)
    lows = [number(r["ci_low"]) for k, _, r in lines if k == "row"]
    highs = [number(r["ci_high"]) for k, _, r in lines if k == "row"]
    lo = min([v for v in lows if v] + [0.5]) / 1.3
    hi = max([v for v in highs if v] + [2.0])
    for y, (kind, _, r) in enumerate(lines):
        if kind == "header":
            continue
        orr, low, high = number(r["odds_ratio"]), number(r["ci_low"]), number(r["ci_high"])
        colour = PALETTE[3] if str(r.get("note") or "") not in ("", "nan") else PALETTE[0]
        if low and high:
            ax.plot([low, high], [y, y], color=colour, lw=2.5)
        ax.plot([orr], [y], "s" if colour == PALETTE[3] else "o", color=colour, ms=7)
        text = f"{orr:.2f} ({low:.2f} to {high:.2f})" if low and high else f"{orr:.2f}"
        if colour == PALETTE[3]:
            text += " *"
        ax.text(1.03, y, text, va="center", ha="left", transform=right_column)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi * 1.3)
    wide = math.log10(hi * 1.3 / lo) > 2   # a narrow axis over many decades: powers of ten only, so labels never touch
    ticks = [t for t in ((0.01, 0.1, 1, 10, 100) if wide else (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100))
             if lo <= t <= hi * 1.3]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    _label_rows(ax, lines)
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("adjusted odds ratio (log scale, 95% interval)", loc="left")
    fig.tight_layout()
    fig.subplots_adjust(right=0.66)   # the column of values to the right of the axes
    return fig


def forest_alt(ors: pd.DataFrame, prefix: str = "") -> str:
    rows = forest_rows(ors, prefix)
    parts = []
    for outcome, sub in rows.groupby("outcome", sort=False):
        parts.append(f"{outcome_label(outcome)}: " + "; ".join(
            f"{term_label(r['term'])} {number(r['odds_ratio']):.2f} (95% interval {number(r['ci_low']):.2f} to "
            f"{number(r['ci_high']):.2f})" for _, r in sub.iterrows()))
    return "Forest plot of adjusted odds ratios against the reference levels. " + ". ".join(parts) + "."


# --- funnel plots ----------------------------------------------------------------------------------

def funnel_shown(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["pct"].map(lambda v: isinstance(v, float) and not math.isnan(v))]


@styled
def funnel_chart(table: pd.DataFrame, summary: dict, xlabel: str, ylabel: str, highlight: str | None = None,
                 label_column: str = "unit", method: str | None = None):
    """Funnel plot: authorities shown, the overall line and 95% and 99.8% limits (of the kind and widening the
    summary records, so the lines are those the positions were judged against)."""
    from analysis.stats.funnel import control_limits as _limits

    method = method or summary.get("limits", "wilson")
    phi = summary.get("phi_applied") or 1.0

    def control_limits(p0, n, conf, kind):
        return _limits(p0, n, conf, kind, phi)

    shown = funnel_shown(table)
    if summary.get("overall_pct") is None or shown.empty:
        return NotDrawn("The funnel plot is not drawn: " + ("the overall figure is not published"
                        if summary.get("overall_pct") is None else "no authority's value is published") + ".")
    fig, ax = plt.subplots(figsize=(WIDTH, 4.6))
    p0 = summary["overall_pct"] / 100
    dens = shown["denominator"].astype(float)
    nmax, nmin = max(float(dens.max()), 10.0), max(1.0, 0.8 * float(dens.min()))
    grid = np.unique(np.round(np.geomspace(nmin, nmax * 1.05, 300)).astype(int))
    for conf, style in ((0.95, "--"), (0.998, ":")):
        lo, hi = control_limits(p0, grid, conf, method)
        ax.plot(grid, 100 * lo, style, color="#3D3D3D", lw=1.2)
        ax.plot(grid, 100 * hi, style, color="#3D3D3D", lw=1.2)   # which is which: in the caption (too close to label)
    ax.axhline(100 * p0, color="#3D3D3D", lw=1.2)
    from matplotlib.transforms import blended_transform_factory

    ax.text(0.99, 100 * p0, f"overall {100 * p0:.1f}%", va="bottom", ha="right",   # at the right edge, clear of points
            transform=blended_transform_factory(ax.transAxes, ax.transData),
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    outside = shown["position"] != "within limits"
    ax.scatter(shown.loc[~outside, "denominator"], shown.loc[~outside, "pct"], s=40, color=PALETTE[0],
               label="authority within the 95% limits", zorder=3)
    ax.scatter(shown.loc[outside, "denominator"], shown.loc[outside, "pct"], s=50, marker="D", color=PALETTE[3],
               label="authority outside the 95% limits", zorder=3)
    marked = [(code, shown[shown[label_column] == code]) for code in highlighted(highlight)]
    marked = sorted(((c, h) for c, h in marked if len(h)), key=lambda ch: -float(ch[1]["pct"].iloc[0]))
    for i, (code, hit) in enumerate(marked):   # one authority, or each of several (rhi batch --la A --la B)
        ax.scatter(hit["denominator"], hit["pct"], s=220, facecolor="none", edgecolor="black", lw=2, zorder=5)
        ax.annotate(_short_name(code), (float(hit["denominator"].iloc[0]), float(hit["pct"].iloc[0])),
                    xytext=(10, 10 if i % 2 == 0 else -22), textcoords="offset points", fontweight="bold")   # apart
    ax.set_ylabel(ylabel)
    top = max([100 * control_limits(p0, grid[:1], 0.998, method)[1][0]] + list(shown["pct"].astype(float)))
    ax.set_ylim(0, min(100.0, top * 1.1 + 1))
    ax.set_xscale("log")   # every funnel plot on a log axis, so that no page mixes log and linear axes
    ax.set_xlabel(f"{xlabel} (log scale)", loc="left")
    ax.set_xlim(left=nmin * 0.8, right=nmax * 1.6)
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))   # plain numbers: 200, 500, 1,000
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    if outside.any():
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)   # above the plot: never over a point
    fig.tight_layout()
    return fig


def highlighted(highlight) -> list[str]:
    """The authorities to highlight: None, one code, several separated by commas, or a list of codes."""
    if not highlight:
        return []
    if isinstance(highlight, str):
        return [c.strip() for c in highlight.split(",") if c.strip()]
    return [str(c) for c in highlight]


def _short_name(code: str) -> str:
    from analysis.render.words import la_name

    return la_name(code) or str(code)


def funnel_view(table: pd.DataFrame) -> pd.DataFrame:
    """A funnel plot's table as the page shows it: each authority by name (from the shipped DfE list) and code,
    without the measure's code repeated on every row."""
    from analysis.render.words import la_name

    out = table.drop(columns=["measure"], errors="ignore").rename(columns={"unit": "la_code"})
    if "la_name" not in out:
        out.insert(0, "la_name", [la_name(c) or "not in DfE's list" for c in out["la_code"]])
    return out


def funnel_alt(table: pd.DataFrame, summary: dict, what: str, highlight: str | None = None,
               label_column: str = "unit") -> str:
    shown = funnel_shown(table)
    overall = number(summary.get("overall_pct"))
    what = what.removesuffix(" (%)")
    text = (f"Funnel plot of {what} by authority against its denominator. "
            + ("No overall figure. " if overall is None else f"Overall {overall:.1f}%. ") +
            f"{len(shown)} authorities shown: {summary.get('above 99.8% limit', 0)} above and "
            f"{summary.get('below 99.8% limit', 0)} below the 99.8% limits, "
            f"{summary.get('above 95% limit', 0)} above and {summary.get('below 95% limit', 0)} below the 95% limits only.")
    if len(shown) <= 12:
        text += " " + "; ".join(f"{r[label_column]}: {value_text(r)}" for _, r in shown.iterrows()) + "."
    for code in highlighted(highlight):
        hit = table[table[label_column] == code]
        if len(hit):
            text += f" Highlighted {_short_name(code)}: {value_text(hit.iloc[0])}, {hit.iloc[0]['position']}."
    return text


def funnel_caption(label: str, summary: dict, where: str = "") -> str:
    """What the funnel plot shows and what its lines are (the kind of limits, and any widening)."""
    kind = summary.get("limit_type") or "control limits"   # names any widening for overdispersion
    text = (f"{label[0].upper() + label[1:]}, by authority{where}. The solid line is the overall figure; the dashed and "
            f"dotted lines are the 95% and 99.8% control limits around it ({kind}).")
    if summary.get("overdispersion_adjusted"):
        from analysis.stats.funnel import PHI_CAVEAT

        text += " " + PHI_CAVEAT
    return text
