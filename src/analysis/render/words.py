"""The words a reader sees, in one place: names, dates, symbols, labels, the audit's verdict, the glossary.

Every page, spreadsheet, chart and notebook of a report takes its words from here, so that a label reads
the same on the page and in the spreadsheet, a hidden cell is described the same way everywhere, and the
disclosure audit's verdict is worded once.

- **Names**: an authority is called by its name from the shipped DfE list (``analysis.reference.dfe.la_names``),
  with its code; a code the list does not hold (a synthetic one) is called by its code.
- **Dates**: a period is written as dates ("1 April 2017 to 31 March 2018"), never as "start of data".
- **Symbols** (DfE): ``c`` is every hidden cell, worded the same way whether it is a small count or a larger
  one hidden to protect one (telling the reader which would itself reveal something); ``z`` not applicable;
  ``x`` not available. A category of the data ("no follow-up") is never shown as a symbol.
- **Labels**: the codes of the data contract and of the analysis (``cse_victim``, ``police_risk``,
  ``q_value_bh``) as plain words, for values and for column headers.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

# --- symbols ------------------------------------------------------------------------------------------

HIDDEN = "not shown, so that a small number cannot be worked out"
SYMBOL_MEANINGS = {
    "c": f"{HIDDEN} (this covers small counts and the other counts hidden so that a small count cannot be "
         "worked out from totals and other tables)",
    "z": "not applicable (no value can be given here, for example no percentage of none)",
    "x": "not available in the source these records came from",
}


# --- names and dates ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _names() -> dict:
    from analysis.reference.dfe import la_names

    return la_names()


def la_name(code: str | None) -> str | None:
    """The authority's name from the shipped DfE list, or None where the list does not hold the code."""
    if not code:
        return None
    return _names().get(str(code))


def place(code: str | None, with_code: bool = True) -> str:
    """'Kent (E10000016)', 'local authority E08999901' (no name known) or 'all local authorities'."""
    if not code:
        return "all local authorities"
    name = la_name(code)
    if name is None:
        return f"local authority {code}"
    return f"{name} ({code})" if with_code else name


def place_title(code: str | None) -> str:
    """A title's name for a place: 'Kent', 'local authority E08999901', 'all local authorities'."""
    return place(code, with_code=False)


