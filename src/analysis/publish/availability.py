"""Cells a dataset's source cannot supply: published as 'x' (not available), never as 0.

An imported dataset says in ``import_report.json`` which contract fields its
source does not hold (an SSDA903 return has no police grading and no RHIs; an
SSD extract has no disclosures). A count built on such a field is 0 in the
records, but 0 would read as "none": the publication shows it as the DfE
symbol 'x' (not available), and a percentage, interval or test resting on it
too. Which cells rest on which field is decided from the cell's key:

- police grade (``episodes.police_risk``): every population after notified
  episodes and children is selected by the grade (risk-coded, in scope, RHI
  episodes ...), as is any cell broken down by grade or measuring a risk code;
- RHIs (``rhis``): cells counting RHIs, links or disclosures, and measures of
  an RHI's offer, completion, decline, timing, consent or follow-up;
- disclosures (``disclosures``): cells counting disclosures or children or
  RHIs with an indicator;
- one RHI field (``rhis.completed_at``, ``rhis.offered_at``,
  ``rhis.decline_reason``, ``rhis.follow_up``, ``rhis.consent_to_share``): the
  measures and populations built on it;
- ``episodes.legal_status`` (cohorts), ``episodes.missing_from`` (setting),
  ``children.uasc``: cells broken down by or measuring them.

Hiding more than needed is safe (an 'x' reveals nothing); showing a 0 for a
field the source lacks is the error this guards against.
"""

from __future__ import annotations

from analysis import vocab
from analysis.publish.cells import TOTAL, Key

BEFORE_GRADE = frozenset({"notified_episodes", "notified_children", "missing_children", "rows_read"})
RHI_WORDS = ("rhi", "offer", "declin", "complet", "within_72h", "timed", "interview", "consent", "follow",
             "helpline", "shared")
INDICATOR_WORDS = tuple(vocab.INDICATORS) + tuple(vocab.DERIVED_INDICATORS) + tuple(vocab.HARM_GROUPS) + (
    "serious_harm", "disclos", "indicator")


def _words(k: Key) -> str:
    return f"{k.unit} {k.population} {k.measure}".lower()


def needs_grade(k: Key) -> bool:
    return k.population not in BEFORE_GRADE or k.get("police_grade") != TOTAL or "risk" in k.measure.lower()


def needs_rhis(k: Key) -> bool:
    return k.unit in ("rhis", "links", "disclosures") or any(w in _words(k) for w in RHI_WORDS)


def needs_disclosures(k: Key) -> bool:
    return k.unit == "disclosures" or any(w in _words(k) for w in INDICATOR_WORDS)


RULES = {
    "episodes.police_risk": needs_grade,
    "rhis": needs_rhis,
    "rhi_episodes": lambda k: k.unit == "links" or "rhi_episodes" in k.population,
    "disclosures": needs_disclosures,
    "rhis.completed_at": lambda k: any(w in _words(k) for w in ("timed", "within_72h", "time_to")),
    "rhis.offered_at": lambda k: any(w in _words(k) for w in ("timed_from_offer", "within_72h_offer")),
    "rhis.decline_reason": lambda k: "decline_reason" in _words(k),
    "rhis.follow_up": lambda k: "follow" in _words(k),
    "rhis.consent_to_share": lambda k: "consent" in _words(k),
    "episodes.legal_status": lambda k: k.get("cohort") != TOTAL or "looked_after" in k.measure,
    "episodes.missing_from": lambda k: k.get("setting") != TOTAL or "outside" in k.measure,
    "children.uasc": lambda k: "uasc" in _words(k),
}


def not_available(fields) -> "callable":
    """A test of a cell key: the first unavailable field it rests on, or None."""
    rules = [(f, RULES[f]) for f in fields if f in RULES]

    def check(k: Key) -> str | None:
        for field, rule in rules:
            if rule(k):
                return field
        return None
    return check
