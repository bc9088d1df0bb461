"""Children and episodes of the synthetic study, from the skeleton of ``analysis.synth.plan``.

Ages and sexes are allocated to the in-scope children so that the episode
profile (age bands, girls among 14-17s, boys among 13s and under) lands on
the published figures; each child's birthday falls outside the weeks in which
it went missing, so its age is the same at every episode. Episodes are laid
out in time without overlaps, most lasting under two days. The first
episode of every in-scope child in each authority is in scope, so the
repeat-episode figure follows from the plan.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import vocab
from analysis.synth.calibration import Calibration, CalibrationError
from analysis.synth.plan import DUAL_FIRST_PART, LAC, NK, OTS

LA_CODES = ("E08999901", "E08999902", "E08999903")   # fictitious: no real authority has these codes
LA_WEIGHTS = (0.40, 0.34, 0.26)
SEVENTEEN_SHARE = 0.33      # of in-scope episodes aged 11-13 or 17, the share aged 17 (not published)
AGES_IN_BAND = {"10 or under": ((8, 9, 10), (1, 2, 4)), "11-13": ((11, 12, 13), (1, 2, 3)),
                "14-16": ((14, 15, 16), (3, 4, 4)), "17": ((17,), (1,))}
OTHER_BANDS = (("10 or under", 0.03), ("11-13", 0.20), ("14-16", 0.60), ("17", 0.17))
OPEN_STATUSES = (("child_in_need", 0.45), ("child_protection", 0.25), ("early_help", 0.30))
FOUND = ("friend's home", "relative's home", "partner's home", "city centre", "park", "shopping centre",
         "railway station", "bus station", "fast food outlet", "adult's address", "another authority's area",
         "hospital", "police station", "street", "returned of own accord")
FOUND_WEIGHTS = (20, 14, 6, 10, 7, 6, 4, 3, 3, 2, 5, 2, 2, 6, 25)
ETHNICITY = (("WBRI", 70), ("WOTH", 4), ("MWBC", 5), ("MOTH", 3), ("BAFR", 4), ("BCRB", 3),
             ("AOTH", 3), ("APKN", 3), ("OOTH", 2), ("REFU", 1), ("NOBT", 2))
MEDIAN_HOURS = 16.0          # median length of an episode; about 84% end within two days


def _choice(rng, options, size=None):
    values = [v for v, _ in options]
    weights = np.array([w for _, w in options], dtype=float)
    picks = rng.choice(len(values), size=size, p=weights / weights.sum())
    return values[picks] if size is None else [values[i] for i in picks]


def age_sex_cells(cal: Calibration) -> dict[tuple[str, str], int]:
    """In-scope episodes per (age band, sex), meeting the published profile."""
    n = cal.n("medium_low_episodes")
    young = cal.count("aged_10_or_under", n)
    mid = cal.count("aged_14_16", n)
    seventeen = round((n - young - mid) * SEVENTEEN_SHARE)
    eleven = n - young - mid - seventeen
    boys_le13 = cal.count("boys_among_aged_13_or_under", young + eleven)
    girls_1417 = cal.count("girls_among_aged_14_17", mid + seventeen)
    cal.check("girls", girls_1417 + young + eleven - boys_le13, n)
    young_boys = round(boys_le13 * young / (young + eleven))
    mid_girls = round(girls_1417 * mid / (mid + seventeen))
    return {("10 or under", "male"): young_boys, ("10 or under", "female"): young - young_boys,
            ("11-13", "male"): boys_le13 - young_boys, ("11-13", "female"): eleven - boys_le13 + young_boys,
            ("14-16", "female"): mid_girls, ("14-16", "male"): mid - mid_girls,
            ("17", "female"): girls_1417 - mid_girls, ("17", "male"): seventeen - girls_1417 + mid_girls}


def assign_age_sex(plan: pd.DataFrame, cal: Calibration, rng) -> pd.DataFrame:
    """Age band, age and sex of every child: in-scope children fill the cells exactly, largest first."""
    remaining = age_sex_cells(cal)
    band = pd.Series("", index=plan.index, dtype=object)
    sex = pd.Series("", index=plan.index, dtype=object)
    in_scope = plan[plan["in_scope"]]
    order = in_scope.assign(tie=rng.random(len(in_scope))).sort_values(["n_in", "tie"], ascending=False).index
    for i in order:
        need = int(plan.at[i, "n_in"])
        fits = [c for c, left in remaining.items() if left >= need]
        if not fits:
            raise CalibrationError("design: in-scope children do not fit the age and sex profile")
        room = np.array([remaining[c] for c in fits], dtype=float)
        cell = fits[rng.choice(len(fits), p=room / room.sum())]
        remaining[cell] -= need
        band[i], sex[i] = cell
    others = plan.index[~plan["in_scope"]]
    band[others] = _choice(rng, OTHER_BANDS, len(others))
    sex[others] = _choice(rng, (("female", 55), ("male", 43), ("unknown", 2)), len(others))
    _fit_high_girls(plan, sex, cal, rng)
    age = [int(rng.choice(AGES_IN_BAND[b][0], p=np.array(AGES_IN_BAND[b][1]) / sum(AGES_IN_BAND[b][1])))
           for b in band]
    return plan.assign(band=band, sex=sex, age=age)


def _fit_high_girls(plan, sex, cal: Calibration, rng) -> None:
    """Sexes of the high-risk-only children so that the high-risk episodes of girls are as published."""
    n_high = cal.n("high_episodes")
    target = cal.count("high_episodes_girls", n_high)
    pool = plan[~plan["in_scope"] & (plan["n_high"] > 0)]
    _balance_in_scope_high(plan, sex, target - int(pool["n_high"].sum()), target, rng)
    fixed = plan["in_scope"] & (plan["n_high"] > 0)
    need = target - int(plan.loc[fixed & (sex == "female"), "n_high"].sum())
    order = pool.assign(tie=rng.random(len(pool))).sort_values(["n_high", "tie"], ascending=False).index
    for i in order:
        take = need >= plan.at[i, "n_high"]
        sex[i] = "female" if take else "male"
        need -= plan.at[i, "n_high"] if take else 0
    if need:
        raise CalibrationError("design: high-risk episodes of girls cannot be met")


def _balance_in_scope_high(plan, sex, low: int, high: int, rng) -> None:
    """Move high-risk episodes between in-scope children of one status and sex until the girls' share can be met."""
    def girls():
        return int(plan.loc[plan["in_scope"] & (sex == "female"), "n_high"].sum())

    while not low <= girls() <= high:
        give_to = "female" if girls() < low else "male"
        donors = plan.index[plan["in_scope"] & (plan["n_high"] > 0) & (sex != give_to)]
        donor = donors[rng.integers(len(donors))]
        takers = plan.index[plan["in_scope"] & (plan["n_high"] == 0) & (sex == give_to) & (plan["n_in"] >= 2)
                            & (plan["dual"] == "") & (plan["status"] == plan.at[donor, "status"])]
        taker = takers[rng.integers(len(takers))]
        plan.loc[taker, "n_high"], plan.loc[donor, "n_high"] = plan.at[donor, "n_high"], 0


