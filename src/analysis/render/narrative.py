"""Plain-English sentences written from the numbers of the linkage analysis (issue 5).

Every function takes an already suppressed table or a result object and
returns text; nothing here holds a claim of its own. A hidden figure is written
the same way whatever hid it, "not shown (c)" (``analysis.render.words``): a
reader is never told that a particular hidden number is small. An empty group
is "no estimate". Codes are written as words.
"""

from __future__ import annotations

import math

from analysis import vocab
from analysis.stats.association import format_p
from analysis.disclosure import NOT_AVAILABLE, SUPPRESSED, is_symbol
from analysis.render.words import LABELS, capital, place as place_words

RISK_WORDS = {"high": "high-risk", "medium": "medium-risk", "low": "low-risk", "medium_or_low": "medium- or low-risk",
              "all": "all"}
HIDDEN = "not shown (c)"


def label(code) -> str:
    """A code as words ('cse_any' -> 'sexual exploitation (any CSE indicator)')."""
    return LABELS.get(str(code), str(code).replace("_", " "))


def grade_levels(table) -> tuple:
    """The police grades a prevalence table shows: high, medium and low, or (one authority's report, whose plan
    publishes the coarse grade) high and medium or low."""
    return ("high", "medium", "low") if (table["police_risk"] == "medium").any() else ("high", "medium_or_low")


UNIT_NOUN = {"rhis": "RHIs", "children": "children"}


def _num(value) -> float | None:
    if value is None or is_symbol(value):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def figure_text(row) -> str:
    """'12 of 80 (15%, 95% CI 9% to 24%)' from a (possibly suppressed) figure row."""
    count, den = row["count"], row["denominator"]
    if NOT_AVAILABLE in (count, den):
        return "not available in this source"
    if den == SUPPRESSED:
        return HIDDEN
    if _num(den) == 0:
        return "no estimate (none in this group)"
    if count == SUPPRESSED:
        return f"{HIDDEN} of {int(float(den)):,}"
    pct, low, high = _num(row["pct"]), _num(row["ci_low"]), _num(row["ci_high"])
    return f"{int(float(count)):,} of {int(float(den)):,} ({pct:.0f}%, 95% CI {low:.0f}% to {high:.0f}%)"


def describe_prevalence(table, outcome: str, unit: str, cohort: str = "all", group: str = "police_risk",
                        levels=("high", "medium", "low")) -> str:
    """One sentence: the outcome by grade (or band) for one cohort, from a suppressed prevalence table."""
    sub = table[(table["outcome"] == outcome) & (table["cohort"] == cohort)]
    who = "all RHI children" if cohort == "all" else vocab.COHORT_LABELS.get(cohort, cohort).lower()
    if sub.empty or _num(sub[sub[group] == "all"].iloc[0]["denominator"]) == 0:
        return f"{capital(label(outcome))} ({who}): no {UNIT_NOUN[unit]} in this group, so no estimate."
    parts = []
    for level in levels:
        row = sub[sub[group] == level]
        if row.empty:
            continue
        if group != "police_risk":
            name = f"episode band {level}"
        elif unit == "children":
            name = f"children with a {RISK_WORDS.get(level, level)} RHI"
        else:
            name = f"{RISK_WORDS.get(level, level)} RHIs"
        parts.append(f"{name}: {figure_text(row.iloc[0])}")
    noun = "children" if unit == "children" else "RHIs"
    return f"{capital(label(outcome))} ({who}, {noun} with the disclosure of {noun} in the group): " + "; ".join(parts) + "."


