"""Return home interviews of the synthetic study: which episodes each RHI addresses, when, and what followed.

Completed RHIs of in-scope children address runs of consecutive in-scope
episodes (a child who went missing again before the interview); the number of
episodes so addressed, of children with more than one RHI, of high-risk RHIs
and the episode-level consent figures come from the calibration. Episodes
with no completed RHI get the other outcomes a service records (declined
with a reason, no contact, not offered, accepted but not completed), and some
completed interviews follow a declined first offer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.synth.calibration import Calibration, CalibrationError
from analysis.synth.plan import LAC, NK, OTS

OTHER_OUTCOMES = (("declined", 0.30), ("no_contact", 0.15), ("accepted_not_completed", 0.05),
                  ("not_offered", 0.12), ("no referral", 0.38))
DECLINE_REASONS = (("child_declined", 55), ("parent_carer_declined", 15), ("already_has_worker", 12),
                   ("no_reason_given", 13), ("other", 5))
DECLINED_FIRST = 0.08          # completed RHIs preceded by a declined offer for the same episodes
LINKED_SHARE = {"few": 0.75, "many": 0.6, "heavy": 0.33}   # share of a child's in-scope episodes addressed


def _linked_counts(kids: pd.DataFrame, cal: Calibration, rng) -> pd.Series:
    """Episodes addressed per RHI child, summing to the published RHI episodes."""
    n = kids["n_in"].to_numpy(dtype=int)
    share = np.where(kids["heavy"], LINKED_SHARE["heavy"], np.where(n <= 4, LINKED_SHARE["few"], LINKED_SHARE["many"]))
    low = np.where(kids["dual"] != "", 2, 1)
    linked = np.clip(np.round(n * share).astype(int), low, n)
    diff = cal.n("rhi_episodes_medium_low") - int(linked.sum())
    while diff:
        room = (n - linked) if diff > 0 else (linked - low)
        if room.sum() == 0:
            raise CalibrationError("design: RHI episodes cannot be met")
        i = rng.choice(len(n), p=room / room.sum())
        linked[i] += 1 if diff > 0 else -1
        diff += -1 if diff > 0 else 1
    return pd.Series(linked, index=kids.index)


def _rhi_counts(kids: pd.DataFrame, linked: pd.Series, cal: Calibration, rng) -> pd.Series:
    """Completed in-scope RHIs per child: the published number of children have two or more."""
    target = cal.count("children_more_than_one_rhi", len(kids))
    dual = kids["dual"] != ""
    pool = kids.index[(linked >= 2) & ~dual]
    need = target - int(dual.sum())
    if need < 0 or need > len(pool):
        raise CalibrationError("design: children with more than one RHI cannot be met")
    weights = linked[pool].to_numpy(dtype=float)
    chosen = set(rng.choice(pool, size=need, replace=False, p=weights / weights.sum())) | set(kids.index[dual])
    counts = pd.Series(1, index=kids.index)
    for i in chosen:
        counts[i] = int(np.clip(1 + round(linked[i] / 4), 2, linked[i]))
    return counts


def _groups(positions: list[int], r: int, boundary: int | None, rng) -> list[list[int]]:
    """Split a child's addressed episodes (in time order) into r runs, cutting at a status change if any."""
    cuts = {boundary} if boundary else set()
    free = [c for c in range(1, len(positions)) if c not in cuts]
    cuts |= set(rng.choice(free, size=r - 1 - len(cuts), replace=False).tolist()) if r - 1 > len(cuts) else set()
    edges = [0] + sorted(cuts) + [len(positions)]
    return [positions[a:b] for a, b in zip(edges[:-1], edges[1:])]


def main_rhis(plan: pd.DataFrame, eps: pd.DataFrame, cal: Calibration, rng) -> list[dict]:
    """Completed RHIs addressing in-scope episodes: one dict per RHI with its kid and episode rows."""
    kids = plan[plan["rhi"]]
    linked = _linked_counts(kids, cal, rng)
    counts = _rhi_counts(kids, linked, cal, rng)
    in_scope = eps[eps["kind"] == "in"]
    by_kid = {k: g.index.to_list() for k, g in in_scope.groupby("kid")}
    rhis = []
    for kid in kids.index:
        rows = by_kid[kid]
        statuses = eps.loc[rows, "status"].to_numpy()
        if kids.at[kid, "dual"]:
            change = int(np.argmax(statuses != statuses[0]))
            pick = [int(rng.integers(change)), int(change + rng.integers(len(rows) - change))]
            rest = [j for j in range(len(rows)) if j not in pick]
            pick += rng.choice(rest, size=linked[kid] - 2, replace=False).tolist()
        else:
            pick = rng.choice(len(rows), size=linked[kid], replace=False).tolist()
        pick = sorted(pick)
        boundary = None
        if kids.at[kid, "dual"]:
            boundary = int(np.searchsorted(pick, change))
        for group in _groups(pick, counts[kid], boundary, rng):
            rhis.append({"kid": kid, "episodes": [rows[j] for j in group], "status": "completed",
                         "cohort_status": eps.at[rows[group[0]], "status"], "main": True})
    return rhis


