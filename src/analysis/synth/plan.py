"""The whole-number skeleton of the synthetic study: which children exist and how many episodes of each kind.

``plan_children(calibration, rng)`` returns one row per child with its
status (the most involved legal status it had), whether it has an in-scope
RHI, and its number of in-scope (medium or low), high-risk and uncoded
episodes. Every total that the report published is taken from
:class:`analysis.synth.calibration.Calibration`; the splits the report does not
publish are design choices, named in capitals below and explained in
docs/synthetic-data.md. Counts are allocated, never drawn: the random
generator only decides *which* child gets what.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import vocab
from analysis.synth.calibration import Calibration, CalibrationError

LAC, OTS, NK = vocab.COHORTS

# --- design choices (not published; see docs/synthetic-data.md) ---------------------------------
ALL_MISSING_CHILDREN = 700               # children with any notified episode
RHI_SINGLES = {LAC: 10, OTS: 25, NK: 41}          # RHI children with one notified episode
NON_RHI_CHILDREN = {OTS: 92, NK: 70}              # in-scope children without an RHI (LAC: the rest)
NON_RHI_SINGLES = {LAC: 64, OTS: 54, NK: 50}
IN_SCOPE_EPISODES = {(LAC, True): 560, (LAC, False): 320, (OTS, True): 250}  # (OTS, False): the rest
HEAVY_CELLS = (((LAC, True), 9), ((LAC, False), 3), ((OTS, True), 3), ((OTS, False), 1))
NK_MULTI = {"two_in_scope_rhi": 10, "two_in_scope": 10, "with_uncoded": 6}
HIGH_IN_SCOPE = {LAC: (2, 2, 1, 1, 1, 1, 1), OTS: (2, 2, 2, 1, 1, 1, 1, 1, 1), NK: (1, 1, 1, 1)}
HIGH_ONLY_MULTI = {LAC: (2, 2), OTS: (3,), NK: ()}   # high-only children with more than one episode
UNCODED_ONLY_MULTI_EPISODES = {LAC: 33, OTS: 17}     # NK: two each
DUAL_OTS_TO_LAC = 5        # of the children counted in two cohorts; the others went from not known to open
DUAL_FIRST_PART = 2        # in-scope episodes before an open-to-services child became looked after
MAX_NON_HEAVY = 14         # "heavy" = 15 or more in-scope episodes


def spread(rng, total: int, n: int, low: int, high: int, shape: float = 1.3) -> np.ndarray:
    """n whole numbers in [low, high] summing to total, heavy-tailed: Pareto weights, filled one unit at a time."""
    if n == 0:
        if total:
            raise CalibrationError(f"cannot spread {total} over no children")
        return np.zeros(0, dtype=int)
    if not low * n <= total <= high * n:
        raise CalibrationError(f"cannot spread {total} over {n} children with {low} to {high} each")
    weights = rng.pareto(shape, n) + 1.0
    counts = np.full(n, low, dtype=int)
    rest = total - low * n
    while rest > 0:
        room = counts < high
        share = np.where(room, weights, 0.0)
        alloc = np.minimum(np.floor(rest * share / share.sum()).astype(int), high - counts)
        if alloc.sum() == 0:
            alloc[np.argmax(share)] = 1
        counts += alloc
        rest -= int(alloc.sum())
    return counts


def heavy_sizes(cal: Calibration) -> list[int]:
    """In-scope episodes of the children with 15 or more: the published number of them, total and maximum."""
    n = cal.printed_count("children_with_15_plus_episodes")
    total = cal.printed_count("episodes_of_children_with_15_plus")
    most = cal.printed_count("max_episodes_one_child")
    rest = total - most
    floor = MAX_NON_HEAVY + 1
    weights = 0.82 ** np.arange(n - 1)
    extra = rest - floor * (n - 1)
    if extra < 0:
        raise CalibrationError("heavy children: published total below 15 each")
    exact = extra * weights / weights.sum()
    sizes = np.floor(exact).astype(int)
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[: extra - sizes.sum()]] += 1
    return [most] + sorted((floor + sizes).tolist(), reverse=True)


def _child(status, rhi, in_scope, n_in=0, n_high=0, n_unc=0, heavy=False):
    return {"status": status, "rhi": rhi, "in_scope": in_scope, "n_in": n_in, "n_high": n_high,
            "n_unc": n_unc, "heavy": heavy, "dual": "", "mover": False}


def _in_scope_cells(cal: Calibration, rng) -> list[dict]:
    rhi_by_status = {LAC: cal.n("rhi_children_looked_after")}
    n_dual = (cal.n("rhi_children_looked_after") + cal.n("rhi_children_open_to_services")
              + cal.n("rhi_children_not_known") - cal.n("rhi_children"))
    n_ots_to_lac = min(DUAL_OTS_TO_LAC, n_dual)
    rhi_by_status[OTS] = cal.n("rhi_children_open_to_services") - n_ots_to_lac
    rhi_by_status[NK] = cal.n("rhi_children_not_known") - (n_dual - n_ots_to_lac)
    non_rhi = dict(NON_RHI_CHILDREN)
    non_rhi[LAC] = cal.n("medium_low_episodes", "children") - cal.n("rhi_children") - sum(non_rhi.values())

    # Not known to services: few repeat; designed child by child.
    kids = [_child(NK, True, True, 1) for _ in range(RHI_SINGLES[NK])]
    kids += [_child(NK, True, True, 2) for _ in range(rhi_by_status[NK] - RHI_SINGLES[NK])]
    kids += [_child(NK, False, True, 1) for _ in range(NON_RHI_SINGLES[NK])]
    kids += [_child(NK, False, True, 2) for _ in range(NK_MULTI["two_in_scope"])]
    kids += [_child(NK, False, True, 1, n_unc=1) for _ in range(NK_MULTI["with_uncoded"])]
    kids += [_child(NK, False, True, 1, n_high=h) for h in HIGH_IN_SCOPE[NK]]
    placed = sum(k["n_in"] for k in kids)
    if len([k for k in kids if not k["rhi"]]) != non_rhi[NK]:
        raise CalibrationError("design: not-known children without an RHI do not add up")

    totals = dict(IN_SCOPE_EPISODES)
    totals[(OTS, False)] = cal.n("medium_low_episodes") - placed - sum(totals.values())
    heavy = heavy_sizes(cal)
    singles = {(s, True): RHI_SINGLES[s] for s in (LAC, OTS)} | {(s, False): NON_RHI_SINGLES[s] for s in (LAC, OTS)}
    sizes = {(s, True): rhi_by_status[s] for s in (LAC, OTS)} | {(s, False): non_rhi[s] for s in (LAC, OTS)}
    start = 0
    for cell, n_heavy in HEAVY_CELLS:
        status, rhi = cell
        big = heavy[start:start + n_heavy]
        start += n_heavy
        n_multi = sizes[cell] - singles[cell] - n_heavy
        rest = totals[cell] - singles[cell] - sum(big)
        kids += [_child(status, rhi, True, 1) for _ in range(singles[cell])]
        kids += [_child(status, rhi, True, int(b), heavy=True) for b in big]
        kids += [_child(status, rhi, True, int(c)) for c in spread(rng, rest, n_multi, 2, MAX_NON_HEAVY)]
    _mark_dual(kids, rng, n_ots_to_lac, n_dual - n_ots_to_lac)
    return kids


def _mark_dual(kids, rng, n_ots_to_lac: int, n_nk_to_ots: int) -> None:
    """Children whose legal status changed between RHIs, so that they are in two cohorts."""
    for status, need, min_in, label in ((LAC, n_ots_to_lac, DUAL_FIRST_PART + 1, "ots_to_lac"),
                                        (OTS, n_nk_to_ots, 2, "nk_to_ots")):
        pool = [i for i, k in enumerate(kids) if k["status"] == status and k["rhi"] and not k["heavy"]
                and k["n_in"] >= min_in]
        for i in rng.choice(pool, size=need, replace=False):
            kids[i]["dual"] = label


def _eligible(kids, status) -> list[int]:
    """In-scope children of a status who may take extra (high or uncoded) episodes."""
    return [i for i, k in enumerate(kids) if k["status"] == status and k["in_scope"] and k["n_in"] >= 2
            and not k["dual"]]


def _add_high(kids, cal: Calibration, rng) -> None:
    targets = {s: cal.count(f"high_episodes_{s}", cal.n("high_episodes")) for s in vocab.COHORTS}
    if sum(targets.values()) != cal.n("high_episodes"):
        raise CalibrationError("high-risk episodes by cohort do not add up to the high-risk episodes")
    for status in (LAC, OTS):
        pool = _eligible(kids, status)
        for i, h in zip(rng.choice(pool, size=len(HIGH_IN_SCOPE[status]), replace=False), HIGH_IN_SCOPE[status]):
            kids[i]["n_high"] = h
    for status in vocab.COHORTS:
        in_scope_high = sum(HIGH_IN_SCOPE[status])
        multi = HIGH_ONLY_MULTI[status]
        n_single = targets[status] - in_scope_high - sum(multi)
        if n_single < 0:
            raise CalibrationError(f"design: too many high-risk episodes planned for {status}")
        kids += [_child(status, False, False, n_high=1) for _ in range(n_single)]
        kids += [_child(status, False, False, n_high=h) for h in multi]
    high = [k for k in kids if k["n_high"]]
    if len(high) != cal.n("high_episodes", "children"):
        raise CalibrationError(f"design: {len(high)} children with a high-risk episode planned")
    repeat = sum(1 for k in high if k["n_in"] + k["n_high"] + k["n_unc"] >= 2)
    cal_count = cal.count("high_children_missing_more_than_once", len(high))
    if repeat != cal_count:
        raise CalibrationError(f"design: {repeat} high-risk children missing more than once, not {cal_count}")


def _add_uncoded(kids, cal: Calibration, rng) -> dict:
    """Children with only uncoded episodes, then uncoded episodes of in-scope children, to fit the status figures."""
    n_all = ALL_MISSING_CHILDREN
    n_status = {LAC: cal.count("children_missing_from_care", n_all),
                NK: cal.count("not_known_share_of_children", n_all)}
    n_status[OTS] = n_all - n_status[LAC] - n_status[NK]
    multi = {LAC: cal.count("lac_missing_2_plus", n_status[LAC]),
             NK: cal.count("not_known_missing_2_plus", n_status[NK])}
    multi[OTS] = cal.count("other_missing_2_plus", n_status[OTS] + n_status[NK]) - multi[NK]
    for status in vocab.COHORTS:
        have = [k for k in kids if k["status"] == status]
        n_single = sum(1 for k in have if k["n_in"] + k["n_high"] + k["n_unc"] == 1)
        c_kids = n_status[status] - len(have)
        c_single = (n_status[status] - multi[status]) - n_single
        c_multi = c_kids - c_single
        if min(c_kids, c_single, c_multi) < 0:
            raise CalibrationError(f"design: {status} children do not fit the published repeat figures")
        episodes = (spread(rng, UNCODED_ONLY_MULTI_EPISODES[status], c_multi, 2, 6) if status != NK
                    else np.full(c_multi, 2))
        kids += [_child(status, False, False, n_unc=1) for _ in range(c_single)]
        kids += [_child(status, False, False, n_unc=int(e)) for e in episodes]

    n_notified = cal.n("notified_episodes")
    uncoded_total = n_notified - cal.n("risk_coded_episodes")
    lac_target = cal.count("lac_share_of_incidents", n_notified)
    lac_now = sum(k["n_in"] + k["n_high"] + k["n_unc"] for k in kids if k["status"] == LAC)
    lac_now -= DUAL_FIRST_PART * sum(1 for k in kids if k["dual"] == "ots_to_lac")
    extra = {LAC: lac_target - lac_now}
    extra[OTS] = uncoded_total - sum(k["n_unc"] for k in kids) - extra[LAC]
    for status, n_extra in extra.items():
        if n_extra < 0:
            raise CalibrationError(f"design: no room for uncoded episodes of {status} children")
        pool = _eligible(kids, status)
        weights = np.array([kids[i]["n_in"] for i in pool], dtype=float)
        picks = rng.choice(pool, size=n_extra, replace=True, p=weights / weights.sum())
        for i in picks:
            kids[i]["n_unc"] += 1
    return n_status


def _mark_movers(kids, cal: Calibration, rng) -> None:
    """Children whose later episodes fall to another of the three authorities (a house move)."""
    n_in = cal.n("medium_low_episodes")
    n_movers = n_in - cal.count("repeat_episodes", n_in) - cal.n("medium_low_episodes", "children")
    pool = [i for i, k in enumerate(kids) if k["status"] in (OTS, NK) and k["in_scope"] and k["n_in"] >= 2
            and not k["dual"] and not k["heavy"]]
    if n_movers < 0 or n_movers > len(pool):
        raise CalibrationError("design: the repeat-episode figure cannot be met")
    for i in rng.choice(pool, size=n_movers, replace=False):
        kids[i]["mover"] = True


def plan_children(cal: Calibration, rng) -> pd.DataFrame:
    """One row per child: status, rhi, in_scope, n_in, n_high, n_unc, heavy, dual, mover."""
    kids = _in_scope_cells(cal, rng)
    _add_high(kids, cal, rng)
    _add_uncoded(kids, cal, rng)
    _mark_movers(kids, cal, rng)
    plan = pd.DataFrame(kids)
    checks = {"in-scope episodes": (int(plan["n_in"].sum()), cal.n("medium_low_episodes")),
              "high-risk episodes": (int(plan["n_high"].sum()), cal.n("high_episodes")),
              "notified episodes": (int(plan[["n_in", "n_high", "n_unc"]].sum().sum()), cal.n("notified_episodes")),
              "in-scope children": (int(plan["in_scope"].sum()), cal.n("medium_low_episodes", "children")),
              "RHI children": (int(plan["rhi"].sum()), cal.n("rhi_children"))}
    for name, (built, published) in checks.items():
        if built != published:
            raise CalibrationError(f"design: built {built} {name}, published {published}")
    episodes = plan[["n_in", "n_high", "n_unc"]].sum(axis=1)
    not_known = int(episodes[plan["status"] == NK].sum()) + int((plan["dual"] == "nk_to_ots").sum())
    cal.check("not_known_share_of_incidents", not_known, cal.n("notified_episodes"))
    return plan.sample(frac=1.0, random_state=rng.integers(2**31)).reset_index(drop=True)
