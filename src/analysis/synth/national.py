"""National-scale synthetic RHI data: every authority in England, sized from real DfE figures.

``generate_national(seed, years)`` returns the five canonical tables as text
(what a CSV holds: every cell a string, blank = ""), for ``years`` consecutive
reporting years (1 April to 31 March) ending 31 March 2024. It is used by
``rhi synth --scale national --years N`` and by the benchmarks, and it is
fully vectorised (numpy): about 200,000 episodes per year.

Sizes and assumptions (docs/performance.md repeats them):

- **Authorities:** the 153 local authority rows of the latest DfE year in
  ``dfe_cla_missing_by_la.csv`` (reporting year 2024), ``la_code_latest`` as
  ``la_code``. Every year uses the latest year's sizes.
- **Looked-after part:** per authority, ``children_who_went_missing``
  children and ``missing_incidents`` episodes (DfE published figures).
  Where DfE shows a symbol instead of a number (``c``, ``x``, ``z``, ``k``,
  ``..``; 4 authorities in 2024) the children are taken as 3 (DfE suppresses
  1 to 5) and the incidents as the children times the national incidents
  per missing child (83,920 / 13,010, about 6.5), rounded; a suppressed
  incidents figure never falls below the children.
- **Children missing from home (not looked after):** no national per-LA
  count exists. Assumption: an authority has 4 times as many missing
  children who are not looked after as looked-after missing children, and
  1.4 times as many of their episodes as looked-after incidents (so they go
  missing about 2.3 times each against 6.5 for looked-after children),
  with at least 5 such children and 5 episodes, so every authority appears.
  Nationally: about 13,000 + 52,000 children and 84,000 + 117,000 episodes.
- **Episodes per child:** 1 + a share of the authority's remaining episodes
  in proportion to a heavy-tailed (Pareto, shape 1.5) weight per child, so
  most children go missing once or twice and a few dozens of times
  (the weight is capped at 25 so no child has more than a few hundred).
- **Children:** aged 10 to 17 at every episode (age 10 to 16 on 1 April of
  the year, most 14 to 16); each year has its own children (a child who goes
  missing in two years appears as two children).
- **Police risk:** 15% blank, 6% high, 55% medium, 17% low, 7% no apparent risk.
- **RHIs:** an episode with an end (99.7%) is offered an RHI in 88% of cases;
  the completion rate varies by authority around 50% (Beta(8, 8)), so about
  half of all episodes have a completed RHI. Where a child's previous episode
  has no completed RHI, the next completed RHI also addresses it half the time.
- **Disclosures:** at completed RHIs only, each indicator drawn independently
  at a per-RHI base rate (different for looked-after children: more placement
  issues and missing to see family) times a per-child vulnerability
  multiplier (log-normal, mean 1), times 1.6 for high-risk episodes, capped at 0.9.

Everything is drawn from one ``numpy.random.default_rng(seed)``: the same
seed and years give identical tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis import vocab

LAST_YEAR = 2024                 # reporting year ending 31 March 2024
SUPPRESSED_CHILDREN = 3          # DfE suppresses 1-5
NATIONAL_INCIDENTS_PER_CHILD = 83920 / 13010
NOT_LAC_CHILDREN_MULTIPLE = 4.0
NOT_LAC_EPISODES_MULTIPLE = 1.4
NOT_LAC_MINIMUM = 5

RISK = (("", 0.15), ("high", 0.06), ("medium", 0.55), ("low", 0.17), ("no_apparent_risk", 0.07))
AGE_AT_YEAR_START = ((10, 0.04), (11, 0.06), (12, 0.09), (13, 0.15), (14, 0.22), (15, 0.24), (16, 0.20))
NOT_LAC_STATUS = (("not_known", 0.55), ("child_in_need", 0.2), ("early_help", 0.15), ("child_protection", 0.1))
OTHER_STATUS = (("declined", 0.35), ("no_contact", 0.3), ("accepted_not_completed", 0.15), ("not_offered", 0.2))
DECLINE = (("child_declined", 0.55), ("parent_carer_declined", 0.15), ("already_has_worker", 0.1),
           ("no_reason_given", 0.15), ("other", 0.05))
CONSENT = (("all", 0.6), ("partial", 0.2), ("none", 0.15), ("", 0.05))
FOLLOW_UP = (("none", 0.4), ("signposted", 0.25), ("single_contact", 0.15), ("one_to_one", 0.2))
ETHNICITY = (("WBRI", 0.62), ("WOTH", 0.05), ("MWBC", 0.05), ("MOTH", 0.04), ("APKN", 0.03), ("AOTH", 0.02),
             ("BAFR", 0.05), ("BCRB", 0.03), ("BOTH", 0.02), ("OOTH", 0.04), ("NOBT", 0.02), ("", 0.03))
# Per-RHI base rates: (not looked after, looked after).
DISCLOSURE_RATES = {
    "cse_victim": (0.03, 0.05), "rf_older_associates": (0.07, 0.10), "rf_friends_exploited": (0.03, 0.04),
    "rf_unexplained_gifts": (0.02, 0.03), "rf_gang_association": (0.04, 0.05), "rf_recruiting_others": (0.01, 0.01),
    "push_cse_or_unsafe_adult": (0.02, 0.04), "push_older_peers": (0.09, 0.11), "missing_to_see_family": (0.05, 0.22),
    "placement_issues": (0.01, 0.20), "cce_victim": (0.03, 0.05), "mental_health": (0.15, 0.17),
    "self_harm_risk": (0.06, 0.07), "suicide_risk": (0.03, 0.03), "low_self_esteem": (0.08, 0.08),
    "education_issues": (0.15, 0.12), "substance_misuse": (0.09, 0.11), "alcohol_misuse": (0.07, 0.06),
    "offending": (0.05, 0.07), "lacks_peer_friends": (0.04, 0.04), "physical_injury": (0.02, 0.02),
    "witnessed_domestic_abuse": (0.07, 0.04), "abuse_history": (0.04, 0.07),
}
assert tuple(DISCLOSURE_RATES) == vocab.INDICATORS

MINUTES_PER_DAY = 24 * 60


def dfe_csv() -> Path:
    """The DfE file shipped with the package, else the shared copy."""
    here = Path(__file__).resolve().parents[1] / "data" / "dfe_cla_missing_by_la.csv"
    return here if here.exists() else Path("/work/shared/data/dfe_cla_missing_by_la.csv")


def authority_sizes(path: Path | None = None) -> pd.DataFrame:
    """Per authority of the latest DfE year: looked-after and not-looked-after children and episodes."""
    frame = pd.read_csv(path or dfe_csv(), dtype=str, keep_default_na=False)
    latest = max(int(y) for y in frame["year"])
    rows = frame[(frame["geographic_level"] == "Local authority") & (frame["year"] == str(latest))]
    rows = rows.sort_values("la_code_latest").reset_index(drop=True)
    children = pd.to_numeric(rows["children_who_went_missing"], errors="coerce")
    incidents = pd.to_numeric(rows["missing_incidents"], errors="coerce")
    suppressed = children.isna() | incidents.isna()
    children = children.fillna(SUPPRESSED_CHILDREN)
    guess = np.maximum(np.rint(children * NATIONAL_INCIDENTS_PER_CHILD), children)
    incidents = incidents.fillna(pd.Series(guess, index=incidents.index))
    incidents = np.maximum(incidents, children)
    lac_c, lac_e = children.astype(np.int64).to_numpy(), incidents.astype(np.int64).to_numpy()
    other_c = np.maximum(np.rint(NOT_LAC_CHILDREN_MULTIPLE * lac_c), NOT_LAC_MINIMUM).astype(np.int64)
    other_e = np.maximum(np.rint(NOT_LAC_EPISODES_MULTIPLE * lac_e), other_c).astype(np.int64)
    return pd.DataFrame({
        "la_code": rows["la_code_latest"].to_numpy(), "year": latest, "dfe_suppressed": suppressed.to_numpy(),
        "lac_children": lac_c, "lac_episodes": lac_e, "other_children": other_c, "other_episodes": other_e,
    })


def _pick(rng, options, n) -> np.ndarray:
    values = np.array([v for v, _ in options], dtype=object)
    p = np.array([w for _, w in options], dtype=float)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def _stamp(minutes: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
    """Minutes since the epoch as 'YYYY-MM-DD HH:MM' text; blank where asked."""
    text = np.datetime_as_string(minutes.astype("datetime64[m]"), unit="m")
    text = np.char.replace(text, "T", " ").astype(object)
    if blank is not None:
        text[blank] = ""
    return text


def _ids(prefix: str, start: int, n: int) -> np.ndarray:
    numbers = pd.Series(np.arange(start, start + n, dtype=np.int64)).astype(str).str.zfill(8)
    return (prefix + numbers).to_numpy(dtype=object)


def _bool_text(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false").astype(object)


def _one_year(rng, sizes: pd.DataFrame, year: int, offsets: dict) -> dict[str, pd.DataFrame]:
    las = sizes["la_code"].to_numpy(dtype=object)
    n_la = len(las)
    # Blocks: (authority, looked after?) with their children and episodes.
    block_la = np.concatenate([np.arange(n_la), np.arange(n_la)])
    block_lac = np.concatenate([np.ones(n_la, bool), np.zeros(n_la, bool)])
    block_children = np.concatenate([sizes["lac_children"], sizes["other_children"]]).astype(np.int64)
    block_episodes = np.concatenate([sizes["lac_episodes"], sizes["other_episodes"]]).astype(np.int64)
    keep = block_children > 0
    block_la, block_lac = block_la[keep], block_lac[keep]
    block_children, block_episodes = block_children[keep], block_episodes[keep]

    # --- children -----------------------------------------------------------------------
    n_children = int(block_children.sum())
    child_block = np.repeat(np.arange(len(block_children)), block_children)
    lac = block_lac[child_block]
    weight = np.minimum(rng.pareto(1.5, n_children), 25.0) + 0.05
    cum = np.cumsum(weight)
    first = np.concatenate([[0], np.cumsum(block_children)[:-1]])
    last = first + block_children - 1
    lo, hi = cum[first] - weight[first], cum[last]
    extra = block_episodes - block_children
    draw_block = np.repeat(np.arange(len(extra)), extra)
    u = lo[draw_block] + rng.random(len(draw_block)) * (hi[draw_block] - lo[draw_block])
    owner = np.clip(np.searchsorted(cum, u, side="right"), first[draw_block], last[draw_block])
    per_child = 1 + np.bincount(owner, minlength=n_children)

    year_start = np.datetime64(f"{year - 1}-04-01", "m").astype(np.int64)
    year_minutes = int((np.datetime64(f"{year}-04-01", "m") - np.datetime64(f"{year - 1}-04-01", "m"))
                       / np.timedelta64(1, "m"))
    ages = np.array([a for a, _ in AGE_AT_YEAR_START])
    age = ages[rng.choice(len(ages), n_children, p=[w for _, w in AGE_AT_YEAR_START])]
    birthday_year = (year - 1 - age).astype(str)
    anchor = np.char.add(birthday_year, "-04-01").astype("datetime64[D]")
    dob = anchor - rng.integers(0, 365, n_children).astype("timedelta64[D]")
    status = np.where(lac, "looked_after", _pick(rng, NOT_LAC_STATUS, n_children)).astype(object)
    setting = np.where(lac, np.where(rng.random(n_children) < 0.7, "care_in_area", "care_out_of_area"),
                       "home").astype(object)
    vulnerability = rng.lognormal(-0.32, 0.8, n_children)   # mean about 1
    child_ids = _ids("C", offsets["child"], n_children)
    offsets["child"] += n_children
    uasc = np.where(lac, rng.random(n_children) < 0.06, False)
    children = pd.DataFrame({
        "child_id": child_ids,
        "sex": _pick(rng, (("female", 0.52), ("male", 0.46), ("unknown", 0.015), ("other", 0.005)), n_children),
        "date_of_birth": np.datetime_as_string(dob, unit="D").astype(object),
        "uasc": np.where(rng.random(n_children) < 0.9, _bool_text(uasc), ""),
        "ethnicity": _pick(rng, ETHNICITY, n_children),
    })

    # --- episodes -------------------------------------------------------------------------
    n_eps = int(per_child.sum())
    ep_child = np.repeat(np.arange(n_children), per_child)
    start = year_start + rng.integers(0, year_minutes, n_eps)
    order = np.lexsort((start, ep_child))
    start = start[order]  # ep_child is already sorted; now starts are in order within each child
    duration = np.minimum(np.rint(rng.lognormal(np.log(8 * 60), 1.1, n_eps)), 30 * MINUTES_PER_DAY).astype(np.int64)
    duration = np.maximum(duration, 15)
    end = start + duration
    still_missing = rng.random(n_eps) < 0.003
    risk = _pick(rng, RISK, n_eps)
    legal = status[ep_child].copy()
    legal[rng.random(n_eps) < 0.03] = ""
    ep_ids = _ids("E", offsets["episode"], n_eps)
    offsets["episode"] += n_eps
    ep_la = las[block_la[child_block[ep_child]]]
    found = np.where(rng.random(n_eps) < 0.4, ep_la, "").astype(object)
    episodes = pd.DataFrame({
        "episode_id": ep_ids, "child_id": child_ids[ep_child], "la_code": ep_la,
        "missing_start": _stamp(start), "missing_end": _stamp(end, still_missing),
        "episode_type": np.where(rng.random(n_eps) < 0.95, "missing", "").astype(object),
        "police_risk": risk, "missing_from": setting[ep_child], "legal_status": legal,
        "found_location": found,
    })

    # --- RHIs: one per offered episode ------------------------------------------------------
    la_completion = rng.beta(8, 8, n_la)
    completion = la_completion[block_la[child_block[ep_child]]]
    has_rhi = ~still_missing & (rng.random(n_eps) < 0.88)
    completed_ep = has_rhi & (rng.random(n_eps) < completion / 0.88)
    rhi_ep = np.flatnonzero(has_rhi)
    n_rhi = len(rhi_ep)
    done = completed_ep[rhi_ep]
    rhi_status = np.where(done, "completed", _pick(rng, OTHER_STATUS, n_rhi)).astype(object)
    offered = rhi_status != "not_offered"
    offered_at = end[rhi_ep] + rng.integers(120, 72 * 60, n_rhi)
    completed_at = offered_at + rng.integers(60, 5 * MINUTES_PER_DAY, n_rhi)
    declined = rhi_status == "declined"
    rhi_ids = _ids("R", offsets["rhi"], n_rhi)
    offsets["rhi"] += n_rhi
    rhi_legal = legal[rhi_ep].copy()
    rhi_legal[rng.random(n_rhi) < 0.1] = ""
    blank_unless_done = lambda values: np.where(done, values, "").astype(object)  # noqa: E731
    rhis = pd.DataFrame({
        "rhi_id": rhi_ids, "child_id": child_ids[ep_child[rhi_ep]],
        "offered_at": _stamp(offered_at, ~offered), "status": rhi_status,
        "decline_reason": np.where(declined, _pick(rng, DECLINE, n_rhi), "").astype(object),
        "completed_at": _stamp(completed_at, ~done), "legal_status": rhi_legal,
        "consent_to_share": blank_unless_done(_pick(rng, CONSENT, n_rhi)),
        "confidentiality_overridden": blank_unless_done(_bool_text(rng.random(n_rhi) < 0.03)),
        "shared_wider": blank_unless_done(_bool_text(rng.random(n_rhi) < 0.2)),
        "follow_up": blank_unless_done(_pick(rng, FOLLOW_UP, n_rhi)),
        "helpline_signposted": blank_unless_done(_bool_text(rng.random(n_rhi) < 0.15)),
    })

    # --- links: each RHI its episode; a completed RHI also addresses the child's previous
    # episode when that has no completed RHI, ended before the interview, half the time.
    prev = rhi_ep - 1
    ok = done & (prev >= 0)
    prev_c = np.where(ok, prev, 0)
    ok &= (ep_child[prev_c] == ep_child[rhi_ep]) & ~completed_ep[prev_c] & ~still_missing[prev_c]
    ok &= end[prev_c] <= completed_at
    ok &= rng.random(n_rhi) < 0.5
    link_rhi = np.concatenate([np.arange(n_rhi), np.flatnonzero(ok)])
    link_ep = np.concatenate([rhi_ep, prev[ok]])
    link_order = np.lexsort((link_ep, link_rhi))
    links = pd.DataFrame({"rhi_id": rhi_ids[link_rhi[link_order]], "episode_id": ep_ids[link_ep[link_order]]})

    # --- disclosures at completed RHIs ---------------------------------------------------------
    done_idx = np.flatnonzero(done)
    rates = np.array(list(DISCLOSURE_RATES.values()))          # indicators x (not LAC, LAC)
    base = rates[:, 1][None, :] * lac[ep_child[rhi_ep[done_idx]]][:, None] + \
        rates[:, 0][None, :] * ~lac[ep_child[rhi_ep[done_idx]]][:, None]
    mult = vulnerability[ep_child[rhi_ep[done_idx]]] * np.where(risk[rhi_ep[done_idx]] == "high", 1.6, 1.0)
    p = np.minimum(base * mult[:, None], 0.9)
    hit_rhi, hit_ind = np.nonzero(rng.random(p.shape) < p)
    names = np.array(vocab.INDICATORS, dtype=object)
    disclosures = pd.DataFrame({
        "rhi_id": rhi_ids[done_idx[hit_rhi]], "indicator": names[hit_ind],
        "note": np.full(len(hit_rhi), "", dtype=object),
    })
    return {"children": children, "episodes": episodes, "rhis": rhis, "rhi_episodes": links,
            "disclosures": disclosures}


def generate_national(seed: int, years: int = 1) -> dict[str, pd.DataFrame]:
    """Canonical text tables for every English authority over ``years`` reporting years ending 2024."""
    if years < 1:
        raise ValueError("years must be at least 1")
    rng = np.random.default_rng(seed)
    sizes = authority_sizes()
    offsets = {"child": 1, "episode": 1, "rhi": 1}
    parts = [_one_year(rng, sizes, year, offsets) for year in range(LAST_YEAR - years + 1, LAST_YEAR + 1)]
    out = {}
    for name in parts[0]:
        frame = pd.concat([p[name] for p in parts], ignore_index=True) if len(parts) > 1 else parts[0][name]
        out[name] = frame.astype(str)
    return out


__all__ = ["generate_national", "authority_sizes"]
