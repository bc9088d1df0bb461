"""Readers' labels for the codes of the publication's cells (units, populations, measures, breakdown levels).

The open-data file (:mod:`analysis.publish.tidy`) shows these labels in its
filter columns, as a statistics release shows them, and keeps the machine
name beside the two coded filters a user joins on (``population_code``,
``measure_code``, the names of ``cells.csv`` and of ``rhi figures``). A code
without an entry here gets a label made from the code itself (underscores to
spaces), so a new measure never breaks a run; ``tests/test_dfe_open_data.py``
checks that every code of the default and three-year runs has its own entry.
Labels hold no comma, so a value never needs quoting in the CSV.
"""

from __future__ import annotations

from analysis import vocab

UNITS = {"children": "Children", "episodes": "Episodes", "rhis": "RHIs", "disclosures": "Disclosures",
         "links": "RHI-episode links"}
UNITS_IN_TEXT = {"children": "children", "episodes": "episodes", "rhis": "RHIs", "disclosures": "disclosures",
                 "links": "RHI-episode links"}

POPULATIONS = {
    "rows_read": "Rows read from the dataset",
    "notified_episodes": "Missing episodes notified",
    "notified_children": "Children with a notified missing episode",
    "missing_children": "Children who went missing",
    "risk_coded_episodes": "Episodes with a police risk grade",
    "in_scope_episodes": "Episodes in scope (graded medium or low)",
    "in_scope_children": "Children with an episode in scope",
    "in_scope_rhis": "RHIs in scope",
    "in_scope_disclosures": "Disclosures at RHIs in scope",
    "completed_rhis": "Completed RHIs",
    "rhi_episodes": "Episodes addressed by a completed RHI",
    "rhi_children": "Children with a completed RHI in scope",
    "rhi_children_high": "Children with a completed RHI after a high-graded episode",
    "rhi_children_cce_victims": "RHI children who disclosed criminal exploitation",
    "high_episodes": "Episodes graded high",
    "high_children": "Children with an episode graded high",
    "graded_rhis": "RHIs by the police grade of their episodes",
    "graded_children": "RHI children by police grade",
    "graded_children_highest": "RHI children by their highest police grade",
    "first_rhi_children": "RHI children at their first RHI",
    "all_medium_low_children": "RHI children whose episodes were all graded medium or low",
    "episodes_of_all_medium_low_children": "Episodes of RHI children graded only medium or low",
    "episodes_of_graded_children_fewer": "Episodes of RHI children with fewer notified episodes",
    "episodes_of_graded_children_many": "Episodes of RHI children with many notified episodes",
    "decline_reasons_rhis": "Declined RHIs by reason",
    "follow_up_rhis": "Completed RHIs by follow-up agreed",
    "timed_from_return": "Completed RHIs timed from the child's return",
    "timed_from_offer": "Completed RHIs timed from the offer",
    "links_used": "RHI-episode links used",
}

_INDICATOR_LABELS = {
    "cse_victim": "Sexual exploitation disclosed",
    "rf_older_associates": "Red flag: older associates",
    "rf_friends_exploited": "Red flag: friends being exploited",
    "rf_unexplained_gifts": "Red flag: unexplained gifts or money",
    "rf_gang_association": "Red flag: gang association",
    "rf_recruiting_others": "Red flag: recruiting others",
    "push_cse_or_unsafe_adult": "Push factor: sexual exploitation or an unsafe adult",
    "push_older_peers": "Push factor: older peers",
    "missing_to_see_family": "Went missing to see family",
    "placement_issues": "Placement issues",
    "cce_victim": "Criminal exploitation disclosed",
    "mental_health": "Mental-health issue disclosed",
    "self_harm_risk": "Risk of self-harm",
    "suicide_risk": "Risk of suicide",
    "low_self_esteem": "Low self-esteem",
    "education_issues": "Education issues",
    "substance_misuse": "Substance misuse",
    "alcohol_misuse": "Alcohol misuse",
    "offending": "Offending",
    "lacks_peer_friends": "No friends of their own age",
    "physical_injury": "Physical injury",
    "witnessed_domestic_abuse": "Witnessed domestic abuse",
    "abuse_history": "History of abuse",
    "cse_red_flag_any": "Any sexual-exploitation red flag",
}