def day(value) -> str | None:
    """'1 April 2017' from a date, a datetime, a pandas Timestamp or 'YYYY-MM-DD'; None for None."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        try:
            value = datetime.strptime(value[:10], "%Y-%m-%d")
        except ValueError:
            return value
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, (date, datetime)):
        return str(value)
    return f"{value.day} {value:%B %Y}"


def period(start, end) -> str:
    """'1 April 2017 to 31 March 2018'; an open end says so in words."""
    first, last = day(start), day(end)
    if first and last:
        return f"{first} to {last}"
    if first:
        return f"from {first}"
    if last:
        return f"up to {last}"
    return "the whole period of the records"


def stamp(iso: str | None) -> str:
    """'7 December 2026 at 12:28 UTC' from an ISO time stamp ('2026-12-07T12:28:03+00:00')."""
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    zone = " UTC" if when.utcoffset() is not None and when.utcoffset().total_seconds() == 0 else ""
    return f"{when.day} {when:%B %Y} at {when:%H:%M}{zone}"


# --- the disclosure audit's verdict -------------------------------------------------------------------

SAFE = "Safe to publish"
UNSAFE = "Do not publish"


def _n(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def verdict(audit: dict | None, suppressed: bool = True) -> dict:
    """The run's verdict for every place that states it (index, each report, the command line).

    ``audit``: the batch's record of the independent disclosure audit (``ok``, ``leaks``, ``inconsistencies``,
    ``unresolved``, ``error``). Returns ``{"ok", "heading", "reason", "text"}``; ``text`` is the one sentence,
    "Safe to publish: ..." or "Do not publish: ...".
    """
    if not suppressed:
        ok, reason = False, ("disclosure control was turned off for this run, so small numbers are shown; "
                             "it is for internal use only")
    elif audit is None:
        ok, reason = False, "the disclosure audit has not checked this run"
    elif audit.get("error"):
        ok, reason = False, ("the disclosure audit could not read the numbers this run publishes "
                             f"({audit['error']})")
    elif audit.get("ok"):
        ok, reason = True, ("the independent disclosure audit checked every number this run publishes and "
                            "found that no hidden number can be worked out from them")
    else:
        parts = []
        if audit.get("leaks"):
            parts.append(_n(int(audit["leaks"]), "hidden number can", "hidden numbers can") + " be worked out")
        if audit.get("inconsistencies"):
            parts.append(_n(int(audit["inconsistencies"]), "set of published numbers does", "sets of published "
                            "numbers do") + " not add up")
        if audit.get("unresolved"):
            parts.append(_n(int(audit["unresolved"]), "hidden number", "hidden numbers")
                         + " could not be shown to be safe in the audit's time limit")
        reason = "the independent disclosure audit found that " + ("; ".join(parts) if parts else "the run is not safe")
        ok = False
    heading = SAFE if ok else UNSAFE
    return {"ok": ok, "heading": heading, "reason": reason, "text": f"{heading}: {reason}."}


# --- labels: codes as plain words ---------------------------------------------------------------------

LABELS = {
    # what children disclosed (data contract, section 1)
    "cse_victim": "sexual exploitation", "rf_older_associates": "older associates (CSE red flag)",
    "rf_friends_exploited": "friends being exploited (CSE red flag)",
    "rf_unexplained_gifts": "unexplained gifts or money (CSE red flag)",
    "rf_gang_association": "gang association (CSE red flag)", "rf_recruiting_others": "recruiting others (CSE red flag)",
    "push_cse_or_unsafe_adult": "drawn away by exploitation or an unsafe adult",
    "push_older_peers": "drawn away by older peers", "missing_to_see_family": "went missing to see family",
    "placement_issues": "problems with the placement", "cce_victim": "criminal exploitation",
    "mental_health": "a mental-health issue", "self_harm_risk": "risk of self-harm", "suicide_risk": "risk of suicide",
    "low_self_esteem": "low self-esteem", "education_issues": "problems with education",
    "substance_misuse": "substance misuse", "alcohol_misuse": "alcohol misuse", "offending": "offending",
    "lacks_peer_friends": "no friends of their own age", "physical_injury": "physical injury",
    "witnessed_domestic_abuse": "witnessed domestic abuse", "abuse_history": "a history of abuse",
    "cse_red_flag_any": "any CSE red flag",
    # harm groups of the linkage analysis
    "cse_any": "sexual exploitation (any CSE indicator)", "cce": "criminal exploitation",
    "mental_health_any": "mental health (any indicator)", "serious_harm_any": "serious harm (any)",
    # cohorts, grades, settings
    "looked_after": "looked after", "open_to_services": "open to children's services",
    "not_known": "not known to services", "no_apparent_risk": "no apparent risk",
    "medium_low": "medium or low", "home": "home", "care_in_area": "care placement in the area",
    "care_out_of_area": "care placement out of the area",
    # RHI outcomes, declines, follow-up, consent
    "accepted_not_completed": "accepted but not completed", "no_contact": "no contact", "not_offered": "not offered",
    "child_declined": "the child declined", "parent_carer_declined": "a parent or carer declined",
    "already_has_worker": "already has a worker", "no_reason_given": "no reason given",
    "single_contact": "a single contact", "one_to_one": "one-to-one support", "signposted": "signposted",
    # populations and measures
    "notified_episodes": "notified episodes", "risk_coded_episodes": "episodes with a police risk code",
    "medium_low_episodes": "medium- or low-risk episodes", "high_episodes": "high-risk episodes",
    "rhi_episodes_all": "episodes with a completed RHI, every grade",
    "rhi_episodes_medium_low": "medium- or low-risk episodes with a completed RHI",
    "rhi_children": "children with a completed RHI", "rhi_children_high": "children with a high-risk RHI",
    "rhi_children_looked_after": "children with a completed RHI: looked after",
    "rhi_children_open_to_services": "children with a completed RHI: open to children's services",
    "rhi_children_not_known": "children with a completed RHI: not known to services",
    "rhi_completion": "RHI completion", "police_risk": "police risk grade", "rhi_episodes": "RHI-episode links",
    "medium_low_share_of_coded": "risk-coded episodes graded medium or low", "repeat_episodes": "repeat episodes",
    "one_to_one_offered_or_provided": "one-to-one support offered or given", "rhis": "RHIs",
}
# Values that are categories of the data, never blanks: shown in words, in context.
CATEGORY_WORDS = {("follow_up", "none"): "no follow-up", ("consent", "none"): "none shared",
                  ("status", "suppressed"): "not shown (c)", ("status", "report inconsistent"): "inconsistent in the study"}

HEADERS = {
    "count": "Number", "denominator": "Out of", "pct": "%", "ci_low": "95% CI lower", "ci_high": "95% CI upper",
    "p_value": "p-value", "q_value_bh": "Adjusted p-value", "trend_z": "Trend (z)", "trend_p_value": "Trend p-value",
    "trend_q_value_bh": "Trend adjusted p-value", "police_risk": "Police grade", "cohort": "Cohort",
    "outcome": "Harm disclosed", "indicator": "Disclosed", "group": "Group", "id": "Figure",
    "published_count": "Study's number", "published_pct": "Study's %", "published": "Study", "replicated": "These records",
    "episodes_per_child": "Episodes per child", "age_band": "Age", "sex": "Sex", "unit": "Counted in",
    "stage": "Stage", "kind": "Kind", "reason": "Reason", "status": "Status", "population": "Population",
    "measure": "Measure", "value": "Group", "month": "Month", "hours": "Hours to the interview",
    "from_return": "From the child's return", "from_offer": "From the offer", "follow_up": "Follow-up",
    "median_hours": "Median hours", "quartiles_hours": "Middle half (hours)", "rhis": "RHIs", "rhis_timed": "RHIs timed",
    "clock": "Clock starts", "events": "Events", "odds_ratio": "Odds ratio", "log_odds": "Log odds",
    "se": "Standard error", "term": "Compared with the reference", "note": "Note", "warnings": "Warnings",
    "episode_band": "Episode band", "children": "Children", "episodes": "Episodes", "children_group": "Children",
    "metric": "Measure", "test": "Test", "years": "Years", "year": "Year", "compared": "Compared",
    "figure": "Figure", "of": "Of", "method": "Method", "verdict": "Verdict", "difference_points": "Change (points)",
    "difference_low": "Change: 95% CI lower", "difference_high": "Change: 95% CI upper",
    "tests_in_family": "Tests adjusted together", "design_effect": "Design effect", "ci_method": "Interval",
    "denominator_is": "Counted among", "la_code": "Code", "unit_code": "Code", "la_name": "Authority",
    "region_name": "Region", "position": "Position", "dfe_status": "DfE status", "area": "Area",
    "went_missing": "Went missing", "looked_after": "Looked after during the year", "statement": "Note",
    "la_code_latest": "Latest code", "la_code_old": "Earlier code", "interval_method": "Intervals",
    "p_value_method": "p-values", "covariance": "Covariance", "limitation": "Limitation", "offered_count": "Offered",
    "offered_pct": "Offered %", "completed_count": "Completed", "completed_pct": "Completed %",
    "within_72h_count": "Within 72 hours", "within_72h_denominator": "Within 72 hours: out of",
    "within_72h_pct": "Within 72 hours %", "within_72h_ci_low": "Within 72 hours: 95% CI lower",
    "within_72h_ci_high": "Within 72 hours: 95% CI upper", "high_count": "High: number",
    "high_denominator": "High: out of", "medium_count": "Medium: number", "medium_denominator": "Medium: out of",
    "low_count": "Low: number", "low_denominator": "Low: out of",
    "medium_low_count": "Medium or low: number", "medium_low_denominator": "Medium or low: out of",
}
_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9+]+)+\b")
_TERM = re.compile(r"\b([a-z_]+)=([^;,]+)")


def plain_text(text: str) -> str:
    """Any code inside a text as words: 'RHI children with cse_victim recorded' -> '... with sexual exploitation
    recorded'; 'police_risk=high' -> 'police risk grade: high'."""
    if not isinstance(text, str) or not text:
        return text

    def term(match):
        name, level = match.group(1), match.group(2)
        words = {"police_risk": "police grade", "age_band": "age", "episode_band": "episode band"}.get(
            name, LABELS.get(name, name.replace("_", " ")))
        return f"{words}: " + " or ".join(LABELS.get(v, v.replace("_", " ")) for v in level.split("|"))

    text = _TERM.sub(term, text)
    return _CODE.sub(lambda m: LABELS.get(m.group(0), m.group(0).replace("_", " ")), text)


