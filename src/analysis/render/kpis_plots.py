"""Charts and headline sentences for the delivery indicators (notebook 04).

Context lines come from the ``context`` block of the published-figures
reference, only where the figure is national or from a published national source
(one council's own figures are not a benchmark for another, so they are not drawn);
they are drawn dashed, labelled "context" with their source, and never mixed with
the data. A chart whose every value is hidden is not drawn: one line says so.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.disclosure import SUPPRESSED, is_symbol
from analysis.render.narrative import SHORT_SOURCES, citation
from analysis.render.plots import PALETTE, WIDTH, NotDrawn, count_text, number, styled, value_text
from analysis.definitions.kpis import CLOCK_HOURS, CLOCKS, HOURS_LABELS, SETTING_LABELS, SETTINGS

CONTEXT = {  # measure shown on a chart -> reference context id (national or published national sources only)
    "offered": "rhi_offered_share", "completed": "rhi_completed_share_of_missing_cases_avg",
    "declined": "rhi_offers_declined_share",
}
HIDDEN_CHART = "every number is not shown (c), so that a small number cannot be worked out"
HOURS_WORDS = {"up to 24 h": "up to 24 h", "24-48 h": "24 to 48 h", "48-72 h": "48 to 72 h",
               "72 h-5 days": "72 h to 5 days", "5-7 days": "5 to 7 days", "over 7 days": "over 7 days"}


def _all_hidden(values) -> bool:
    return all(_value(v) is None for v in values)


def context_lines(reference: dict) -> dict[str, dict]:
    """Context id -> {'pct', 'source', 'short'}: the source's title, publisher and year (not the reference's note)."""
    return {c["id"]: {"pct": c.get("pct"), "source": citation(c["id"], c.get("source", "")),
                      "short": SHORT_SOURCES.get(c["id"], citation(c["id"], c.get("source", "")))}
            for c in reference.get("context", [])}


def context_note(context: dict, keys) -> str:
    """The caption's sentence naming each context line drawn and its source in full."""
    items = [(CONTEXT[k], context.get(CONTEXT[k])) for k in keys if k in CONTEXT]
    said = [f"{item['pct']:g}%: {item['source']}" for _, item in items if item and item.get("pct") is not None]
    return ("Dashed grey lines are context from other sources, not these data (" + "; ".join(said) + ")."
            if said else "")


def _draw_context(ax, context: dict, key: str, orient: str = "h", short: bool = False) -> None:
    item = context.get(CONTEXT.get(key, ""))
    if not item or item.get("pct") is None:
        return
    line = ax.axhline if orient == "h" else ax.axvline
    line(item["pct"], color="grey", linestyle="--", linewidth=1)
    if short:   # no room for a label beside the lines: the caption names the context line and its source
        return
    text = f"context: {item['pct']:g}% ({item['short']})"
    if orient == "h":
        ax.annotate(text, (0.99, item["pct"]), xycoords=("axes fraction", "data"), color="#3D3D3D",
                    va="bottom", ha="right", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    else:
        ax.annotate(text, (item["pct"], 0.98), xycoords=("data", "axes fraction"), color="#3D3D3D",
                    rotation=90, ha="right", va="top")


def _setting_bars(ax, card: pd.DataFrame, measure: str, colour: str) -> None:
    """One bar per setting for a scorecard measure, with its 95% interval; 'c' or 'none' where there is no bar."""
    rows = card[(card["group"] == "setting") & (card["measure"] == measure)].set_index("value").reindex(list(SETTINGS))
    pct = [_value(v) for v in rows["pct"]]
    low = [p - _value(lo) if p is not None else 0 for p, lo in zip(pct, rows["ci_low"])]
    high = [_value(hi) - p if p is not None else 0 for p, hi in zip(pct, rows["ci_high"])]
    ax.bar(range(len(SETTINGS)), [p or 0 for p in pct], color=colour, yerr=[[max(0, v) for v in low], high],
           ecolor="#3D3D3D", capsize=3)
    for x, (p, den) in enumerate(zip(pct, rows["denominator"])):
        ax.annotate("none" if p is None and number(den) == 0 else "c" if p is None else f"{p:.0f}%", (x, (p or 0) + 1),
                    ha="center", va="bottom", xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(SETTINGS)), [_setting_label(s) for s in SETTINGS])
    ax.set_ylim(0, 100)