MEASURES = {
    "Total": "Total",
    **_INDICATOR_LABELS,
    "cse_any": "Sexual exploitation (any indicator)",
    "cce": "Criminal exploitation",
    "mental_health_any": "Mental health (any indicator)",
    "serious_harm_any": "Serious harm (any)",
    "missing_2_plus": "Missing more than once",
    "children_with_3_or_more_episodes_in_90_days": "Three or more episodes in 90 days",
    "rhi_offered": "RHI offered",
    "rhi_accepted": "RHI accepted",
    "rhi_declined": "RHI declined",
    "rhi_completed": "RHI completed",
    "offered_declined": "Offered and declined",
    "within_72h_return": "RHI within 72 hours of return",
    "within_72h_offer": "RHI within 72 hours of the offer",
    "within_72h": "Within 72 hours",
    "rhi_completed_timed_return": "RHI completed and timed from return",
    "rhi_completed_timed_offer": "RHI completed and timed from the offer",
    "repeat": "Repeat episode",
    "repeat_episodes": "Repeat episodes",
    "with_completed_rhi": "With a completed RHI",
    "with_completed_rhi_timed_return": "With a completed RHI timed from return",
    "with_completed_rhi_timed_offer": "With a completed RHI timed from the offer",
    "children_more_than_one_rhi": "More than one RHI",
    "in_several_cohorts": "In more than one cohort",
    "one_to_one_offered_or_provided": "One-to-one support offered or provided",
    "shared_wider_than_police_cs": "Shared wider than police and children's services",
    "signposted_helpline": "Signposted to a helpline",
    "single_follow_up_agreed": "One follow-up agreed",
    "fewer_notified_episodes": "Fewer notified episodes",
    "many_notified_episodes": "Many notified episodes",
    "of_disclosers": "Episodes of children who disclosed serious harm",
    "not_all_medium_low": "Not graded only medium or low",
    "confidentiality_breached": "Confidentiality breached",
    "consent_all_shared": "Consent: all shared",
    "consent_none_shared": "Consent: none shared",
    "consent_partial_or_override": "Consent: partial or overridden",
    "remainder not shown": "Remainder (not shown separately)",
    "not recorded": "Not recorded",
    "other": "Other",
    "already_has_worker": "Already has a worker",
    "child_declined": "Child declined",
    "parent_carer_declined": "Parent or carer declined",
    "no_reason_given": "No reason given",
    "none": "None",
    "one_to_one": "One-to-one",
    "signposted": "Signposted",
    "single_contact": "Single contact",
}

LEVELS = {
    "police_grade": {"high": "High", "medium": "Medium", "low": "Low", "no_apparent_risk": "No apparent risk",
                     "medium_or_low": "Medium or low"},
    "cohort": {**vocab.COHORT_LABELS, "not_looked_after": "Not looked after"},
    "age_band": {"10 or under": "10 or under", "11-13": "11 to 13", "14-16": "14 to 16", "17": "17",
                 "13 or under": "13 or under", "14-17": "14 to 17"},
    "sex": {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"},
    "setting": {"home": "Home", "care_in_area": "Care placement in the area",
                "care_out_of_area": "Care placement out of the area", "not_recorded": "Not recorded"},
    "episode_number": {"1": "1st", "2-4": "2nd to 4th", "5-14": "5th to 14th", "15+": "15th or later"},
    "episodes_per_child": {"1": "1", "2-4": "2 to 4", "5-14": "5 to 14", "15+": "15 or more"},
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _clean(text: str) -> str:
    """No comma (values are never quoted), no leading or trailing space, first letter upper case."""
    text = " ".join(text.replace(",", ";").split())
    return text[:1].upper() + text[1:] if text else text


def _humanised(code: str) -> str:
    return _clean(code.replace("_", " "))


def has_label(kind: str, code: str) -> bool:
    """Whether ``code`` has its own label (not one made from the code)."""
    return label(kind, code, strict=True) is not None


def label(kind: str, code: str, strict: bool = False) -> str | None:
    """The reader's label of a code: ``kind`` is unit, population, measure or a breakdown's name."""
    if code == "Total":
        return "Total"
    if kind == "unit":
        found = UNITS.get(code)
    elif kind == "population":
        found = POPULATIONS.get(code)
    elif kind == "measure":
        found = _measure(code)
    elif kind == "month":
        found = _month(code)
    else:
        found = LEVELS.get(kind, {}).get(code)
    if found is None and not strict:
        found = _humanised(code)
    return None if found is None else _clean(found)


def _measure(code: str) -> str | None:
    if code in MEASURES:
        return MEASURES[code]
    if code.startswith("excluded: "):   # a record-flow exclusion: "excluded: <stage>: <reason>"
        return "Excluded: " + code.split(": ", 2)[-1]
    if code.startswith("hours "):       # a time band: "hours 24-48 h"
        band = code[len("hours "):].replace(" h", " hours").replace("-", " to ")
        return "Completed " + band
    if code.startswith("graded "):      # episodes by police grade: "graded medium"
        grade = code[len("graded "):]
        return "Graded " + (LEVELS["police_grade"].get(grade) or grade.replace("_", " ")).lower()
    if code.endswith(": remainder not shown"):
        head = _measure(code[: -len(": remainder not shown")])
        return None if head is None else head + ": remainder (not shown separately)"
    return None


def _month(code: str) -> str | None:
    try:
        year, month = code.split("-")
        return f"{MONTHS[int(month) - 1]} {int(year)}"
    except (ValueError, IndexError):
        return None