def compare_sentence(table, outcome: str, unit: str, cohort: str = "all", a: str = "medium", b: str = "high") -> str:
    """Whether the intervals of two grades overlap, said plainly (no claim when either is suppressed)."""
    sub = table[(table["outcome"] == outcome) & (table["cohort"] == cohort)].set_index("police_risk")
    if a not in sub.index or b not in sub.index:
        return ""
    ra, rb = sub.loc[a], sub.loc[b]
    va, vb = _num(ra["pct"]), _num(rb["pct"])
    if va is None or vb is None:
        return (f"The {RISK_WORDS[a]} and {RISK_WORDS[b]} figures for {label(outcome)} cannot both be shown "
                "(a group is empty or not shown), so they are not compared.")
    overlap = _num(ra["ci_low"]) <= _num(rb["ci_high"]) and _num(rb["ci_low"]) <= _num(ra["ci_high"])
    direction = "higher" if va > vb else "lower" if va < vb else "the same"
    tail = ("their 95% intervals overlap, so these data do not show a clear difference" if overlap
            else "their 95% intervals do not overlap")
    return f"For {label(outcome)}, the {RISK_WORDS[a]} figure ({va:.0f}%) is {direction} than the {RISK_WORDS[b]} figure ({vb:.0f}%); {tail}."


def describe_association(row, against: str = "the grade") -> str:
    """The test used, why, and its p-value and adjusted p-value, for one outcome row of an association table.

    ``against`` names what disclosure is tested against ("the grade", "the episode band").
    """
    what = against.removeprefix("the ")
    name = capital(label(row["outcome"]))
    if row["p_value"] == SUPPRESSED:
        return f"{name}: the test of {what} against disclosure is {HIDDEN}, so that a small number cannot be worked out."
    if row["test"] == "not tested":
        text = f"{name}: no test of {what} against disclosure ({row['test_reason']})."
    else:
        text = (f"{name}: {row['test']}, p = {format_p(_num(row['p_value']))} "
                f"(adjusted p = {format_p(_num(row['q_value_bh']))}); used because {row['test_reason']}.")
    if row["trend_test"] == "not tested":
        return text + f" No trend test ({row['trend_reason']})."
    z = _num(row["trend_z"])
    if z is None:
        return text + f" The trend test is {HIDDEN}."
    direction = "rises" if z > 0 else "falls"
    name = "t" if str(row["trend_test"]).endswith("(t)") else "z"     # the clustered trend test refers t to Student's t
    return text + (f" {row['trend_test']}: the proportion {direction} with {against} ({name} = {z:.2f}, "
                   f"p = {format_p(_num(row['trend_p_value']))}, adjusted p = {format_p(_num(row['trend_q_value_bh']))}).")


def describe_model(result) -> str:
    """What was fitted and what it shows for the police risk terms, or why nothing is reported."""
    head = (f"{result.outcome}: {result.events:,} of {result.n_rhis:,} RHIs ({result.n_children:,} children) "
            f"had the outcome. Status: {result.status}.")
    if not result.estimable:
        return head + " No odds ratios are reported."
    refs = ", ".join(f"{k} {v}" for k, v in result.references.items())
    lines = [head, f"Method: {result.method}. Reference levels: {refs}."]
    lines += [f"Warning: {w}." for w in result.warnings]
    risk = result.table[result.table["term"].str.startswith("police_risk=")]
    for _, row in risk.iterrows():
        level = row["term"].split("=", 1)[1].replace("|", " or ")
        if str(row["note"]).startswith("not estimated"):
            lines.append(f"Graded {level}, against the reference grade: {row['note']}.")
            continue
        if row["note"]:
            lines.append(f"Graded {level}, against the reference grade: not reported as a finding ({row['note']}).")
            continue
        excludes = row["ci_low"] > 1 or row["ci_high"] < 1
        verdict = "the interval excludes 1" if excludes else "the interval includes 1 (no clear difference)"
        lines.append(f"Graded {level}, against the reference grade: odds ratio {row['odds_ratio']:.2f} "
                     f"(95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}), adjusted for the other covariates; {verdict}.")
    return " ".join(lines)