def _setting_label(setting: str) -> str:
    return {"home": "home", "care_in_area": "care,\nin area", "care_out_of_area": "care, out\nof area",
            "not recorded": "not\nrecorded"}.get(setting, SETTING_LABELS.get(setting, setting))


@styled
def refusals_and_repeats(card: pd.DataFrame, context: dict):
    """Share of offered episodes declined, and of episodes that are repeats, by setting, with context lines."""
    shown = card[(card["group"] == "setting") & card["measure"].isin(["offered episodes declined", "repeat episodes"])]
    if _all_hidden(shown["pct"]):
        return NotDrawn(f"The chart of offers declined and repeat episodes is not drawn: {HIDDEN_CHART}.")
    fig, (left, right) = plt.subplots(2, 1, figsize=(WIDTH, 8))
    _setting_bars(left, card, "offered episodes declined", PALETTE[2])
    _draw_context(left, context, "declined")
    left.set_ylabel("% of offered episodes (95% CI)")
    left.set_title("Offers declined")
    _setting_bars(right, card, "repeat episodes", PALETTE[0])
    right.set_ylabel("% of episodes (95% CI)")
    right.set_title("Repeat episodes")
    fig.tight_layout()
    return fig


def _value(x):
    return None if x is None or is_symbol(x) or pd.isna(x) else float(x)


@styled
def funnel_by_setting(card: pd.DataFrame, context: dict):
    """Share of episodes offered, accepted and completed, by setting, with 95% intervals."""
    states = ("offered", "accepted", "completed")
    shown = card[(card["group"] == "setting") & card["measure"].isin([f"episodes with an RHI {s}" for s in states])]
    if _all_hidden(shown["pct"]):
        return NotDrawn(f"The chart of RHIs offered, accepted and completed is not drawn: {HIDDEN_CHART}.")
    fig, ax = plt.subplots(figsize=(WIDTH, 5))
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
        ax.bar(xs, heights, width, label=state, yerr=[lows, highs], ecolor="#3D3D3D", capsize=2, color=PALETTE[i])
        for x, p, den in zip(xs, pct, rows["denominator"]):
            if p is None:   # upright, one per bar: side by side they never run together
                ax.annotate("none" if number(den) == 0 else "c", (x, 1), ha="center", va="bottom", rotation=90)
    _draw_context(ax, context, "offered")
    _draw_context(ax, context, "completed")
    ax.set_xticks(range(len(SETTINGS)), [_setting_label(s) for s in SETTINGS])
    ax.set_ylabel("% of episodes (95% CI)")
    ax.set_ylim(0, 110)
    ax.legend(loc="upper left", ncol=3, frameon=False)
    fig.tight_layout()
    return fig


@styled
def time_to_interview(dist: pd.DataFrame):
    """Completed RHIs by hours to the interview, from the return and from the offer, with the 72-hour limit marked."""
    if _all_hidden([v for clock in CLOCKS for v in dist[clock]]):
        return NotDrawn(f"The chart of hours to the interview is not drawn: {HIDDEN_CHART}.")
    fig, ax = plt.subplots(figsize=(WIDTH, 4.4))
    width = 0.4
    for i, (clock, label) in enumerate(CLOCKS.items()):
        counts = [_value(v) or 0 for v in dist[clock]]
        xs = [j + (i - 0.5) * width for j in range(len(counts))]
        ax.bar(xs, counts, width, label=label, color=(PALETTE[0], PALETTE[1])[i])
        for x, v in zip(xs, dist[clock]):
            if v == SUPPRESSED:
                ax.annotate("c", (x, 0.5), ha="center")
    limit = HOURS_LABELS.index("48-72 h") + 0.5
    ax.axvline(limit, color="black", linestyle=":", linewidth=1)
    ax.annotate(f"{CLOCK_HOURS} hours", (limit, 1.01), xycoords=("data", "axes fraction"), ha="center", va="bottom")   # above the bars
    ax.set_xticks(range(len(dist)), [HOURS_WORDS.get(str(h), str(h)) for h in dist["hours"]], rotation=45, ha="right")
    ax.set_xlabel("hours to the interview")
    ax.set_ylabel("completed RHIs")
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    return fig


