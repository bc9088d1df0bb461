"""A study-sized synthetic dataset calibrated to "A Safer Return" (Missing People, 2019).

``generate_study(seed)`` returns the five canonical tables, as text (what a
CSV holds), for three fictitious local authorities over the study period.
The contract's definitions, applied to these records, give back every
published figure that the report's own numbers allow, at the printed
precision: counts are allocated to match (``analysis.synth.plan``,
``analysis.synth.calibration``), and the seed only decides which child, episode or
interview gets what. docs/synthetic-data.md lists the design choices and the
figure that cannot be met (the report prints 3.5% for 51 of 1,490).

Nothing here is real: the children, dates and authority codes are invented.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.synth.calibration import Calibration
from analysis.synth.disclosures import choose, high_risk_disclosures, latent_scores
from analysis.synth.episodes import FOUND, FOUND_WEIGHTS, assign_age_sex, build_children_and_episodes
from analysis.synth.plan import LAC, NK, OTS, plan_children
from analysis.synth.rhis import (DECLINE_REASONS, consent, declined_first, high_rhis, main_rhis, other_referrals,
                         outcomes, timing)

BLANK_NOT_KNOWN = 0.3     # share of not-known-to-services records with legal status left blank
BLANK_RHI_STATUS = 0.08   # share of other RHIs with legal status blank (the episode's status then applies)


def _stamp(values: pd.Series) -> pd.Series:
    return values.dt.strftime("%Y-%m-%d %H:%M").fillna("")


def _bool(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else ("true" if value else "false")


def _episodes_table(eps: pd.DataFrame, child_ids: pd.Series, addressed: set, referred: set,
                    cal: Calibration, rng) -> pd.DataFrame:
    n = len(eps)
    end_of_period = pd.Timestamp(str(cal.study["period_end"]))
    still_missing = (~eps.index.isin(sorted(referred | addressed)) & (eps["start"] >= end_of_period - pd.Timedelta(days=2))
                     & (rng.random(n) < 0.5))
    legal = eps["legal_status"].where(~((eps["status"] == NK) & (rng.random(n) < BLANK_NOT_KNOWN)), "")
    found = np.array(FOUND, dtype=object)[rng.choice(len(FOUND), size=n, p=np.array(FOUND_WEIGHTS) / sum(FOUND_WEIGHTS))]
    found[(rng.random(n) < 0.2) | still_missing] = ""
    away = (eps["status"] == LAC) & (rng.random(n) < 0.06)
    setting = eps["missing_from"].where(rng.random(n) >= 0.03, "")
    return pd.DataFrame({
        "episode_id": eps["episode_id"], "child_id": eps["kid"].map(child_ids), "la_code": eps["la_code"],
        "missing_start": _stamp(eps["start"]), "missing_end": _stamp(eps["end"].mask(still_missing)),
        "episode_type": np.where(away, "away", "missing"), "police_risk": eps["police_risk"],
        "missing_from": setting, "legal_status": legal, "found_location": found,
    })


def _rhi_rows(rhis: list[dict], eps: pd.DataFrame, child_ids: pd.Series, rng) -> pd.DataFrame:
    rows = []
    reasons = [r for r, _ in DECLINE_REASONS]
    weights = np.array([w for _, w in DECLINE_REASONS], dtype=float)
    for r in rhis:
        first = r["episodes"][0]
        legal = eps.at[first, "legal_status"]
        blank = BLANK_NOT_KNOWN if r["cohort_status"] == NK else (0 if r.get("dual") else BLANK_RHI_STATUS)
        done = r["status"] == "completed"
        rows.append({
            "rhi_id": r["rhi_id"], "child_id": child_ids[r["kid"]],
            "offered_at": r.get("offered_at", pd.NaT), "status": r["status"],
            "decline_reason": reasons[rng.choice(len(reasons), p=weights / weights.sum())] if r["status"] == "declined" else "",
            "completed_at": r.get("completed_at", pd.NaT),
            "legal_status": "" if rng.random() < blank else legal,
            "consent_to_share": r.get("consent_to_share", "all" if done else ""),
            "confidentiality_overridden": _bool(r.get("confidentiality_overridden", False if done else None)),
            "shared_wider": _bool(r.get("shared_wider", False if done else None)),
            "follow_up": r.get("follow_up", "signposted" if done else ""),
            "helpline_signposted": _bool(r.get("helpline_signposted", True if done else None)),
        })
    table = pd.DataFrame(rows)
    table["offered_at"] = _stamp(pd.to_datetime(table["offered_at"]))
    table["completed_at"] = _stamp(pd.to_datetime(table["completed_at"]))
    return table


def _disclosure_rows(rhis: list[dict], chosen: dict[str, set], high: dict[str, set], rng) -> pd.DataFrame:
    """Record each disclosure at one of the child's RHIs of its main cohort (sometimes at two)."""
    main_of: dict[int, list[dict]] = {}
    high_of: dict[int, dict] = {}
    for r in rhis:
        if r["main"] and r["cohort_status"] == r["kid_status"]:
            main_of.setdefault(r["kid"], []).append(r)
        elif r.get("high"):
            high_of[r["kid"]] = r
    rows = []
    for indicator, kids in chosen.items():
        if indicator == "cse_red_flag_any":
            continue
        for kid in sorted(kids):
            own = main_of[kid]
            picks = [int(rng.integers(len(own)))]
            if len(own) > 1 and rng.random() < 0.3:
                picks.append(int(rng.integers(len(own))))
            for j in sorted(set(picks)):
                rows.append((own[j]["rhi_id"], indicator))
    for indicator, kids in high.items():
        for kid in sorted(kids):
            rows.append((high_of[kid]["rhi_id"], indicator))
    table = pd.DataFrame(rows, columns=["rhi_id", "indicator"]).sort_values(["rhi_id", "indicator"], kind="stable")
    return table.assign(note="").reset_index(drop=True)


