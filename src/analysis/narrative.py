"""Plain-English sentences written from the numbers of the linkage analysis (issue 5).

Every function takes an already suppressed table or a result object and
returns text; nothing here holds a claim of its own. A suppressed figure is
written as "a small number (suppressed)", an empty group as "no estimate".
"""

from __future__ import annotations

import math

from . import vocab
from .association import format_p
from .disclosure import SUPPRESSED

RISK_WORDS = {"high": "high-risk", "medium": "medium-risk", "low": "low-risk", "all": "all"}
UNIT_NOUN = {"rhis": "RHIs", "children": "children"}


def _num(value) -> float | None:
    if value is None or value == SUPPRESSED:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def figure_text(row) -> str:
    """'12 of 80 (15%, 95% CI 9% to 24%)' from a (possibly suppressed) figure row."""
    count, den = row["count"], row["denominator"]
    if den == SUPPRESSED:
        return "a small group (suppressed)"
    if _num(den) == 0:
        return "no estimate (none in this group)"
    if count == SUPPRESSED:
        return f"a suppressed number of {int(float(den)):,}"
    pct, low, high = _num(row["pct"]), _num(row["ci_low"]), _num(row["ci_high"])
    return f"{int(float(count)):,} of {int(float(den)):,} ({pct:.0f}%, 95% CI {low:.0f}% to {high:.0f}%)"


def describe_prevalence(table, outcome: str, unit: str, cohort: str = "all", group: str = "police_risk",
                        levels=("high", "medium", "low")) -> str:
    """One sentence: the outcome by grade (or band) for one cohort, from a suppressed prevalence table."""
    sub = table[(table["outcome"] == outcome) & (table["cohort"] == cohort)]
    who = "all RHI children" if cohort == "all" else vocab.COHORT_LABELS.get(cohort, cohort).lower()
    if sub.empty or _num(sub[sub[group] == "all"].iloc[0]["denominator"]) == 0:
        return f"{outcome} ({who}): no {UNIT_NOUN[unit]} in this group, so no estimate."
    parts = []
    for level in levels:
        row = sub[sub[group] == level]
        if row.empty:
            continue
        if group != "police_risk":
            label = f"episode band {level}"
        elif unit == "children":
            label = f"children with a {RISK_WORDS.get(level, level)} RHI"
        else:
            label = f"{RISK_WORDS.get(level, level)} RHIs"
        parts.append(f"{label}: {figure_text(row.iloc[0])}")
    noun = "children" if unit == "children" else "RHIs"
    return f"{outcome} ({who}, {noun} with the disclosure / {noun} in the group) - " + "; ".join(parts) + "."


def compare_sentence(table, outcome: str, unit: str, cohort: str = "all", a: str = "medium", b: str = "high") -> str:
    """Whether the intervals of two grades overlap, said plainly (no claim when either is suppressed)."""
    sub = table[(table["outcome"] == outcome) & (table["cohort"] == cohort)].set_index("police_risk")
    if a not in sub.index or b not in sub.index:
        return ""
    ra, rb = sub.loc[a], sub.loc[b]
    va, vb = _num(ra["pct"]), _num(rb["pct"])
    if va is None or vb is None:
        return (f"The {RISK_WORDS[a]} and {RISK_WORDS[b]} figures for {outcome} cannot both be shown "
                "(a group is empty or suppressed), so they are not compared.")
    overlap = _num(ra["ci_low"]) <= _num(rb["ci_high"]) and _num(rb["ci_low"]) <= _num(ra["ci_high"])
    direction = "higher" if va > vb else "lower" if va < vb else "the same"
    tail = ("their 95% intervals overlap, so these data do not show a clear difference" if overlap
            else "their 95% intervals do not overlap")
    return f"For {outcome}, the {RISK_WORDS[a]} figure ({va:.0f}%) is {direction} than the {RISK_WORDS[b]} figure ({vb:.0f}%); {tail}."