def _kinds(row, rng) -> list[str]:
    """Episode kinds in time order: 'in' (medium or low), 'high', 'unc' (no risk code)."""
    extra = ["in"] * (row.n_in - 1) + ["high"] * row.n_high + ["unc"] * row.n_unc
    rng.shuffle(extra)
    if row.n_in:
        return ["in"] + extra
    return extra


def _times(m: int, rng, start: pd.Timestamp, hours: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (hours from the period start) of m non-overlapping episodes."""
    durations = np.clip(rng.lognormal(np.log(MEDIAN_HOURS), 1.1, m), 0.5, 336.0)
    if m == 1:
        first = rng.uniform(0, hours - 1)
        return np.array([first]), first + durations
    busy = durations[:-1].sum() + 3.0 * (m - 1)
    length = min(hours * 0.97, busy + m * rng.uniform(3, 12) * 24)
    length = max(length, busy + 12.0 * (m - 1))
    if length >= hours:
        raise CalibrationError("design: a child's episodes do not fit in the study period")
    first = rng.uniform(0, hours - length - 1)
    gaps = rng.dirichlet(np.ones(m - 1)) * (length - busy)
    starts = first + np.concatenate([[0.0], np.cumsum(durations[:-1] + 3.0 + gaps)])
    return starts, starts + durations


def build_children_and_episodes(plan: pd.DataFrame, cal: Calibration, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed children (one per plan row, with dates of birth) and episodes (with kind and position)."""
    p_start = pd.Timestamp(str(cal.study["period_start"]))
    p_end = pd.Timestamp(str(cal.study["period_end"])) + pd.Timedelta(days=1)
    hours = (p_end - p_start) / pd.Timedelta(hours=1)
    rows = []
    open_status = _choice(rng, OPEN_STATUSES, len(plan))
    placement = rng.choice(["care_in_area", "care_out_of_area"], size=len(plan), p=[0.65, 0.35])
    home_la = rng.choice(len(LA_CODES), size=len(plan), p=LA_WEIGHTS)
    for kid, row in enumerate(plan.itertuples(index=False)):
        kinds = _kinds(row, rng)
        starts, ends = _times(len(kinds), rng, p_start, hours)
        la = [LA_CODES[home_la[kid]]] * len(kinds)
        if row.mover:
            split = int(rng.choice([j for j, k in enumerate(kinds) if k == "in" and j > 0]))
            other = LA_CODES[(home_la[kid] + 1 + int(rng.integers(2))) % len(LA_CODES)]
            la[split:] = [other] * (len(kinds) - split)
        for seq, kind in enumerate(kinds):
            status = _status_at(row, seq)
            rows.append({"kid": kid, "seq": seq, "kind": kind, "la_code": la[seq], "status": status,
                         "start": p_start + pd.Timedelta(hours=starts[seq]),
                         "end": p_start + pd.Timedelta(hours=ends[seq]),
                         "legal_status": {LAC: "looked_after", OTS: open_status[kid], NK: "not_known"}[status],
                         "missing_from": placement[kid] if status == LAC else "home"})
    eps = pd.DataFrame(rows)
    eps["start"] = eps["start"].dt.floor("min")
    eps["end"] = eps["end"].dt.floor("min")
    _grade(eps, cal, rng)
    children = _children(plan, eps, rng)
    return children, eps


def _status_at(row, seq: int) -> str:
    """Legal status of a child's seq-th episode: fixed, except for children whose status changed."""
    if row.dual == "ots_to_lac":
        return OTS if seq < DUAL_FIRST_PART else LAC
    if row.dual == "nk_to_ots":
        return NK if seq == 0 else OTS
    return row.status


def _grade(eps: pd.DataFrame, cal: Calibration, rng) -> None:
    """Police risk: medium or low for in-scope episodes (low at random), high, or blank."""
    coded = cal.n("risk_coded_episodes")
    medium = cal.count("medium_share_of_coded", coded)
    is_in = np.flatnonzero(eps["kind"].to_numpy() == "in")
    low = rng.choice(is_in, size=len(is_in) - medium, replace=False)
    cal.check("low_share_of_coded", len(low), coded)
    risk = np.where(eps["kind"] == "high", "high", np.where(eps["kind"] == "in", "medium", ""))
    risk[low] = "low"
    eps["police_risk"] = risk


def _children(plan: pd.DataFrame, eps: pd.DataFrame, rng) -> pd.DataFrame:
    """Dates of birth with the birthday outside the child's episode window, so age is fixed."""
    window = eps.groupby("kid").agg(first=("start", "min"), last=("start", "max"))
    dob = []
    for kid, row in enumerate(plan.itertuples(index=False)):
        first, last = window.at[kid, "first"].normalize(), window.at[kid, "last"].normalize()
        earliest = last - pd.DateOffset(years=1) + pd.Timedelta(days=1)
        span = max((first - earliest).days, 0)
        birthday = earliest + pd.Timedelta(days=int(rng.integers(span + 1)))
        if birthday.month == 2 and birthday.day == 29:
            birthday += pd.Timedelta(days=1)
        dob.append(birthday - pd.DateOffset(years=int(row.age)))
    looked_after = (plan["status"] == LAC).to_numpy()
    uasc = np.where(rng.random(len(plan)) < np.where(looked_after, 0.08, 0.005), "true", "false")
    uasc[rng.random(len(plan)) < 0.1] = ""
    return pd.DataFrame({"kid": range(len(plan)), "sex": plan["sex"].to_numpy(), "date_of_birth": dob,
                         "uasc": uasc, "ethnicity": _choice(rng, ETHNICITY, len(plan))})


__all__ = ["build_children_and_episodes", "assign_age_sex", "age_sex_cells", "LA_CODES", "FOUND",
           "FOUND_WEIGHTS", "vocab"]