def describe_hidden_risk(h, control) -> str:
    """The hidden-risk figure in words, under disclosure control."""
    from analysis.disclosure import suppress_figure

    row = suppress_figure({"count": h.disclosed.count, "denominator": h.disclosed.denominator,
                           "pct": h.disclosed.pct, "ci_low": h.disclosed.ci_low, "ci_high": h.disclosed.ci_high}, control)
    harms = ", ".join(label(x) for x in h.serious)
    if h.disclosed.denominator == 0:
        return ("No RHI child was graded medium or low on every notified episode in the period, "
                "so there is no hidden-risk estimate.")
    episodes = (HIDDEN if control.is_small(h.episodes_of_disclosers) else f"{h.episodes_of_disclosers:,}")
    text = (f"Of the RHI children graded medium or low on every notified episode in the period, "
            f"{figure_text(row)} disclosed at least one serious harm ({harms}).")
    if h.disclosed.count and row["count"] != SUPPRESSED:
        text += (f" Those children had {episodes} episodes between them, every one graded medium or low "
                 f"(median {h.median_episodes_disclosers:.0f} per child).")
    return text


def describe_screening(table, unit: str, cohort: str = "all") -> str:
    """Sensitivity, specificity, PPV and NPV of a 'high' grade in one sentence each (suppressed table)."""
    sub = table[(table["unit"] == unit) & (table["cohort"] == cohort)]
    names = {"sensitivity": "Sensitivity (share of those who disclosed serious harm that were graded high)",
             "specificity": "Specificity (share of those who did not that were not graded high)",
             "ppv": "Positive predictive value (share graded high who disclosed serious harm)",
             "npv": "Negative predictive value (share not graded high who did not disclose serious harm)"}
    out = []
    for _, row in sub.iterrows():
        value = row["statement"] if row["statement"] else figure_text(row)
        out.append(f"{names[row['metric']]}: {value}.")
    return " ".join(out)


def describe_grades(table, many: int) -> str:
    """How the episodes of children with many episodes were graded, compared with the others."""
    out = []
    for group, sub in table.groupby("children_group", sort=False):
        children = sub["children"].iloc[0]
        parts = [f"{label(row['police_risk'])}: {figure_text(row)}" for _, row in sub.iterrows()]
        out.append(f"Children with {group} ({children} children), episodes by grade - " + "; ".join(parts) + ".")
    return " ".join(out)


def describe_model_rows(rows) -> str:
    """What was fitted for one outcome and what it shows for the police grade, from the published table."""
    first = rows.iloc[0]
    name = capital(label(first["outcome"]))
    if first["status"] == NOT_AVAILABLE:
        return f"{name}: no model: this dataset's source does not hold what it needs."
    if first["status"] == SUPPRESSED:
        return f"{name}: the model is {HIDDEN}, so that a small number cannot be worked out from it."
    events, n, kids = ((HIDDEN if v == SUPPRESSED else f"{int(v):,}")
                       for v in (first["events"], first["rhis"], first["children"]))
    lines = [f"{name}: {events} of {n} RHIs ({kids} children) had the outcome. Status: {first['status']}."]
    if first["warnings"] not in (None, "", SUPPRESSED):
        lines.append(f"Warnings: {first['warnings']}.")
    for _, row in rows[rows["term"].astype(str).str.startswith("police_risk=")].iterrows():
        level = row["term"].split("=", 1)[1].replace("|", " or ")
        if SUPPRESSED in (row["note"], row["odds_ratio"]):
            lines.append(f"Graded {level}, against the reference grade: not published (it rests on a count too "
                         "small to publish).")
            continue
        if str(row["note"]).startswith("not estimated"):
            lines.append(f"Graded {level}, against the reference grade: {row['note']}.")
            continue
        if row["note"]:
            lines.append(f"Graded {level}, against the reference grade: not reported as a finding ({row['note']}).")
            continue
        low, high = _num(row["ci_low"]), _num(row["ci_high"])
        verdict = ("the interval excludes 1" if (low > 1 or high < 1)
                   else "the interval includes 1 (no clear difference)")
        lines.append(f"Graded {level}, against the reference grade: odds ratio {_num(row['odds_ratio']):.2f} "
                     f"(95% CI {low:.2f} to {high:.2f}), adjusted for the other differences; {verdict}.")
    return " ".join(lines)