def capital(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


@lru_cache(maxsize=1)
def _figure_labels() -> dict:
    from analysis.definitions.figures import FIGURES

    return {fid: capital(plain_text(f.label)) for fid, f in FIGURES.items()}


def plain_value(column: str, value: str) -> str:
    """A text value of a published table as the reader sees it, the same on the page and in the spreadsheet."""
    if not isinstance(value, str):
        return value
    if value in ("c", "z", "x"):
        return value
    column = str(column)
    special = CATEGORY_WORDS.get((column, value))
    if special:
        return capital(special)
    if column in ("id", "figure") and value in _figure_labels():
        return _figure_labels()[value]
    if column in ("measure",) and value in LABELS:
        return capital(LABELS[value])
    if value in LABELS:
        return capital(LABELS[value])
    return plain_text(value)


def header_text(column: str) -> str:
    """A column's header: 'pct' -> '%', 'q_value_bh' -> 'Adjusted p-value', 'police_risk' -> 'Police grade'."""
    column = str(column)
    if column in HEADERS:
        return HEADERS[column]
    for key, word in (("_pct", " %"), ("_ci_low", ": 95% CI lower"), ("_ci_high", ": 95% CI upper"),
                      ("_count", ": number"), ("_denominator", ": out of")):
        if column.endswith(key):
            stem = column[: -len(key)]
            return capital(LABELS.get(stem, stem.replace("_", " "))) + word
    return capital(LABELS.get(column, column.replace("_", " ")))


# --- the glossary: one per report ---------------------------------------------------------------------

GLOSSARY = [
    ("Return home interview (RHI)", "the interview a local authority must offer a child who has come back from "
     "going missing, to find out what happened and what help they need."),
    ("Missing episode", "one time a child was reported missing to the police; a notified episode is one the "
     "police passed to the local authority."),
    ("Police risk grade", "the risk the police recorded when the child was reported missing: high, medium or low. "
     "An RHI takes the highest grade of the episodes it covers."),
    ("Children with a completed RHI", "children who had a completed RHI for an episode in scope (by default, "
     "graded medium or low)."),
    ("Cohort", "whether the child was looked after (in care), open to children's services (a child in need, on a "
     "protection plan or getting early help), or not known to services, at the RHI."),
    ("CSE and CCE", "child sexual exploitation and child criminal exploitation. A CSE red flag is a warning sign of "
     "sexual exploitation, such as older associates or unexplained gifts."),
    ("Serious harm", "sexual exploitation, criminal exploitation, being drawn away by exploitation or an unsafe "
     "adult, risk of self-harm or risk of suicide, disclosed at an RHI."),
    ("95% confidence interval (CI)", "the range of values the data are consistent with; where two ranges overlap, "
     "the data do not show a clear difference."),
    ("Adjusted p-value", "a p-value corrected for the number of tests made together (Benjamini-Hochberg), so that "
     "testing many figures does not by itself produce a finding."),
    ("Funnel plot", "a chart of each authority's figure against its size, with lines showing how far from the "
     "overall figure chance alone would usually take an authority of that size."),
    ("c", SYMBOL_MEANINGS["c"] + "."),
    ("z", SYMBOL_MEANINGS["z"] + "."),
    ("x", SYMBOL_MEANINGS["x"] + "."),
]
