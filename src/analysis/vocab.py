"""Controlled vocabularies of the data contract (section 1) and their accepted aliases.

Every value the loader accepts is listed here once; the validator, the
synthetic generator and the importers all read from this module so that a
new code is added in one place.
"""

from __future__ import annotations

TABLES = ("children", "episodes", "rhis", "rhi_episodes", "disclosures")
OPTIONAL_TABLES = ("indicators",)

SEX = {
    "female": "female", "f": "female", "2": "female", "girl": "female",
    "male": "male", "m": "male", "1": "male", "boy": "male",
    "other": "other",
    "unknown": "unknown", "u": "unknown", "not known": "unknown", "9": "unknown",
}

BOOLEAN = {
    "true": True, "false": False, "yes": True, "no": False,
    "y": True, "n": False, "1": True, "0": False, "t": True, "f": False,
}

EPISODE_TYPE = {"missing": "missing", "away": "away", "absent without authorisation": "away"}

# Highest first: the police risk of an RHI is the highest of its episodes.
RISK_ORDER = ("high", "medium", "low", "no_apparent_risk")
POLICE_RISK = {
    "high": "high", "medium": "medium", "low": "low",
    "no_apparent_risk": "no_apparent_risk", "no apparent risk": "no_apparent_risk",
    "absent": "no_apparent_risk",
}

MISSING_FROM = {"home": "home", "care_in_area": "care_in_area", "care_out_of_area": "care_out_of_area"}

LEGAL_STATUS = {
    "looked_after": "looked_after", "child_protection": "child_protection",
    "child_in_need": "child_in_need", "early_help": "early_help", "not_known": "not_known",
}

RHI_STATUS = {
    "completed": "completed", "declined": "declined",
    "accepted_not_completed": "accepted_not_completed", "no_contact": "no_contact",
    "not_offered": "not_offered",
}

DECLINE_REASON = {
    "child_declined": "child_declined", "parent_carer_declined": "parent_carer_declined",
    "already_has_worker": "already_has_worker", "no_reason_given": "no_reason_given",
    "other": "other",
}

CONSENT = {"all": "all", "partial": "partial", "none": "none"}

FOLLOW_UP = {
    "none": "none", "signposted": "signposted", "single_contact": "single_contact",
    "one_to_one": "one_to_one",
}

# Cohorts (section 3): the legal status of an RHI maps to one of three cohorts.
COHORTS = ("looked_after", "open_to_services", "not_known")
COHORT_LABELS = {
    "looked_after": "Looked after",
    "open_to_services": "Open to children's services",
    "not_known": "Not known to services",
}
COHORT_OF_LEGAL_STATUS = {
    "looked_after": "looked_after",
    "child_protection": "open_to_services",
    "child_in_need": "open_to_services",
    "early_help": "open_to_services",
    "not_known": "not_known",
}

INDICATOR_GROUPS = {
    "CSE": ("cse_victim",),
    "CSE red flags": (
        "rf_older_associates", "rf_friends_exploited", "rf_unexplained_gifts",
        "rf_gang_association", "rf_recruiting_others",
    ),
    "push factors": (
        "push_cse_or_unsafe_adult", "push_older_peers", "missing_to_see_family",
        "placement_issues",
    ),
    "CCE": ("cce_victim",),
    "mental health": ("mental_health", "self_harm_risk", "suicide_risk", "low_self_esteem"),
    "other": (
        "education_issues", "substance_misuse", "alcohol_misuse", "offending",
        "lacks_peer_friends", "physical_injury", "witnessed_domestic_abuse", "abuse_history",
    ),
}
INDICATORS = tuple(i for group in INDICATOR_GROUPS.values() for i in group)
RED_FLAGS = INDICATOR_GROUPS["CSE red flags"]

# Derived indicators: name -> the recorded indicators any one of which sets it.
DERIVED_INDICATORS = {"cse_red_flag_any": RED_FLAGS}

# Harm groups used by the linkage analysis (issue 5); each is "any of".
HARM_GROUPS = {
    "cse_any": ("cse_victim",) + RED_FLAGS,
    "cce": ("cce_victim",),
    "mental_health_any": ("mental_health", "self_harm_risk", "suicide_risk"),
}
SERIOUS_HARM_DEFAULT = (
    "cse_victim", "cce_victim", "push_cse_or_unsafe_adult", "self_harm_risk", "suicide_risk",
)

AGE_BANDS = ("10 or under", "11-13", "14-16", "17")
ADULT_AGE = 18


def expected_text(mapping: dict[str, object]) -> str:
    """The canonical values of a vocabulary, for an error message."""
    seen: list[str] = []
    for value in mapping.values():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if text not in seen:
            seen.append(text)
    return "one of " + ", ".join(seen)