def describe_hidden_risk_table(table, serious) -> str:
    """The hidden-risk figure in words, from the published hidden-risk table."""
    first, _, episodes = (table.iloc[i] for i in range(3))
    if _num(first["denominator"]) == 0:
        return ("No RHI child was graded medium or low on every notified episode in the period, "
                "so there is no hidden-risk estimate.")
    text = (f"Of the RHI children graded medium or low on every notified episode in the period, "
            f"{figure_text(first)} disclosed at least one serious harm ({', '.join(label(x) for x in serious)}).")
    if episodes["count"] != SUPPRESSED and _num(episodes["count"]):
        text += f" Those children had {int(episodes['count']):,} episodes between them, every one graded medium or low."
    return text


# --- headlines of the reports (issue 15) -----------------------------------------------------------
# Every number below is read from a published table; a sentence never states a figure the run hid.

STUDY = "A Safer Return (Missing People, 2019)"
# Where each context figure of the reference comes from: title, publisher and year, so a reader can find it.
SOURCES = {
    "nca_2015_16_medium": "National Crime Agency, Missing Persons Data Report 2015/16 (2017)",
    "nca_2015_16_high": "National Crime Agency, Missing Persons Data Report 2015/16 (2017)",
    "nca_2015_16_low": "National Crime Agency, Missing Persons Data Report 2015/16 (2017)",
    "nca_2015_16_child_repeat_share": "National Crime Agency, Missing Persons Data Report 2015/16 (2017), p. 17",
    "ew_child_incidents_2015_16": "The Children's Society, Making Connections (2017)",
    "rhi_completed_share_of_missing_cases_avg":
        "The Children's Society, Making Connections (2017): average share of cases with an RHI, from its survey "
        "of local authorities",
    "rhi_offered_share": "NPCC lead for missing people, quoted in The Children's Society's release on "
                         "Making Connections, 'Missed opportunities to protect missing children' (2017)",
    "rhi_offers_declined_share": "NPCC lead for missing people, quoted in The Children's Society's release on "
                                 "Making Connections, 'Missed opportunities to protect missing children' (2017)",
    "one_la_rhi_refused_share": "one council's scrutiny sub-committee, 'Update on Missing Children Statistics "
                                "and Return Home Interviews' (2018)",
    "one_la_recurrent_missing_share": "one council's scrutiny sub-committee, 'Update on Missing Children "
                                      "Statistics and Return Home Interviews' (2018)",
    "one_la_found_episodes_jan_2018": "one council's scrutiny sub-committee, 'Update on Missing Children "
                                      "Statistics and Return Home Interviews' (2018)",
}
SHORT_SOURCES = {  # for a chart label, where a full citation does not fit; the caption gives the full one
    "rhi_completed_share_of_missing_cases_avg": "Making Connections, 2017",
    "rhi_offered_share": "NPCC lead, 2017", "rhi_offers_declined_share": "NPCC lead, 2017",
    "one_la_rhi_refused_share": "one council, 2018", "one_la_recurrent_missing_share": "one council, 2018",
}


def citation(context_id: str, fallback: str = "") -> str:
    """Title, publisher and year of a context figure's source."""
    return SOURCES.get(context_id, fallback)


def place_text(la_code: str | None) -> str:
    """'Kent (E10000016)', 'local authority E08999901' or 'all local authorities'."""
    return place_words(la_code)


def _pct_of(row) -> str | None:
    """'53.3% (8 of 15)' when the row's count, denominator and percentage are all published, else None."""
    pct, count, den = _num(row["pct"]), _num(row["count"]), _num(row["denominator"])
    if None in (pct, count, den):
        return None
    return f"{pct:.1f}% ({int(count):,} of {int(den):,})"


GRADE_GROUPS = (("medium", "a medium-risk RHI"), ("low", "a low-risk RHI"),
                ("medium_or_low", "a medium- or low-risk RHI"), ("high", "a high-risk RHI"))