@styled
def monthly_trend(month: pd.DataFrame, context: dict):
    """Two panels sharing the months: episodes per month (bars), and the shares offered, completed and on time (lines)."""
    if _all_hidden(month["episodes"]):
        return NotDrawn(f"The month-by-month chart is not drawn: {HIDDEN_CHART}.")
    fig, (ax, right) = plt.subplots(2, 1, figsize=(WIDTH, 7), sharex=True, height_ratios=(1, 1.6))
    episodes = [_value(v) or 0 for v in month["episodes"]]
    ax.bar(month["month"], episodes, color=PALETTE[4])
    ax.set_ylabel("episodes")
    labels = []
    for i, (column, style, label) in enumerate((("offered_pct", "-o", "offered"), ("completed_pct", "-s", "completed"),
                                                (f"within_{CLOCK_HOURS}h_pct", "--^", f"within {CLOCK_HOURS} h"))):
        values = [_value(v) for v in month[column]]
        right.plot(month["month"], values, style, color=PALETTE[i], label=label)
        last = [(m, v) for m, v in zip(month["month"], values) if v is not None]
        if last:
            labels.append((last[-1][1], label, PALETTE[i], last[-1][0]))
    placed = []   # direct labels at the line ends, moved apart so that they never overlap
    for value, label, colour, m in sorted(labels, key=lambda t: -t[0]):
        y = value if not placed else min(value, placed[-1] - 8)
        placed.append(y)
        right.annotate(label, (m, value), xytext=(len(month) - 0.6, y), textcoords="data", va="center", color=colour,
                       fontweight="bold", arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.8})
    _draw_context(right, context, "completed", short=True)
    right.set_ylim(0, 100)
    right.set_ylabel("% of episodes")
    right.tick_params(axis="x", labelrotation=90)
    right.set_xlim(-0.5, len(month) + 2.8)
    fig.tight_layout()
    return fig