def generate_study(seed: int = 2019, reference: dict | None = None) -> dict[str, pd.DataFrame]:
    """The five canonical tables (text) of a synthetic study calibrated to the published figures."""
    cal = Calibration(reference)
    rng = np.random.default_rng(seed)
    plan = assign_age_sex(plan_children(cal, rng), cal, rng)
    children, eps = build_children_and_episodes(plan, cal, rng)
    eps = eps.sort_values(["start", "kid"], kind="stable").reset_index(drop=True)
    eps["episode_id"] = [f"EP{i:05d}" for i in range(1, len(eps) + 1)]
    child_ids = pd.Series([f"SC{n:06d}" for n in rng.choice(900000, size=len(plan), replace=False) + 100000])

    rhis = main_rhis(plan, eps, cal, rng)
    for r in rhis:
        r["kid_status"] = plan.at[r["kid"], "status"]
        r["dual"] = bool(plan.at[r["kid"], "dual"])
    highs = high_rhis(plan, eps, cal, rng)
    for r in highs:
        r["high"] = True
    addressed = {e for r in rhis + highs for e in r["episodes"]}
    before = declined_first(rhis + highs, rng)
    for r in rhis + highs:
        r["after_decline"] = any(b["episodes"] == r["episodes"] for b in before)
    others = other_referrals(eps, addressed, rng)
    every = rhis + highs + before + others
    timing(every, eps, rng)
    consent(rhis, cal, rng)

    kids = pd.Index(sorted({r["kid"] for r in rhis}))
    scores = latent_scores(kids, rng)
    outcomes(rhis, scores["general"], cal, rng)
    cohort_of = plan.loc[kids, "status"]
    sizes = {LAC: cal.n("rhi_children_looked_after"), OTS: cal.n("rhi_children_open_to_services"),
             NK: cal.n("rhi_children_not_known")}
    chosen = choose(cal, cohort_of, scores, sizes, rng)
    high_kids = sorted({r["kid"] for r in highs})
    high_scores = latent_scores(pd.Index(high_kids), rng)
    high_chosen = high_risk_disclosures(cal, high_kids, high_scores, rng)

    every.sort(key=lambda r: (r.get("completed_at") if pd.notna(r.get("completed_at", pd.NaT)) else
                              r.get("offered_at") if pd.notna(r.get("offered_at", pd.NaT)) else
                              eps.at[r["episodes"][-1], "end"], r["kid"], r["status"]))
    for i, r in enumerate(every, start=1):
        r["rhi_id"] = f"RHI{i:05d}"
    links = pd.DataFrame([(r["rhi_id"], eps.at[e, "episode_id"]) for r in every for e in r["episodes"]],
                         columns=["rhi_id", "episode_id"])
    referred = {e for r in before + others for e in r["episodes"]}
    children_table = pd.DataFrame({
        "child_id": child_ids, "sex": children["sex"],
        "date_of_birth": pd.to_datetime(children["date_of_birth"]).dt.strftime("%Y-%m-%d"),
        "uasc": children["uasc"], "ethnicity": children["ethnicity"]}).sort_values("child_id")
    tables = {
        "children": children_table,
        "episodes": _episodes_table(eps, child_ids, addressed, referred, cal, rng),
        "rhis": _rhi_rows(every, eps, child_ids, rng),
        "rhi_episodes": links,
        "disclosures": _disclosure_rows(every, chosen, high_chosen, rng),
    }
    return {name: frame.reset_index(drop=True).astype(str) for name, frame in tables.items()}