def police_grade_headline(prev_children, hidden, la_code: str | None, period: str) -> str:
    """The study's question in one sentence: serious harm disclosed by children graded medium or low, against high.

    From the published child-level prevalence by grade (``prevalence_by_risk_children``: high, medium and low, or
    high and medium-or-low, as the run publishes them for this report) and the published pooled group of children
    graded medium or low on every episode (first row of ``hidden_risk``, when published). Names its place and
    period; a hidden figure is "not shown (c)", never called small.
    """
    where = f"{capital(place_text(la_code))}, {period}"
    sub = prev_children[(prev_children["cohort"] == "all") & (prev_children["outcome"] == "serious_harm_any")]
    grade = {lv: sub[sub["police_risk"] == lv].iloc[0] for lv, _ in GRADE_GROUPS if (sub["police_risk"] == lv).any()}
    shown = {lv: _pct_of(r) for lv, r in grade.items()}
    pooled = _pct_of(hidden.iloc[0]) if hidden is not None and len(hidden) else None
    parts = []
    if pooled:
        parts.append(f"{pooled} of the children graded medium or low on every episode disclosed serious harm")
    words = dict(GRADE_GROUPS)
    for lv in ("medium", "low", "medium_or_low"):
        if shown.get(lv):
            parts.append(f"{shown[lv]} of the children with {words[lv]} did")
    if shown.get("high"):
        parts.append(f"against {shown['high']} of the children with a high-risk RHI")
    if not parts:
        return (f"{where}: serious harm disclosed by children with a completed return home interview (RHI), by "
                f"police grade, is {HIDDEN} for every grade, so that a small number cannot be worked out.")
    text = f"{where}: among children with a completed return home interview (RHI), " + "; ".join(parts) + "."
    if "high" in grade and not shown.get("high"):
        text += f" The figure for children with a high-risk RHI is {HIDDEN}, so the grades are not compared here."
    others = [f"children with {words[lv]}" for lv in ("medium", "low", "medium_or_low") if lv in grade and not shown.get(lv)]
    if others:
        text += f" The figure for {' and for '.join(others)} is {HIDDEN}."
    return text


def study_context(reference: dict, ids=("cse_victim", "cce_victim", "mental_health")) -> str:
    """The 2019 study's own published figures, as context for a report (not a target to pass or fail)."""
    figures = {f["id"]: f for f in reference.get("figures", [])}
    study = reference.get("study", {})
    children = reference.get("populations", {}).get("rhi_children", {}).get("n")
    words = {"cse_victim": "sexual exploitation", "cce_victim": "criminal exploitation",
             "mental_health": "a mental-health issue"}
    said = [f"{figures[i]['pct']:g}% {words.get(i, i)}" for i in ids if i in figures and figures[i].get("pct") is not None]
    listed = ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1] if said else ""
    span = ""
    if study.get("period_start") and study.get("period_end"):
        span = f", {study['period_start']:%B %Y} to {study['period_end']:%B %Y}" if hasattr(study["period_start"], "strftime") \
            else f", {study['period_start']} to {study['period_end']}"
    areas = study.get("provider_areas")
    return (f"For context, {STUDY}, {areas} local authorities{span}: of the {children:,} children with a completed RHI "
            f"for a medium- or low-risk episode, {listed.replace('% ', '% disclosed ', 1)}. These are the study's "
            "published figures, not a standard to meet.")


def funnel_headline(label: str, summary: dict) -> str | None:
    """One line for a funnel plot of the records: the overall figure and how many authorities lie outside the limits."""
    if summary.get("overall_pct") is None:
        return None
    outside = summary["above 99.8% limit"] + summary["below 99.8% limit"]
    hidden = summary["not_shown_small"] + summary["not_shown_unpublished"]
    label = label.removesuffix(" (%)")
    return (f"{label[0].upper() + label[1:]}: {summary['overall_pct']:.1f}% over all authorities; "
            f"{outside} of the {summary['shown']} authorities shown lie outside the 99.8% limits"
            + (f" ({hidden} not shown: hidden (c) or no value)." if hidden else "."))


def dfe_headline(year: int, table, summary: dict, highlight: str | None = None, target: str | None = None) -> str:
    """One line on the published DfE figures for ``year``, and where a highlighted authority lies."""
    line = (f"Published DfE figures, year ending 31 March {year}: {summary['overall_pct']:.1f}% of looked-after children "
            f"in the {summary['shown']} authorities shown went missing at least once; "
            f"{summary['above 99.8% limit']} authorities lie above and {summary['below 99.8% limit']} below the "
            f"99.8% limits; {summary['not_shown_unpublished'] + summary['not_shown_small']} authorities with "
            "suppressed or unpublished values are not shown.")
    if highlight:
        line += dfe_position(year, table, highlight, target)
    return line


