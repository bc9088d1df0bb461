"""The section "This year against earlier years" (notebook 06): the years side by side, and DfE's years.

Everything shown comes from the run's publication (``years_figures`` and
``years_changes``, registered by :mod:`analysis.publish.years`, suppressed
once for the whole run) or from the DfE file shipped with the package
(:func:`analysis.definitions.trends.dfe_years_against_england`); nothing is
recomputed here. Charts follow the shared style of :mod:`analysis.render.plots`:
each has an ``*_alt`` companion writing its alternative text from the same
data, and a chart that cannot be drawn is a :class:`~analysis.render.plots.NotDrawn`.

- :func:`small_multiples`: one small panel per headline figure, the years on
  the x axis, each year's percentage with its 95% Wilson interval; a
  suppressed year is a gap marked ``c`` (never a zero); a partial year (not
  compared) is an open dot;
- :func:`change_sentences` and :func:`headlines`: the changes in plain words,
  flagged only where the Benjamini-Hochberg adjusted test supports it. Where the
  run hides the adjusted verdicts (an adjusted p-value rests on every test of its
  family, so one hidden count hides them all) but a test's own p-value is shown,
  the sentences adjust the shown p-values among themselves (Benjamini-Hochberg
  over the tests that can be shown: a smaller family chosen by disclosure
  control, not by the p-values) and say so; no new number is printed;
- :func:`dfe_table` and :func:`dfe_chart`: the authority's rate of looked-after
  children going missing for every year DfE published, beside England's.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.disclosure import NOT_AVAILABLE, SUPPRESSED, is_symbol
from analysis.publish.years import CHANGES_TABLE, FIGURES_TABLE, FLAG_WORDS
from analysis.render.plots import PALETTE, WIDTH, NotDrawn, count_text, number, styled
from analysis.render.words import place

LABELS = {"cse_victim": "Sexual exploitation disclosed", "cce_victim": "Criminal exploitation disclosed",
          "mental_health": "Mental-health issue disclosed", "cse_red_flag_any": "Any CSE red flag",
          "substance_misuse": "Substance misuse disclosed", "repeat_episodes": "Repeat episodes",
          "medium_low_share_of_coded": "Risk-coded episodes in scope",
          "one_to_one_offered_or_provided": "1-to-1 support offered or given"}
BASES = {"repeat_episodes": "in-scope episodes", "medium_low_share_of_coded": "risk-coded episodes"}
CAVEAT = ("No evidence of change is not evidence of no change: with a few hundred children a year, only large "
          "changes can be detected.")
SHARED = ("Years share children: a child missing in two years counts in both, and the tests treat the years as "
          "independent, which is conservative when a child's disclosures are alike from year to year.")
CLUSTERED = ("For the figures over episodes (repeat episodes, episodes in scope) the interval of a change and the "
             "tests count each child's episodes as if they were alike (effective counts). That allows for clustering "
             "but is not an upper bound: where children with many episodes differ from the others, the comparison "
             "can still be too liberal. The yearly intervals treat episodes as independent, as every table of the "
             "report does.")


def label(fid: str) -> str:
    return LABELS.get(fid, str(fid).replace("_", " "))


def base(fid: str) -> str:
    return BASES.get(fid, "RHI children")


# --- one reporting year, or several -----------------------------------------------------------------

def one_year_sentence(years) -> str:
    """What the section says when there is nothing to compare (``years``: the reporting years' labels)."""
    if not years:
        return "No episode in these data has a date it started, so there is no reporting year to show."
    if len(years) == 1:
        return (f"The data hold one reporting year ({years[0]}), so there is nothing to compare with "
                "earlier years.")
    return (f"The data hold {len(years)} reporting years, but their figures are not in this run's publication, "
            "so nothing is compared here.")


def _shown_family(changes: pd.DataFrame) -> dict:
    """Where the run hides every adjusted verdict but shows tests' own p-values: {row index: flag word or
    "no evidence of change"} from Benjamini-Hochberg over the tests whose p-values are shown. {} otherwise."""
    from analysis.definitions.trends import ALPHA
    from analysis.stats.association import bh_adjust

    hidden = [i for i, r in changes.iterrows() if r["verdict"] == SUPPRESSED and number(r["p_value"]) is not None]
    if not hidden or any(r["verdict"] in FLAG_WORDS or r["verdict"] == "no evidence of change"
                         for _, r in changes.iterrows()):
        return {}
    out = {}
    for i, q in zip(hidden, bh_adjust([number(changes.loc[i, "p_value"]) for i in hidden])):
        r = changes.loc[i]
        if q is None or q >= ALPHA:
            out[i] = "no evidence of change"
        elif r["test"] == "change" and number(r["difference_points"]) is not None:
            out[i] = "increase" if number(r["difference_points"]) > 0 else "decrease"
        else:
            out[i] = "a trend"
    return out


def verdicts(changes: pd.DataFrame) -> tuple[pd.DataFrame, int | None]:
    """The changes with each row's verdict as the sentences use it: the run's, or, where the run hides them all,
    from the tests that can be shown (:func:`_shown_family`); and that family's size (None: the run's own)."""
    changes = changes.reset_index(drop=True)
    family = _shown_family(changes)
    out = changes.copy()
    for i, word in family.items():
        out.loc[i, "verdict"] = word
    return out, (len(family) if family else None)


def change_sentences(changes: pd.DataFrame) -> list[str]:
    """The changes in plain words, from the published ``years_changes`` table.

    A figure is said to have changed only where its verdict (resting on the
    Benjamini-Hochberg adjusted p-value of its family) is a flag; the others are
    "no evidence of change", or the reason they could not be tested.
    """
    changes, family = verdicts(changes)
    adjusted = ("once the tests are adjusted for their number (Benjamini-Hochberg)" if family is None else
                f"once the {family} tests whose results can be shown are adjusted for their number (Benjamini-Hochberg)")
    out, quiet, hidden, untested = [], [], [], []
    for r in changes.to_dict("records"):
        verdict, name = r["verdict"], label(r["figure"])
        if verdict in FLAG_WORDS or verdict == "a trend":
            if r["test"] == "change":
                lo, hi = number(r["difference_low"]), number(r["difference_high"])
                q = "" if family else f"; adjusted p {_p_text(r['q_value_bh'])}"
                out.append(f"{name}: {verdict} from {r['years']}, {number(r['difference_points']):+.1f} percentage "
                           f"points (95% CI {lo:+.1f} to {hi:+.1f}; {r['method']}, p {_p_text(r['p_value'])}{q}); "
                           f"more than chance would explain {adjusted}.")
            else:
                q = "" if family else f", adjusted p {_p_text(r['q_value_bh'])}"
                trend = verdict if verdict == "a trend" else f"a {verdict} trend"
                out.append(f"{name}: {trend} over {r['years']} (Cochran-Armitage test, p {_p_text(r['p_value'])}{q}); "
                           f"more than chance would explain {adjusted}.")
        elif verdict == NOT_AVAILABLE:
            untested.append(f"{name} (not available: x)")
        elif verdict == SUPPRESSED or str(verdict).startswith("not shown"):
            hidden.append(name)
        elif verdict == "no evidence of change":
            quiet.append(name)
        else:
            untested.append(f"{name} ({verdict})")
    if not out and quiet:
        out.append(f"No figure shown here changed by more than chance would explain, {adjusted}.")
    if quiet:
        out.append("No evidence of change: " + _listing(quiet) + ".")
    if hidden:
        out.append("Not shown (c) for " + _listing(hidden) + ", so that a small number cannot be worked out.")
    if untested:
        out.append("Not tested: " + "; ".join(dict.fromkeys(untested)) + ".")
    if quiet or hidden:
        out.append(CAVEAT)
    return out


def headlines(figures: pd.DataFrame, changes: pd.DataFrame, place: str = "") -> list[str]:
    """The change since last year for the report's key findings: each figure whose change (or trend) is more than
    chance would explain, with the two years' published percentages; or one line saying none did."""
    changes, family = verdicts(changes)
    adjusted = "tests adjusted together" if family is None else f"adjusted over the {family} tests that can be shown"
    where = f", {place}" if place else ""
    out = []
    for r in changes.to_dict("records"):
        if not (r["verdict"] in FLAG_WORDS or r["verdict"] == "a trend"):
            continue
        name = label(r["figure"])
        if r["test"] == "change":
            first, _, last = str(r["years"]).partition(" to ")
            both = [_year_pct(figures, r["figure"], y) for y in (first, last)]
            span = (f", from {both[0]} in {first} to {both[1]} in {last}" if all(both)
                    else f" from {first} to {last}")
            lo, hi = number(r["difference_low"]), number(r["difference_high"])
            out.append(f"{name}{where}: {'up' if r['verdict'] == 'increase' else 'down'}"
                       f"{span}, {number(r['difference_points']):+.1f} percentage points (95% CI {lo:+.1f} to {hi:+.1f}); "
                       f"more than chance would explain ({adjusted}).")
        elif not any(c["figure"] == r["figure"] and c["test"] == "change" and
                     (c["verdict"] in FLAG_WORDS) for c in changes.to_dict("records")):
            trend = "a trend" if r["verdict"] == "a trend" else f"a {r['verdict']} trend"
            out.append(f"{name}{where}: {trend} over {r['years']}; more than chance "
                       f"would explain ({adjusted}).")
    if out:
        return out
    tested = [r for r in changes.to_dict("records") if r["verdict"] == "no evidence of change"]
    hidden = list(dict.fromkeys(label(r["figure"]).lower() for r in changes.to_dict("records")
                                if r["test"] == "change" and (r["verdict"] == SUPPRESSED
                                                              or str(r["verdict"]).startswith("not shown"))))
    if tested:
        years = tested[0]["years"] if tested[0]["test"] == "change" else ""
        line = (f"No headline figure{' for ' + place if place else ''} whose test can be shown changed"
                f"{' from ' + years if years else ''} by more than chance would explain ({adjusted})." if hidden else
                f"No headline figure{' for ' + place if place else ''} changed{' from ' + years if years else ''} by "
                f"more than chance would explain ({adjusted}).")
        if hidden:   # never "nothing changed" over a figure whose test is hidden
            line += f" The test for {_listing(hidden)} is not shown (c), so that a small number cannot be worked out."
        return [line]
    return []


def _year_pct(figures: pd.DataFrame, fid: str, year: str) -> str | None:
    """'27.6% (24 of 87)' for a figure's published year, or None where it is not shown."""
    hit = figures[(figures["figure"] == fid) & (figures["year"] == year)]
    if hit.empty:
        return None
    r = hit.iloc[0]
    pct, count, den = number(r["pct"]), number(r["count"]), number(r["denominator"])
    if None in (pct, count, den):
        return None
    return f"{pct:.1f}% ({int(count):,} of {int(den):,})"


def _listing(names) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _p_text(value) -> str:
    v = number(value)
    if v is None:
        return SUPPRESSED
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def notes(figures: pd.DataFrame, changes: pd.DataFrame | None) -> list[str]:
    """The notes under the section: partial years, shared children, clustered episodes."""
    out = []
    partial = list(dict.fromkeys(figures.loc[figures["compared"] == "no: partial year", "year"]))
    if partial:
        out.append(f"Partial year(s) not compared, because the records do not cover the whole year: "
                   f"{', '.join(partial)} (open dots).")
    empty = list(dict.fromkeys(figures.loc[figures["compared"] == "no: no records in this year", "year"]))
    if empty:
        out.append(f"No records in {', '.join(empty)}: the year is shown because the run's other reports have "
                   "it, and is not compared here.")
    out.append(SHARED)
    if set(figures["figure"]) & set(BASES):
        out.append(CLUSTERED)
    return out


def years_table(figures: pd.DataFrame) -> pd.DataFrame:
    """The published ``years_figures`` table with each figure named in words, as the page shows it."""
    out = figures.copy()
    out.insert(1, "of", [base(f) for f in out["figure"]])
    out["figure"] = [label(f) for f in out["figure"]]
    return out


def changes_table(changes: pd.DataFrame) -> pd.DataFrame:
    out = changes.copy()
    out["figure"] = [label(f) for f in out["figure"]]
    return out


# --- small multiples -------------------------------------------------------------------------------

@styled
def small_multiples(figures: pd.DataFrame):
    """One panel per figure: each year's percentage with its Wilson interval; a suppressed year is a gap marked c."""
    if figures is None or figures.empty:
        return NotDrawn("No chart: the run publishes no figure by year.")
    ids = list(dict.fromkeys(figures["figure"]))
    years = list(dict.fromkeys(figures["year"]))
    if all(number(v) is None for v in figures["pct"]):
        return NotDrawn("No chart: no year's percentage can be shown (each is not shown, c, so that a small number "
                        "cannot be worked out, or not available, x).")
    cols = 2 if len(ids) > 1 else 1
    rows = math.ceil(len(ids) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, 2.55 * rows + 0.4), sharex=True, squeeze=False)
    x = np.arange(len(years))
    for ax, fid in zip(axes.flat, ids):
        sub = figures[figures["figure"] == fid].set_index("year").reindex(years)
        pct = np.array([_nan(number(v)) for v in sub["pct"]])
        lo = np.array([_nan(number(v)) for v in sub["ci_low"]])
        hi = np.array([_nan(number(v)) for v in sub["ci_high"]])
        compared = [c == "yes" for c in sub["compared"]]
        ax.plot(x, pct, "-", color=PALETTE[0], linewidth=1, alpha=0.6)   # NaN breaks the line: a gap, never a 0
        for i in range(len(years)):
            if np.isnan(pct[i]):   # the published symbol: c (suppressed), x (not available), z (no denominator)
                ax.text(i, 0.08, _symbol(sub["pct"].iloc[i]), transform=ax.get_xaxis_transform(), ha="center",
                        va="bottom",
                        color=PALETTE[4], fontstyle="italic")
                continue
            ax.plot([i, i], [lo[i], hi[i]], color="black", linewidth=1.2)
            ax.plot(i, pct[i], "o", markersize=7, color=PALETTE[0],
                    markerfacecolor=PALETTE[0] if compared[i] else "white")
        top = np.nanmax(hi) if not np.all(np.isnan(hi)) else np.nanmax(pct)
        ax.set_ylim(0, min(100, max(5.0, top * 1.15)))
        ax.set_title(_wrapped(label(fid)), loc="left")
        ax.grid(axis="y")
        ax.set_xlim(-0.5, len(years) - 0.5)
        ax.set_xticks(x, years, rotation=0 if len(years) <= 3 else 90)
    for ax in axes.flat[len(ids):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("%")
    fig.tight_layout()
    return fig


def _symbol(value) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    return text if is_symbol(text) else "z"


def _nan(v):
    return np.nan if v is None else v


def _wrapped(text: str, width: int = 24) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def small_multiples_alt(figures: pd.DataFrame) -> str:
    parts = []
    for fid in dict.fromkeys(figures["figure"]):
        sub = figures[figures["figure"] == fid]
        bits = []
        for r in sub.to_dict("records"):
            pct = number(r["pct"])
            if pct is None:
                why = {SUPPRESSED: "not shown (c)", NOT_AVAILABLE: "not available (x)"}.get(
                    _symbol(r["pct"]), "no percentage (z)")
                bits.append(f"{r['year']} {why}, a gap")
            else:
                bits.append(f"{r['year']} {pct:.1f}% ({count_text(r['count'])} of {count_text(r['denominator'])}, "
                            f"95% CI {number(r['ci_low']):.1f} to {number(r['ci_high']):.1f})"
                            + ("" if r["compared"] == "yes" else ", partial year"))
        parts.append(f"{label(fid)}, % of {base(fid)}: " + "; ".join(bits))
    return ("Charts side by side, one panel per figure, of the percentage in each reporting year with its 95% Wilson "
            "interval. " + ". ".join(parts) + ".")


# --- DfE: looked-after children who went missing, every published year ---------------------------------

def dfe_year_label(year: int) -> str:
    """DfE's year ending 31 March ``year`` as a reporting year: 2018 -> '2017-18'."""
    return f"{int(year) - 1}-{int(year) % 100:02d}"


def dfe_table(la_code: str | None) -> tuple[pd.DataFrame, str]:
    """Per DfE year and area (the authority, England): looked-after children who went missing, the children
    looked after during the year, % with Wilson interval, or DfE's reason where it published no number; and a
    sentence saying what is shown."""
    from analysis.definitions.trends import dfe_years_against_england
    from analysis.definitions.years import TrendsError

    note = ""
    rows = None
    if la_code:
        try:
            rows = dfe_years_against_england(la_code)
            note = (f"From DfE's published statistics on children looked after: the share of the children "
                    f"looked after during each year by {place(la_code)} who went missing, beside England's. These "
                    "are DfE's figures, not this run's records, and count every looked-after child, not RHIs.")
        except TrendsError:
            note = (f"DfE's published statistics have no figure for {place(la_code)} (a code DfE does not use), "
                    "so England's rate is shown alone, as context.")
    else:
        note = ("DfE publishes this rate for each authority and for England, not for the authorities of a dataset "
                "together, so England's rate is shown alone, as context. DfE's figures count every looked-after "
                "child, not RHIs.")
    if rows is None:
        rows = dfe_years_against_england(None)
    out = []
    for r in rows:
        for key, area in (("la", la_code), ("england", "England")):
            if key not in r:
                continue
            v = r[key]
            published = v.get("status") == "published"
            out.append({"year": dfe_year_label(r["year"]), "area": area if area == "England" else place(area, with_code=False),
                        "went_missing": v.get("count") if published else None,
                        "looked_after": v.get("denominator") if published else None,
                        "pct": v.get("pct") if published else None,
                        "ci_low": v.get("ci_low") if published else None,
                        "ci_high": v.get("ci_high") if published else None,
                        "note": "" if published else v.get("status", "")})
    return pd.DataFrame(out), note


@styled
def dfe_chart(table: pd.DataFrame):
    """The rate by DfE year, one line per area, with Wilson intervals; a year DfE did not publish is a gap."""
    if table.empty or all(number(v) is None for v in table["pct"]):
        return NotDrawn("No chart: DfE published no rate for these years.")
    years = list(dict.fromkeys(table["year"]))
    x = np.arange(len(years))
    fig, ax = plt.subplots(figsize=(WIDTH, 4.4))
    ends = []
    for i, area in enumerate(dict.fromkeys(table["area"])):
        sub = table[table["area"] == area].set_index("year").reindex(years)
        colour = PALETTE[4] if area == "England" else PALETTE[0]
        pct = np.array([_nan(number(v)) for v in sub["pct"]])
        lo = np.array([_nan(number(v)) for v in sub["ci_low"]])
        hi = np.array([_nan(number(v)) for v in sub["ci_high"]])
        ax.plot(x, pct, marker="o", color=colour, markersize=5, linestyle="--" if area == "England" else "-")
        ax.vlines(x, lo, hi, color=colour, linewidth=1.2)
        shown = np.flatnonzero(~np.isnan(pct))
        if shown.size:
            ends.append((pct[shown[-1]], str(area), colour, x[shown[-1]]))
    placed = []
    for value, text, colour, at in sorted(ends, key=lambda t: -t[0]):
        y = value if not placed else min(value, placed[-1] - 0.08 * ax.get_ylim()[1])
        placed.append(y)
        ax.annotate(text, (at, value), xytext=(len(years) - 0.55, y), textcoords="data", va="center", color=colour,
                    fontweight="bold")
    ax.set_ylim(0, max(1.0, np.nanmax([number(v) or 0 for v in table["ci_high"]]) * 1.2))
    ax.set_xlim(-0.5, len(years) + 1.6)
    ax.set_xticks(x, years, rotation=90)
    ax.set_ylabel("% of children looked after")
    ax.grid(axis="y")
    fig.tight_layout()
    return fig


def dfe_alt(table: pd.DataFrame) -> str:
    parts = []
    for area in dict.fromkeys(table["area"]):
        bits = []
        for r in table[table["area"] == area].to_dict("records"):
            pct = number(r["pct"])
            bits.append(f"{r['year']} " + (f"{pct:.1f}% ({count_text(r['went_missing'])} of "
                                           f"{count_text(r['looked_after'])})" if pct is not None
                                           else f"not published ({r['note']})"))
        parts.append(f"{area}: " + "; ".join(bits))
    return ("Looked-after children who went missing, as a percentage of the children looked after during the "
            "year, by DfE year, from DfE's published statistics. " + ". ".join(parts) + ".")


# --- the section -------------------------------------------------------------------------------------

def show_years(ctx) -> None:
    """The years of the run's publication: sentences, small multiples, the tables; or why there are none."""
    years = ctx.reporting_years()
    if FIGURES_TABLE not in ctx.tables:
        ctx.say(one_year_sentence(years))
        ctx.record("years", {"reporting_years": years, "compared": False})
        return
    figures = ctx.table(FIGURES_TABLE)
    changes = ctx.table(CHANGES_TABLE) if CHANGES_TABLE in ctx.tables else figures.iloc[0:0]
    if len(changes):   # the change since last year is a key finding of the report
        ctx.record_headlines(headlines(figures, changes, ctx.place), rank=3)
        ctx.say_headlines()
    ctx.say(*change_sentences(changes) if len(changes) else
            ["Nothing is compared: fewer than two complete reporting years (a partial year is shown, not compared)."])
    ctx.show_figure(small_multiples(figures), "years_small_multiples", alt=small_multiples_alt(figures),
                    caption="Headline figures by reporting year" + ctx.title_suffix + ": the percentage in each "
                    "year (dots) with its 95% Wilson interval (lines); a year not shown (c) is a gap marked c; an "
                    "open dot is a partial year, not compared.")
    ctx.show_table(years_table(figures), FIGURES_TABLE,
                   caption="Headline figures by reporting year" + ctx.title_suffix)
    if len(changes):
        ctx.show_table(changes_table(changes), CHANGES_TABLE, fold="Show the tests of change",
                       caption="Change between the last two compared years and trend over all of them"
                       + ctx.title_suffix + " (Benjamini-Hochberg adjusted over the tests of this table)")
    ctx.say(*notes(figures, changes))
    from analysis.render.report import records

    ctx.record("years", {"reporting_years": years, "compared": True,
                         "figures": records(figures), "changes": records(changes)})


def show_dfe(ctx) -> None:
    """DfE's looked-after missing rate for every published year: the authority beside England, or England alone."""
    table, note = dfe_table(ctx.params.la_code)
    ctx.say(note)
    ctx.show_figure(dfe_chart(table), "years_dfe_looked_after_missing", alt=dfe_alt(table),
                    caption="Looked-after children who went missing, % of children looked after during the year, "
                    "by DfE year (DfE's published statistics)" + ctx.title_suffix
                    + "; lines show 95% Wilson intervals.")
    ctx.show_table(table, "dfe_looked_after_missing_by_year", fold="Show DfE's numbers",
                   caption="Looked-after children who went missing, by DfE year (DfE's published statistics)"
                   + (ctx.title_suffix if set(table["area"]) - {"England"} else ", England"))
    ctx.record("dfe_years", {"note": note, "rows": table.astype(object).where(table.notna(), None).to_dict("records")})
