"""What the children of the synthetic study disclosed at their RHIs.

Each RHI child has latent scores (a general vulnerability and one factor per
kind of harm: sexual exploitation, criminal exploitation, mental health,
family); an indicator goes to the children of a cohort with the highest
scores, in exactly the number the calibration asks for. Shared factors make
indicators co-occur as they do in practice (red flags with CSE, self-harm with
mental health, alcohol with substance misuse), and the overlap of CCE and CSE
victims is set to the published share. Cohorts without a published figure
take a share of the overall count in proportion to the relative rates below
(design choices, docs/synthetic-data.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import vocab
from analysis.synth.calibration import Calibration, CalibrationError
from analysis.synth.plan import LAC, NK, OTS

FACTOR = {
    "cse": ("cse_victim", "rf_older_associates", "rf_friends_exploited", "rf_unexplained_gifts",
            "push_cse_or_unsafe_adult", "push_older_peers", "physical_injury"),
    "crime": ("cce_victim", "rf_gang_association", "rf_recruiting_others", "offending", "substance_misuse",
              "alcohol_misuse"),
    "mind": ("mental_health", "self_harm_risk", "suicide_risk", "low_self_esteem", "lacks_peer_friends"),
    "family": ("missing_to_see_family", "placement_issues", "witnessed_domestic_abuse", "abuse_history",
               "education_issues"),
}
FACTOR_OF = {i: f for f, items in FACTOR.items() for i in items}
# Relative rate by cohort (looked after, open to services, not known) where no figure is published.
RELATIVE_RATE = {"placement_issues": (1.0, 0.0, 0.0), "missing_to_see_family": (1.0, 0.35, 0.2),
                 "abuse_history": (2.0, 1.8, 1.0), "cce_victim": (1.0, 0.8, 0.2),
                 "cse_red_flag_any": (1.1, 1.0, 0.8)}
DEFAULT_RATE = (1.0, 0.9, 0.7)
# Score bonus for children already holding a related indicator (co-occurrence).
BONUS = {"cse_victim": (("cse_red_flag_any", 1.5),), "push_cse_or_unsafe_adult": (("cse_victim", 1.5),),
         "self_harm_risk": (("mental_health", 1.2),), "suicide_risk": (("self_harm_risk", 1.5),),
         "alcohol_misuse": (("substance_misuse", 1.0),), "offending": (("cce_victim", 1.0),)}
COHORT_PREFIX = {LAC: "lac", OTS: "ots", NK: "nk"}
SHARE_OF = {"cce_victim": "cse_among_cce_victims"}   # a published share whose denominator is this count


def latent_scores(kids: pd.Index, rng) -> pd.DataFrame:
    """General vulnerability and one correlated score per factor, per child."""
    general = rng.normal(size=len(kids))
    scores = {"general": general}
    for factor in FACTOR:
        scores[factor] = 0.6 * general + 0.8 * rng.normal(size=len(kids))
    return pd.DataFrame(scores, index=kids)


def cohort_counts(cal: Calibration, indicator: str, units: dict[str, int], sizes: dict[str, int],
                  n_children: int) -> dict[str, int]:
    """Children with the indicator in each cohort (their main cohort), meeting the published figures."""
    known = {c: cal.count(f"{p}_{indicator}", sizes[c]) for c, p in COHORT_PREFIX.items()
             if cal.has(f"{p}_{indicator}")}
    rate = dict(zip(vocab.COHORTS, RELATIVE_RATE.get(indicator, DEFAULT_RATE)))
    missing = [c for c in vocab.COHORTS if c not in known]
    if indicator in SHARE_OF:
        overall = cal.count_allowing(indicator, n_children, SHARE_OF[indicator])
    elif cal.has(indicator):
        overall = cal.count(indicator, n_children)
    else:   # no overall figure: scale the known cohorts' rate
        base = sum(known.values()) / sum(units[c] * rate[c] for c in known)
        overall = sum(known.values()) + sum(round(base * rate[c] * units[c]) for c in missing)
    rest = overall - sum(known.values())
    weights = np.array([rate[c] * units[c] for c in missing], dtype=float)
    if rest < 0 or (rest and weights.sum() == 0):
        raise CalibrationError(f"design: {indicator} cohort figures exceed the overall figure")
    exact = rest * weights / weights.sum() if rest else np.zeros(len(missing))
    split = np.floor(exact).astype(int)
    split[np.argsort(-(exact - split), kind="stable")[: rest - split.sum()]] += 1
    counts = known | dict(zip(missing, split.tolist()))
    for c, k in counts.items():
        if k > units[c]:
            raise CalibrationError(f"design: {indicator} needs {k} children of {units[c]} in {c}")
    return counts


def _top(score: pd.Series, k: int) -> set:
    return set(score.sort_values(ascending=False, kind="stable").index[:k])


def choose(cal: Calibration, cohort_of: pd.Series, scores: pd.DataFrame, sizes: dict[str, int], rng) -> dict[str, set]:
    """Indicator -> set of RHI children (keys of ``cohort_of``) who disclosed it."""
    units = cohort_of.value_counts().reindex(vocab.COHORTS, fill_value=0).to_dict()
    n = len(cohort_of)
    chosen: dict[str, set] = {}

    def score(indicator):
        factor = FACTOR_OF.get(indicator, "cse")
        s = 0.85 * scores[factor] + 0.53 * rng.normal(size=len(scores))
        for other, bonus in BONUS.get(indicator, ()):
            s = s + bonus * scores.index.isin(list(chosen.get(other, ()))).astype(float)
        return pd.Series(s, index=scores.index)

    def by_cohort(indicator, s):
        counts = cohort_counts(cal, indicator, units, sizes, n)
        return set().union(*(_top(s[cohort_of == c], counts[c]) for c in vocab.COHORTS))

    chosen["cse_red_flag_any"] = by_cohort("cse_red_flag_any", scores["cse"] + 0.3 * rng.normal(size=n))
    _red_flags(cal, chosen, score, n, rng)
    for indicator in vocab.INDICATORS:
        if indicator not in chosen:
            chosen[indicator] = by_cohort(indicator, score(indicator))
    _set_overlap(cal, chosen, cohort_of, scores)
    return chosen


def _red_flags(cal: Calibration, chosen: dict, score, n: int, rng) -> None:
    """The five red flags, all within the children with any red flag, each of whom has at least one."""
    any_flag = chosen["cse_red_flag_any"]
    target = {f: cal.count(f, n) if cal.has(f) else 0 for f in vocab.RED_FLAGS}
    main, others = vocab.RED_FLAGS[0], vocab.RED_FLAGS[1:]
    chosen[main] = _top(score(main)[list(any_flag)], target[main])
    left = {f: target[f] for f in others}
    sets = {f: set() for f in others}
    for kid in sorted(any_flag - chosen[main]):
        weights = np.array([left[f] for f in others], dtype=float)
        if weights.sum() == 0:
            raise CalibrationError("design: too few red flags for the children with any red flag")
        f = others[rng.choice(len(others), p=weights / weights.sum())]
        sets[f].add(kid)
        left[f] -= 1
    for f in others:
        s = score(f)[[k for k in any_flag if k not in sets[f]]]
        sets[f] |= _top(s, left[f])
        chosen[f] = sets[f]


def _set_overlap(cal: Calibration, chosen: dict, cohort_of: pd.Series, scores: pd.DataFrame) -> None:
    """Make the published share of CCE victims also CSE victims, swapping within a cohort."""
    cce, cse = chosen["cce_victim"], chosen["cse_victim"]
    want = cal.count("cse_among_cce_victims", len(cce))
    while len(cce & cse) != want:
        more = len(cce & cse) < want
        moved = False
        for c in vocab.COHORTS:
            in_c = set(cohort_of.index[cohort_of == c])
            out_pool = sorted((cce - cse if more else cce & cse) & in_c)
            in_pool = sorted(((cse if more else set(cohort_of.index) - cse) - cce) & in_c)
            if out_pool and in_pool:
                leave = min(out_pool, key=lambda k: scores.at[k, "crime"])
                join = max(in_pool, key=lambda k: scores.at[k, "crime"])
                cce.discard(leave)
                cce.add(join)
                moved = True
                break
        if not moved:
            raise CalibrationError("design: the overlap of CCE and CSE victims cannot be met")


def high_risk_disclosures(cal: Calibration, kids: list[int], scores: pd.DataFrame, rng) -> dict[str, set]:
    """Disclosures at RHIs for a high-risk episode: the published counts, other indicators at modest rates."""
    n = len(kids)
    s = scores.reindex(kids)
    flagged = _top(s["cse"] + 0.5 * rng.normal(size=n), cal.count("high_rhi_cse_red_flag_any", n))
    out = {"cse_victim": _top(s.loc[list(flagged), "cse"], cal.count("high_rhi_cse_victim", n)),
           "mental_health": _top(s["mind"] + 0.5 * rng.normal(size=n), cal.count("high_rhi_mental_health", n))}
    for kid in flagged:
        flag = vocab.RED_FLAGS[0] if rng.random() < 0.75 else str(rng.choice(vocab.RED_FLAGS[1:4]))
        out.setdefault(flag, set()).add(kid)
    for indicator in vocab.INDICATORS:
        if indicator not in out and indicator not in vocab.RED_FLAGS:
            out[indicator] = {k for k in kids if rng.random() < 0.15}
    return out