def dfe_position(year: int, table, code: str, target: str | None) -> str:
    """' Kent (E10000016): 9.1% (150 of 1,650), within limits.' for a highlighted authority on DfE's funnel plot."""
    if target is None:
        return f" {capital(place_text(code))} is not in DfE's figures for {year}."
    row = table[table["unit"] == target].iloc[0]
    if _num(row["pct"]) is None:
        return f" {row['la_name']} ({target}): not shown (DfE did not publish the value)."
    return (f" {row['la_name']} ({target}): {float(row['pct']):.1f}% ({int(row['count']):,} of "
            f"{int(row['denominator']):,}), {row['position']}.")


def records_headlines(computed: dict) -> list[str]:
    """The key finding notebook 01 gives the report: what the children with a completed RHI disclosed (the
    episodes notified are in the delivery finding already)."""
    from analysis.reference.sentences import headlines

    return headlines(computed)[1:2]


def context_lines(computed: dict, comparison, reference: dict, la_code: str | None,
                  comparable: bool = True) -> list[str]:
    """The records' episodes and grades, and how the records stand against the study: for all authorities over about
    a year, how many of its figures are reproduced; for one authority, or records over several years, the study's
    figures as context, not a verdict."""
    from analysis.reference.compare import status_summary
    from analysis.reference.sentences import headlines

    first = headlines(computed)[:1]
    if la_code:
        return first + [study_context(reference)]
    if not comparable:
        return first + ["These records cover more than a year, and the study nine months, so the study's figures are "
                        "set beside them as context, not as figures to reproduce.", study_context(reference)]
    return first + [status_summary(comparison)]


def compares_with_study(ctx) -> bool:
    """Whether the records can be set beside the study figure for figure: all authorities together, over a year at
    most (the study covered July 2017 to March 2018); otherwise its figures are context only."""
    import pandas as pd

    if ctx.params.la_code:
        return False
    start, end = ctx.period_dates
    if start is None or end is None:
        return True
    return (pd.Timestamp(end) - pd.Timestamp(start)).days <= 366


def serious_harm_words(harms=None) -> str:
    """'sexual exploitation, criminal exploitation, ... or risk of suicide': what serious harm means, in words."""
    names = [label(h) for h in (harms or vocab.SERIOUS_HARM_DEFAULT)]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


# --- what notebook 02 shows and records ------------------------------------------------------------

HEADLINE_OUTCOMES = tuple(vocab.HARM_GROUPS) + ("serious_harm_any",)   # the harm groups and serious harm
ASSOCIATION_COLUMNS = ["test", "p_value", "q_value_bh", "trend_z", "trend_p_value", "trend_q_value_bh"]


def has_rhis(prev) -> bool:
    """Whether any completed RHI addresses a high, medium or low episode (the overall row's denominator of a
    prevalence table, of RHIs or of children, is not 0). False when the table is not published (None)."""
    if prev is None:
        return False
    everyone = prev[(prev["cohort"] == "all") & (prev["police_risk"] == "all")]
    return len(everyone) > 0 and _num(everyone["denominator"].iloc[0]) != 0


def association_columns(table) -> list[str]:
    """The columns of an association table a reader needs: counts and denominators by grade, tests, p and q."""
    counts = [c for c in table.columns if c.endswith("_count") or c.endswith("_denominator")]
    return ["outcome"] + counts + [c for c in ASSOCIATION_COLUMNS if c in table.columns]


def prevalence_sentences(prev: dict, outcomes=HEADLINE_OUTCOMES) -> list[str]:
    """Per unit and cohort, the outcome by grade in words; then medium and low against high (RHI level)."""
    out = []
    for unit, table in prev.items():
        for cohort in [c for c in ["all"] + list(vocab.COHORTS) if (table["cohort"] == c).any()]:
            out += [describe_prevalence(table, o, unit, cohort, levels=grade_levels(table)) for o in outcomes]
    unit = "rhis" if "rhis" in prev else "children"
    for o in outcomes:
        out += [compare_sentence(prev[unit], o, unit, "all", lv, "high") for lv in grade_levels(prev[unit])[1:]]
    return [line for line in out if line]


