"""Charts and headline sentences for the delivery indicators (notebook 04).

Context lines come from the ``context`` block of the published-figures
reference (national and other authorities' figures quoted by the seeds), are
drawn dashed and labelled "context", and are never mixed with the data.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from .disclosure import SUPPRESSED
from .kpis import CLOCK_HOURS, CLOCKS, HOURS_LABELS, SETTING_LABELS, SETTINGS

CONTEXT = {  # measure shown on a chart -> reference context id
    "offered": "rhi_offered_share", "completed": "rhi_completed_share_of_missing_cases_avg",
    "declined": "rhi_offers_declined_share", "repeat": "one_la_recurrent_missing_share",
    "refused": "one_la_rhi_refused_share",
}


def context_lines(reference: dict) -> dict[str, dict]:
    """Context id -> {'pct', 'source'} from the reference's context block."""
    return {c["id"]: {"pct": c.get("pct"), "source": c.get("source", "")} for c in reference.get("context", [])}


def _draw_context(ax, context: dict, key: str, orient: str = "h") -> None:
    item = context.get(CONTEXT.get(key, ""))
    if not item or item.get("pct") is None:
        return
    line = ax.axhline if orient == "h" else ax.axvline
    line(item["pct"], color="grey", linestyle="--", linewidth=1)
    text = f"context: {item['pct']:g}% ({item['source']})"
    if orient == "h":
        ax.annotate(text, (0.99, item["pct"]), xycoords=("axes fraction", "data"), fontsize=7, color="dimgrey",
                    va="bottom", ha="right", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    else:
        ax.annotate(text, (item["pct"], 0.98), xycoords=("data", "axes fraction"), fontsize=7, color="dimgrey",
                    rotation=90, ha="right", va="top")


def _setting_bars(ax, card: pd.DataFrame, measure: str, colour: str) -> None:
    """One bar per setting for a scorecard measure, with its 95% interval; 'c' or 'none' where there is no bar."""
    rows = card[(card["group"] == "setting") & (card["measure"] == measure)].set_index("value").reindex(list(SETTINGS))
    pct = [_value(v) for v in rows["pct"]]
    low = [p - _value(lo) if p is not None else 0 for p, lo in zip(pct, rows["ci_low"])]
    high = [_value(hi) - p if p is not None else 0 for p, hi in zip(pct, rows["ci_high"])]
    ax.bar(range(len(SETTINGS)), [p or 0 for p in pct], color=colour, yerr=[[max(0, v) for v in low], high], capsize=3)
    for x, (p, den) in enumerate(zip(pct, rows["denominator"])):
        if p is None:
            ax.annotate("none" if den == 0 else "c", (x, 1), ha="center", fontsize=8)
    ax.set_xticks(range(len(SETTINGS)), [SETTING_LABELS[s].replace("placement ", "placement\n") for s in SETTINGS],
                  fontsize=7)
    ax.set_ylim(0, 100)


def refusals_and_repeats(card: pd.DataFrame, context: dict):
    """Share of offered episodes declined, and of episodes that are repeats, by setting, with context lines."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    _setting_bars(left, card, "offered episodes declined", "tab:red")
    _draw_context(left, context, "declined")
    _draw_context(left, context, "refused")
    left.set_ylabel("% of offered episodes (95% CI)")
    left.set_title("Offers declined")
    _setting_bars(right, card, "repeat episodes", "tab:purple")
    _draw_context(right, context, "repeat")
    right.set_ylabel("% of episodes (95% CI)")
    right.set_title("Repeat episodes")
    fig.tight_layout()
    return fig


def _value(x):
    return None if x in (SUPPRESSED, None) or pd.isna(x) else float(x)


def funnel_by_setting(card: pd.DataFrame, context: dict):
    """Share of episodes offered, accepted and completed, by setting, with 95% intervals."""
    fig, ax = plt.subplots(figsize=(8, 4))
    states = ("offered", "accepted", "completed")
    width = 0.8 / len(states)
    for i, state in enumerate(states):
        rows = card[(card["group"] == "setting") & (card["measure"] == f"episodes with an RHI {state}")]
        rows = rows.set_index("value").reindex(list(SETTINGS))
        pct = [_value(v) for v in rows["pct"]]
        xs = [j + (i - 1) * width for j in range(len(SETTINGS))]
        heights = [p if p is not None else 0 for p in pct]
        lows = [max(0.0, p - _value(lo)) if p is not None and _value(lo) is not None else 0
                for p, lo in zip(pct, rows["ci_low"])]
        highs = [_value(hi) - p if p is not None and _value(hi) is not None else 0 for p, hi in zip(pct, rows["ci_high"])]
        ax.bar(xs, heights, width, label=state, yerr=[lows, highs], capsize=2)
        for x, p, den in zip(xs, pct, rows["denominator"]):
            if p is None:
                ax.annotate("c" if den not in (0, None) else "none", (x, 1), ha="center", fontsize=7)
    _draw_context(ax, context, "offered")
    _draw_context(ax, context, "completed")
    ax.set_xticks(range(len(SETTINGS)), [SETTING_LABELS[s] for s in SETTINGS], fontsize=8)
    ax.set_ylabel("% of episodes (95% CI)")
    ax.set_ylim(0, 100)
    ax.set_title("RHIs offered, accepted and completed, by where the child went missing from")
    ax.legend(fontsize=8, loc="upper left", ncol=3)
    fig.tight_layout()
    return fig


def time_to_interview(dist: pd.DataFrame):
    """Completed RHIs by hours to the interview, from the return and from the offer, with the 72-hour limit marked."""
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    width = 0.4
    for i, (clock, label) in enumerate(CLOCKS.items()):
        counts = [_value(v) or 0 for v in dist[clock]]
        xs = [j + (i - 0.5) * width for j in range(len(counts))]
        ax.bar(xs, counts, width, label=label, color=("tab:blue", "tab:grey")[i])
        for x, v in zip(xs, dist[clock]):
            if v == SUPPRESSED:
                ax.annotate("c", (x, 0.5), ha="center", fontsize=8)
    limit = HOURS_LABELS.index("48-72 h") + 0.5
    ax.axvline(limit, color="black", linestyle=":", linewidth=1)
    ax.annotate(f"{CLOCK_HOURS} hours ", (limit, 0.95), xycoords=("data", "axes fraction"), ha="right", fontsize=8)
    ax.set_xticks(range(len(dist)), dist["hours"], fontsize=8)
    ax.set_ylabel("completed RHIs")
    ax.set_title("Time to the interview")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def monthly_trend(month: pd.DataFrame, context: dict):
    """Episodes per month (bars); the share offered and completed, and of completed within 72 hours (lines)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    episodes = [_value(v) or 0 for v in month["episodes"]]
    ax.bar(month["month"], episodes, color="lightsteelblue", label="episodes")
    ax.set_ylabel("episodes")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    right = ax.twinx()
    for column, style, label in (("offered_pct", "-o", "% offered"), ("completed_pct", "-s", "% completed"),
                                 (f"within_{CLOCK_HOURS}h_pct", ":^", f"% of completed within {CLOCK_HOURS} h")):
        right.plot(month["month"], [_value(v) for v in month[column]], style, label=label)
    _draw_context(right, context, "completed")
    right.set_ylim(0, 100)
    right.set_ylabel("%")
    right.legend(fontsize=7, loc="upper left")
    ax.set_title("Month by month (suppressed months are gaps)")
    fig.tight_layout()
    return fig


def decline_reasons_chart(reasons: pd.DataFrame):
    """Declined RHIs by reason (share of declined offers)."""
    fig, ax = plt.subplots(figsize=(7, 3))
    pct = [_value(v) or 0 for v in reasons["pct"]]
    ax.barh(reasons["reason"].str.replace("_", " "), pct, color="tab:red")
    for i, v in enumerate(reasons["count"]):
        ax.annotate(f" {v}", (pct[i], i), va="center", fontsize=8)
    ax.set_xlabel("% of declined RHIs")
    ax.invert_yaxis()
    ax.set_title("Why RHIs were declined")
    fig.tight_layout()
    return fig


def headline_sentences(card: pd.DataFrame, timeliness: pd.DataFrame) -> list[str]:
    """Plain sentences from the numbers (suppressed values stay 'c')."""
    overall = card[(card["group"] == "all")].set_index("measure")

    def n(value):
        return value if value == SUPPRESSED else f"{int(value):,}"

    def part(measure):
        row = overall.loc[measure]
        if SUPPRESSED in (row["count"], row["denominator"], row["pct"]):
            return f"{n(row['count'])} of {n(row['denominator'])}"
        if row["pct"] is None or pd.isna(row["pct"]):
            return f"{n(row['count'])} of {n(row['denominator'])}"
        return f"{int(row['count']):,} of {int(row['denominator']):,} ({row['pct']:.0f}%)"

    out = [f"{n(overall.loc['episodes', 'count'])} missing episodes of {n(overall.loc['children missing', 'count'])} children: "
           f"an RHI was offered for {part('episodes with an RHI offered')} and completed for "
           f"{part('episodes with an RHI completed')}; {part('offered episodes declined')} offered episodes were declined."]
    ret = timeliness.iloc[0]
    shown = [ret[c] for c in ("within_72h_count", "within_72h_denominator", "within_72h_pct", "median_hours")]
    if SUPPRESSED in shown or not ret["within_72h_denominator"]:
        out.append("Too few completed RHIs to report how many were within 72 hours of the return.")
    else:
        out.append(f"{int(ret['within_72h_count']):,} of {int(ret['within_72h_denominator']):,} completed RHIs "
                   f"({ret['within_72h_pct']:.0f}%) took place within {CLOCK_HOURS} hours of the child's return "
                   f"(median {ret['median_hours']} hours).")
    return out