def describe_association(row) -> str:
    """The test used, why, and the p- and q-values, for one outcome row of an association table."""
    if row["p_value"] == SUPPRESSED:
        return (f"{row['outcome']}: the test of grade against disclosure is not published: it rests on a count "
                "too small to publish.")
    if row["test"] == "not tested":
        text = f"{row['outcome']}: no test of grade against disclosure ({row['test_reason']})."
    else:
        text = (f"{row['outcome']}: {row['test']} p = {format_p(_num(row['p_value']))} "
                f"(Benjamini-Hochberg q = {format_p(_num(row['q_value_bh']))}); used because {row['test_reason']}.")
    if row["trend_test"] == "not tested":
        return text + f" No trend test ({row['trend_reason']})."
    z = _num(row["trend_z"])
    if z is None:
        return text + " The trend test is not published."
    direction = "rises" if z > 0 else "falls"
    return text + (f" {row['trend_test']}: the proportion {direction} with the grade (z = {z:.2f}, "
                   f"p = {format_p(_num(row['trend_p_value']))}, q = {format_p(_num(row['trend_q_value_bh']))}).")


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
        level = row["term"].split("=", 1)[1]
        if row["note"]:
            lines.append(f"{level} vs reference: not reported as a finding ({row['note']}).")
            continue
        excludes = row["ci_low"] > 1 or row["ci_high"] < 1
        verdict = "the interval excludes 1" if excludes else "the interval includes 1 (no clear difference)"
        lines.append(f"{level} vs reference grade: odds ratio {row['odds_ratio']:.2f} "
                     f"(95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}), adjusted for the other covariates; {verdict}.")
    return " ".join(lines)


def describe_hidden_risk(h, control) -> str:
    """The hidden-risk figure in words, under disclosure control."""
    from .disclosure import suppress_figure

    row = suppress_figure({"count": h.disclosed.count, "denominator": h.disclosed.denominator,
                           "pct": h.disclosed.pct, "ci_low": h.disclosed.ci_low, "ci_high": h.disclosed.ci_high}, control)
    harms = ", ".join(h.serious)
    if h.disclosed.denominator == 0:
        return ("No RHI child was graded medium or low on every notified episode in the period, "
                "so there is no hidden-risk estimate.")
    episodes = ("a suppressed number of" if control.is_small(h.episodes_of_disclosers)
                else f"{h.episodes_of_disclosers:,}")
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
    for label, sub in table.groupby("children_group", sort=False):
        children = sub["children"].iloc[0]
        parts = [f"{row['police_risk']}: {figure_text(row)}" for _, row in sub.iterrows()]
        out.append(f"Children with {label} ({children} children), episodes by grade - " + "; ".join(parts) + ".")
    return " ".join(out)


def describe_model_rows(rows) -> str:
    """What was fitted for one outcome and what it shows for the police grade, from the published table."""
    first = rows.iloc[0]
    if first["status"] == SUPPRESSED:
        return (f"{first['outcome']}: the model is not published: its grade-by-outcome table has a count too "
                "small to publish.")
    events, n, kids = (("a suppressed number" if v == SUPPRESSED else f"{int(v):,}")
                       for v in (first["events"], first["rhis"], first["children"]))
    lines = [f"{first['outcome']}: {events} of {n} RHIs ({kids} children) had the outcome. Status: {first['status']}."]
    if first["warnings"] not in (None, "", SUPPRESSED):
        lines.append(f"Warnings: {first['warnings']}.")
    for _, row in rows[rows["term"].astype(str).str.startswith("police_risk=")].iterrows():
        level = row["term"].split("=", 1)[1]
        if row["note"]:
            lines.append(f"{level} vs reference: not reported as a finding ({row['note']}).")
            continue
        low, high = _num(row["ci_low"]), _num(row["ci_high"])
        verdict = ("the interval excludes 1" if (low > 1 or high < 1)
                   else "the interval includes 1 (no clear difference)")
        lines.append(f"{level} vs reference grade: odds ratio {_num(row['odds_ratio']):.2f} "
                     f"(95% CI {low:.2f} to {high:.2f}), adjusted for the other covariates; {verdict}.")
    return " ".join(lines)


def describe_hidden_risk_table(table, serious) -> str:
    """The hidden-risk figure in words, from the published hidden-risk table."""
    first, _, episodes = (table.iloc[i] for i in range(3))
    if _num(first["denominator"]) == 0:
        return ("No RHI child was graded medium or low on every notified episode in the period, "
                "so there is no hidden-risk estimate.")
    text = (f"Of the RHI children graded medium or low on every notified episode in the period, "
            f"{figure_text(first)} disclosed at least one serious harm ({', '.join(serious)}).")
    if episodes["count"] != SUPPRESSED and _num(episodes["count"]):
        text += f" Those children had {int(episodes['count']):,} episodes between them, every one graded medium or low."
    return text