def _records(table) -> list[dict]:
    from analysis.render.report import records   # one definition (notebooks 02 and 04 each had their own)

    return records(table)


def linkage_record(ctx, have_data: bool) -> dict:
    """The ``linkage`` block of figures.json, from the published tables of this report (a table the run does not
    publish for this report is left out)."""
    statement = ctx.control.statement
    if not have_data:
        return {"disclosure_control": statement, "statement": "no in-scope RHIs in this selection"}
    record = {"disclosure_control": statement, "serious_harm": list(vocab.SERIOUS_HARM_DEFAULT)}
    for unit in ("rhis", "children"):   # an authority's report publishes the child level only
        if ctx.has_table(f"prevalence_by_risk_{unit}"):
            prev = ctx.table(f"prevalence_by_risk_{unit}")
            record[f"prevalence_serious_by_risk_{unit}"] = _records(
                prev[(prev["outcome"] == "serious_harm_any") & (prev["cohort"] == "all")])
    if ctx.has_table("hidden_risk"):
        hidden = ctx.table("hidden_risk")
        record.update(hidden_risk=_records(hidden),
                      hidden_risk_text=describe_hidden_risk_table(hidden, vocab.SERIOUS_HARM_DEFAULT))
    if ctx.has_table("screening"):
        screen = ctx.table("screening")
        record["screening"] = _records(screen[screen["cohort"] == "all"])
    if ctx.has_table("models_odds_ratios"):
        ors = ctx.table("models_odds_ratios")
        record["models"] = [{"outcome": o, "status": s} for o, s in ors.drop_duplicates("outcome")[["outcome", "status"]].values]
    return record


# --- notebook 03 ------------------------------------------------------------------------------------

FUNNEL_MEASURES = {"rhi_completion": "notified episodes with a completed RHI (%)",
                   "cse_victim": "RHI children disclosing sexual exploitation (%)",
                   "cse_red_flag_any": "RHI children with any CSE red flag (%)",
                   "cce_victim": "RHI children disclosing criminal exploitation (%)",
                   "mental_health": "RHI children with a mental-health issue (%)"}


MODEL_METHOD_COLUMNS = ("method", "interval_method", "p_value_method", "covariance", "limitation")


def model_columns(table) -> list[str]:
    """The odds-ratio table's columns a reader compares row by row; the methods, the same on every row of an
    outcome, are said once in words (:func:`model_methods`)."""
    return [c for c in table.columns if c not in MODEL_METHOD_COLUMNS]


def interval_methods(table) -> list[str]:
    """The intervals' methods of a table, said once each (the same sentence on many rows of a ``ci_method`` column)."""
    if "ci_method" not in table:
        return []
    return [f"Intervals: {m}." for m in dict.fromkeys(table["ci_method"]) if isinstance(m, str) and m.strip()
            and m != SUPPRESSED]


def model_methods(table) -> list[str]:
    """One sentence per outcome: how its intervals, p-values and covariance were computed, and any limitation."""
    out = []
    for outcome, rows in table.groupby("outcome", sort=False):
        first = rows.iloc[0]
        parts = [f"{word}: {first[col]}" for col, word in (("interval_method", "intervals"), ("p_value_method", "p-values"),
                                                            ("covariance", "covariance"), ("limitation", "limitation"))
                 if col in rows and first[col] not in (None, "", SUPPRESSED) and first[col] == first[col]]
        if parts:
            out.append(f"{capital(label(outcome))}: " + "; ".join(parts) + ".")
    family = table["bh_family"] if "bh_family" in table else None
    if family is not None:
        named = [f for f in family if f not in (None, "", SUPPRESSED) and f == f]
        if named:
            out.append(f"Multiple testing: the adjusted p-values (q) of the police-grade terms are "
                       f"{named[0][0].lower()}{named[0][1:]}; the p-values are not adjusted.")
    return out