def high_rhis(plan: pd.DataFrame, eps: pd.DataFrame, cal: Calibration, rng) -> list[dict]:
    """Completed RHIs for a high-risk episode: one each for the published number of children."""
    n = cal.n("rhi_children_high")
    high = eps[eps["kind"] == "high"].groupby("kid").head(1)
    in_scope = high[plan.loc[high["kid"], "in_scope"].to_numpy()]
    only = high[~plan.loc[high["kid"], "in_scope"].to_numpy()]
    n_in = min(len(in_scope), n // 2 + 1)
    rows = list(rng.choice(in_scope.index, size=n_in, replace=False)) + \
        list(rng.choice(only.index, size=n - n_in, replace=False))
    return [{"kid": int(eps.at[r, "kid"]), "episodes": [r], "status": "completed",
             "cohort_status": eps.at[r, "status"], "main": False} for r in rows]


def other_referrals(eps: pd.DataFrame, addressed: set[int], rng) -> list[dict]:
    """Referrals that did not end in an interview, for episodes no completed RHI addressed."""
    out = []
    values = [v for v, _ in OTHER_OUTCOMES]
    p = np.array([w for _, w in OTHER_OUTCOMES])
    for row in eps.index.difference(sorted(addressed)):
        outcome = values[rng.choice(len(values), p=p)]
        if outcome != "no referral":
            out.append({"kid": int(eps.at[row, "kid"]), "episodes": [row], "status": outcome,
                        "cohort_status": eps.at[row, "status"], "main": False})
    return out


def declined_first(rhis: list[dict], rng) -> list[dict]:
    """A declined offer before some completed interviews, for the same episodes."""
    out = []
    for rhi in rhis:
        if rhi["status"] == "completed" and rng.random() < DECLINED_FIRST:
            out.append({**rhi, "status": "declined", "main": False, "before": True})
    return out


def timing(rhis: list[dict], eps: pd.DataFrame, rng) -> None:
    """offered_at and completed_at: offered within about a day of return, interviews a few days later."""
    for rhi in rhis:
        back = eps.loc[rhi["episodes"], "end"].max()
        offered = back + pd.Timedelta(hours=float(rng.uniform(1, 30)))
        if rhi.get("before"):
            rhi["offered_at"] = offered.floor("min")
            continue
        if rhi["status"] in ("no_contact", "not_offered"):
            rhi["offered_at"] = pd.NaT
            continue
        if rhi.get("after_decline"):
            offered += pd.Timedelta(days=float(rng.uniform(1, 4)))
        rhi["offered_at"] = offered.floor("min")
        if rhi["status"] == "completed":
            wait = pd.Timedelta(hours=float(1 + rng.gamma(1.6, 30)))
            rhi["completed_at"] = (offered + wait).floor("min")


def _pick_by_episodes(rng, candidates: list[int], sizes: dict[int, int], total: int) -> list[int]:
    """Some candidates whose episode counts add up to exactly ``total`` (one-episode RHIs close the gap)."""
    chosen, left = [], total
    for i in rng.permutation(candidates).tolist():
        if sizes[i] <= left:
            chosen.append(i)
            left -= sizes[i]
        if left == 0:
            return chosen
    raise CalibrationError("design: consent figures cannot be met exactly")


def consent(rhis: list[dict], cal: Calibration, rng) -> None:
    """Consent to share and overridden confidentiality, allocated in episodes as published."""
    main = [i for i, r in enumerate(rhis) if r["main"]]
    sizes = {i: len(rhis[i]["episodes"]) for i in main}
    n = sum(sizes.values())
    none = _pick_by_episodes(rng, main, sizes, cal.count("consent_none_shared", n))
    rest = [i for i in main if i not in set(none)]
    partial = _pick_by_episodes(rng, rest, sizes, cal.count("consent_partial_or_override", n))
    override = _pick_by_episodes(rng, partial, sizes, cal.count("confidentiality_breached", n))
    cal.check("consent_all_shared", n - sum(sizes[i] for i in none + partial), n)
    for i in main:
        rhis[i]["consent_to_share"] = "none" if i in none else ("partial" if i in partial else "all")
        rhis[i]["confidentiality_overridden"] = i in override


def outcomes(rhis: list[dict], scores: pd.Series, cal: Calibration, rng) -> None:
    """Follow-up, wider sharing and helpline signposting, at child level as published."""
    main = [r for r in rhis if r["main"]]
    kids = sorted({r["kid"] for r in main})
    n = len(kids)
    ranked = scores.reindex(kids).sort_values(ascending=False).index.to_list()
    one_to_one = set(ranked[: cal.count("one_to_one_offered_or_provided", n)])
    others = [k for k in rng.permutation(kids) if k not in one_to_one]
    single = set(others[: cal.count("single_follow_up_agreed", n)])
    wider = set(rng.choice(kids, size=cal.count("shared_wider_than_police_cs", n), replace=False).tolist())
    by_kid: dict[int, list[dict]] = {}
    for r in main:
        by_kid.setdefault(r["kid"], []).append(r)
    helpline_kids = cal.count("signposted_helpline", n)
    for k, own in by_kid.items():
        target = rng.integers(len(own))
        for j, r in enumerate(own):
            r["follow_up"] = rng.choice(["signposted", "none"], p=[0.7, 0.3])
            r["shared_wider"] = k in wider and j == target
            r["helpline_signposted"] = j == target or rng.random() > 0.05
        if k in one_to_one:
            own[target]["follow_up"] = "one_to_one"
        elif k in single:
            own[target]["follow_up"] = "single_contact"
    missed = kids[helpline_kids:] if helpline_kids < n else []
    for k in missed:
        for r in by_kid[k]:
            r["helpline_signposted"] = False


__all__ = ["main_rhis", "high_rhis", "other_referrals", "declined_first", "timing", "consent", "outcomes",
           "DECLINE_REASONS", "LAC", "OTS", "NK"]