@styled
def decline_reasons_chart(reasons: pd.DataFrame):
    """Declined RHIs by reason: % of declined RHIs on the axis, each bar labelled with its % and count."""
    if _all_hidden(reasons["pct"]):
        return NotDrawn(f"The chart of reasons RHIs were declined is not drawn: {HIDDEN_CHART}.")
    from analysis.render.words import plain_value

    fig, ax = plt.subplots(figsize=(WIDTH, 0.5 * len(reasons) + 1.3))
    pct = [_value(v) or 0 for v in reasons["pct"]]
    ax.barh([plain_value("reason", str(r)) for r in reasons["reason"]], pct, color=PALETTE[2])
    for i, (_, row) in enumerate(reasons.iterrows()):
        ax.annotate(" " + value_text(row), (pct[i], i), va="center")
    ax.set_xlim(0, 100 * 1.6 if max(pct + [0]) > 60 else 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("% of declined RHIs", loc="left")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def headline_sentences(card: pd.DataFrame, timeliness: pd.DataFrame, place: str = "") -> list[str]:
    """Plain sentences from the numbers; a hidden number is "not shown (c)", never called small."""
    overall = card[(card["group"] == "all")].set_index("measure")

    def n(value):
        return "not shown (c)" if is_symbol(value) else f"{int(value):,}"

    def share(measure):
        """'459 of 799 (57%)', or None where a number of it is hidden."""
        row = overall.loc[measure]
        if any(is_symbol(v) for v in (row["count"], row["denominator"], row["pct"])) or pd.isna(row["pct"]):
            return None
        return f"{int(row['count']):,} of {int(row['denominator']):,} ({row['pct']:.0f}%)"

    where = f"{place}: " if place else ""
    offered, completed, declined = (share(m) for m in ("episodes with an RHI offered", "episodes with an RHI completed",
                                                        "offered episodes declined"))
    done = (f"an RHI was offered for {offered} and completed for {completed}" if offered and completed else
            f"an RHI was offered for {offered}; the number completed is not shown (c)" if offered else
            f"an RHI was completed for {completed}; the number offered is not shown (c)" if completed else
            "the numbers of RHIs offered and completed are not shown (c)")
    out = [f"{where}{n(overall.loc['episodes', 'count'])} missing episodes of "
           f"{n(overall.loc['children missing', 'count'])} children were notified (every police grade); {done}; "
           + (f"{declined} of the offers were declined." if declined else "the number of offers declined is not shown (c).")]
    ret = timeliness.iloc[0]
    shown = [ret[c] for c in ("within_72h_count", "within_72h_denominator", "within_72h_pct", "median_hours")]
    if any(is_symbol(v) for v in shown):
        out.append(f"How many completed RHIs took place within {CLOCK_HOURS} hours of the child's return is not shown "
                   "(c), so that a small number cannot be worked out.")
    elif not ret["within_72h_denominator"]:
        out.append("No completed RHI could be timed from the child's return.")
    else:
        out.append(f"{int(ret['within_72h_count']):,} of {int(ret['within_72h_denominator']):,} completed RHIs "
                   f"({ret['within_72h_pct']:.0f}%) took place within {CLOCK_HOURS} hours of the child's return "
                   f"(median {ret['median_hours']} hours).")
    return out


# --- alternative text, from the same data as each chart ----------------------------------------------

def _setting_values(card: pd.DataFrame, measure: str) -> str:
    rows = card[(card["group"] == "setting") & (card["measure"] == measure)]
    return "; ".join(f"{SETTING_LABELS.get(r['value'], r['value'])} {value_text(r)}" for _, r in rows.iterrows())


def by_setting_alt(card: pd.DataFrame) -> str:
    return ("Bar chart of the share of missing episodes with an RHI offered, accepted and completed, by where the "
            "child went missing from. " + ". ".join(f"{state.capitalize()}: "
            + _setting_values(card, f"episodes with an RHI {state}") for state in ("offered", "accepted", "completed"))
            + ".")


def refusals_alt(card: pd.DataFrame) -> str:
    return ("Two bar charts by where the child went missing from. Offered episodes declined: "
            + _setting_values(card, "offered episodes declined") + ". Repeat episodes: "
            + _setting_values(card, "repeat episodes") + ".")


def time_alt(dist: pd.DataFrame) -> str:
    parts = []
    for clock, label in CLOCKS.items():
        parts.append(f"{label}: " + "; ".join(f"{h} {count_text(v)}" for h, v in zip(dist["hours"], dist[clock])))
    return "Bar chart of completed RHIs by hours to the interview. " + ". ".join(parts) + "."


def monthly_alt(month: pd.DataFrame) -> str:
    parts = []
    for _, r in month.iterrows():
        bits = [f"{count_text(r['episodes'])} episodes"]
        for stem, word, den in (("offered", "offered", "episodes"), ("completed", "completed", "episodes"),
                                (f"within_{CLOCK_HOURS}h", f"within {CLOCK_HOURS} h", "completed_count")):
            v = number(r.get(f"{stem}_pct"))
            of = f" ({count_text(r.get(f'{stem}_count'))} of {count_text(r.get(den))})" if v is not None else ""
            bits.append(f"{word} {'c' if v is None else f'{v:.1f}%'}{of}")
        parts.append(f"{r['month']}: " + ", ".join(bits))
    return "Monthly episodes and the shares offered, completed and completed on time. " + "; ".join(parts) + "."


def decline_alt(reasons: pd.DataFrame) -> str:
    return ("Bar chart of declined RHIs by reason, as a share of declined RHIs: "
            + "; ".join(f"{_reason(r['reason'])} {value_text(r)}" for _, r in reasons.iterrows()) + ".")


def _reason(code) -> str:
    from analysis.render.words import plain_value

    return str(plain_value("reason", str(code))).lower()


def delivery_record(tables: dict) -> dict:
    """The ``delivery`` block of figures.json, from the published delivery tables."""
    from analysis.render.narrative import _records

    out = {}
    if tables.get("scorecard") is not None:
        card = tables["scorecard"]
        out["scorecard_all"] = _records(card[card["group"] == "all"])
    if tables.get("timeliness") is not None:
        out["timeliness"] = _records(tables["timeliness"])
    return out
