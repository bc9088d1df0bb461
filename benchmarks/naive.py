"""Naive baselines: what a straightforward pandas/Python script would do, row by row.

- ``naive_validate(folder)``: read each CSV with pandas (all text), then check
  every row with ``iterrows``: required cells, vocabularies, dates tried
  format by format with ``datetime.strptime``, booleans, GSS codes, unique ids
  and foreign keys with Python sets, end before start, completed RHIs with a
  completed_at, disclosures only at completed RHIs, an episode linked to at
  most one completed RHI of its own child. Returns the problems found.
- ``naive_figures(ds, la)``: for one authority, the core populations and every
  prevalence figure (overall, by cohort and for high-risk episodes) computed
  with ``iterrows`` and Python dicts and sets over that authority's rows.
  Returns {figure id: (count, denominator)} with the library's figure ids, so
  the benchmark can check the two agree.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from analysis import vocab
from analysis.dataset.schema import COLUMNS, DATE_FORMATS, DATETIME_FORMATS

GSS = re.compile(r"(E06|E08|E09|E10|W06)\d{6}")


def _parse(text: str, formats) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _norm(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.lower().strip())


def naive_validate(folder) -> list[str]:
    folder = Path(folder)
    frames = {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
              for name in vocab.TABLES}
    problems: list[str] = []
    parsed: dict[str, list[dict]] = {}
    for name, frame in frames.items():
        specs = COLUMNS[name]
        rows = []
        for i, row in frame.iterrows():
            rec = {}
            for spec in specs:
                value = str(row[spec.name]).strip() if spec.name in frame.columns else ""
                if value == "":
                    if spec.required:
                        problems.append(f"{name}.csv row {i + 2} {spec.name}: required")
                    rec[spec.name] = None
                    continue
                if spec.kind == "enum":
                    codes = {_norm(k): v for k, v in spec.codes.items()}
                    if _norm(value) not in codes:
                        problems.append(f"{name}.csv row {i + 2} {spec.name}: {value!r}")
                    rec[spec.name] = codes.get(_norm(value))
                elif spec.kind in ("date", "datetime"):
                    stamp = _parse(value, DATE_FORMATS if spec.kind == "date" else DATETIME_FORMATS)
                    if stamp is None:
                        problems.append(f"{name}.csv row {i + 2} {spec.name}: {value!r}")
                    rec[spec.name] = stamp
                elif spec.kind == "bool":
                    if value.lower() not in vocab.BOOLEAN:
                        problems.append(f"{name}.csv row {i + 2} {spec.name}: {value!r}")
                    rec[spec.name] = vocab.BOOLEAN.get(value.lower())
                elif spec.kind == "gss":
                    if not GSS.fullmatch(value.upper()):
                        problems.append(f"{name}.csv row {i + 2} {spec.name}: {value!r}")
                    rec[spec.name] = value.upper()
                else:
                    rec[spec.name] = value
            rec["_row"] = i + 2
            rows.append(rec)
        parsed[name] = rows

    def unique(name, key):
        seen = set()
        for rec in parsed[name]:
            if rec[key] in seen:
                problems.append(f"{name}.csv row {rec['_row']} {key}: duplicate")
            seen.add(rec[key])
        return seen

    children = {rec["child_id"]: rec for rec in parsed["children"]}
    unique("children", "child_id")
    episodes = {rec["episode_id"]: rec for rec in parsed["episodes"]}
    unique("episodes", "episode_id")
    rhis = {rec["rhi_id"]: rec for rec in parsed["rhis"]}
    unique("rhis", "rhi_id")
    for rec in parsed["episodes"]:
        child = children.get(rec["child_id"])
        if child is None:
            problems.append(f"episodes.csv row {rec['_row']} child_id: unknown")
        elif child["date_of_birth"] and rec["missing_start"] and child["date_of_birth"] > rec["missing_start"]:
            problems.append(f"episodes.csv row {rec['_row']} missing_start: before birth")
        if rec["missing_end"] and rec["missing_start"] and rec["missing_end"] < rec["missing_start"]:
            problems.append(f"episodes.csv row {rec['_row']} missing_end: before start")
    for rec in parsed["rhis"]:
        if rec["child_id"] not in children:
            problems.append(f"rhis.csv row {rec['_row']} child_id: unknown")
        if rec["status"] == "completed" and rec["completed_at"] is None:
            problems.append(f"rhis.csv row {rec['_row']} completed_at: required")
        if rec["status"] != "completed" and rec["completed_at"] is not None:
            problems.append(f"rhis.csv row {rec['_row']} completed_at: must be blank")
        if rec["status"] != "declined" and rec["decline_reason"] is not None:
            problems.append(f"rhis.csv row {rec['_row']} decline_reason: must be blank")
        if rec["completed_at"] and rec["offered_at"] and rec["completed_at"] < rec["offered_at"]:
            problems.append(f"rhis.csv row {rec['_row']} completed_at: before offered_at")
    completed_of_episode: dict[str, str] = {}
    pairs = set()
    for rec in parsed["rhi_episodes"]:
        rhi, ep = rhis.get(rec["rhi_id"]), episodes.get(rec["episode_id"])
        if rhi is None or ep is None:
            problems.append(f"rhi_episodes.csv row {rec['_row']}: unknown rhi_id or episode_id")
            continue
        if (rec["rhi_id"], rec["episode_id"]) in pairs:
            problems.append(f"rhi_episodes.csv row {rec['_row']}: duplicate pair")
        pairs.add((rec["rhi_id"], rec["episode_id"]))
        if rhi["child_id"] != ep["child_id"]:
            problems.append(f"rhi_episodes.csv row {rec['_row']}: another child's episode")
        if rhi["status"] == "completed":
            if rec["episode_id"] in completed_of_episode:
                problems.append(f"rhi_episodes.csv row {rec['_row']}: two completed RHIs")
            completed_of_episode[rec["episode_id"]] = rec["rhi_id"]
    known = set(vocab.INDICATORS)
    for rec in parsed["disclosures"]:
        rhi = rhis.get(rec["rhi_id"])
        if rhi is None:
            problems.append(f"disclosures.csv row {rec['_row']} rhi_id: unknown")
        elif rhi["status"] != "completed":
            problems.append(f"disclosures.csv row {rec['_row']} rhi_id: not completed")
        if rec["indicator"] not in known:
            problems.append(f"disclosures.csv row {rec['_row']} indicator: unknown")
    return problems


RANK = {level: i for i, level in enumerate(vocab.RISK_ORDER)}


def naive_figures(ds, la: str, risk_levels=("medium", "low")) -> dict[str, tuple[int, int]]:
    """Core populations and every prevalence figure of one authority, with iterrows."""
    sub = ds.subset_la(la)
    out: dict[str, tuple[int, int]] = {}
    notified, coded = [], []
    for _, e in sub.episodes.iterrows():
        if e["set_aside"] is not None and e["set_aside"] == e["set_aside"]:
            continue
        notified.append(e)
        if e["police_risk"] is not None and e["police_risk"] == e["police_risk"]:
            coded.append(e)
    out["no_risk_code_share"] = (len(notified) - len(coded), len(notified))
    for level in ("high", "medium", "low"):
        out[f"{level}_share_of_coded"] = (sum(1 for e in coded if e["police_risk"] == level), len(coded))

    status = {}
    child_of_rhi = {}
    rhi_legal = {}
    for _, r in sub.rhis.iterrows():
        status[r["rhi_id"]] = r["status"]
        child_of_rhi[r["rhi_id"]] = r["child_id"]
        rhi_legal[r["rhi_id"]] = r["legal_status"] if isinstance(r["legal_status"], str) else None
    ep_info = {e["episode_id"]: e for _, e in sub.episodes.iterrows()}
    links = []
    earliest: dict[str, tuple] = {}
    for _, l in sub.rhi_episodes.iterrows():
        if isinstance(l["set_aside"], str):
            continue
        links.append((l["rhi_id"], l["episode_id"]))
        e = ep_info.get(l["episode_id"])
        if e is not None:
            key = (e["missing_start"], e["episode_id"])
            if l["rhi_id"] not in earliest or key < earliest[l["rhi_id"]][0]:
                legal = e["legal_status"] if isinstance(e["legal_status"], str) else None
                earliest[l["rhi_id"]] = (key, legal)
    cohort = {}
    for rid in status:
        legal = rhi_legal[rid] or (earliest[rid][1] if rid in earliest else None)
        cohort[rid] = vocab.COHORT_OF_LEGAL_STATUS.get(legal, "not_known") if legal else "not_known"
    disclosed: dict[str, set] = {}
    for _, d in sub.disclosures.iterrows():
        if not isinstance(d["set_aside"], str):
            disclosed.setdefault(d["rhi_id"], set()).add(d["indicator"])

    def populations(levels):
        scope = {e["episode_id"] for e in coded if e["police_risk"] in levels}
        in_rhis = {rid for rid, eid in links if eid in scope and status.get(rid) == "completed"}
        kids = {child_of_rhi[rid] for rid in in_rhis}
        return scope, in_rhis, kids

    indicators = vocab.INDICATORS + tuple(vocab.DERIVED_INDICATORS)

    def has(rids, indicator):
        parts = vocab.DERIVED_INDICATORS.get(indicator, (indicator,))
        return any(disclosed.get(rid, set()) & set(parts) for rid in rids)

    scope, in_rhis, kids = populations(risk_levels)
    out["medium_low_share_of_coded"] = (len(scope), len(coded))
    rhis_of_child: dict[str, list] = {}
    for rid in in_rhis:
        rhis_of_child.setdefault(child_of_rhi[rid], []).append(rid)
    prefix = {"looked_after": "lac", "open_to_services": "ots", "not_known": "nk"}
    for k in vocab.COHORTS:
        members = {c for c, rids in rhis_of_child.items() if any(cohort[r] == k for r in rids)}
        out[f"cohort_{k}"] = (len(members), len(kids))
    out["children_more_than_one_rhi"] = (sum(1 for r in rhis_of_child.values() if len(r) >= 2), len(kids))
    for ind in indicators:
        out[ind] = (sum(1 for c, rids in rhis_of_child.items() if has(rids, ind)), len(kids))
        for k, p in prefix.items():
            members = {c: [r for r in rids if cohort[r] == k] for c, rids in rhis_of_child.items()}
            members = {c: r for c, r in members.items() if r}
            out[f"{p}_{ind}"] = (sum(1 for r in members.values() if has(r, ind)), len(members))
    _, high_rhis, high_kids = populations(("high",))
    high_of_child: dict[str, list] = {}
    for rid in high_rhis:
        high_of_child.setdefault(child_of_rhi[rid], []).append(rid)
    for ind in indicators:
        out[f"high_rhi_{ind}"] = (sum(1 for r in high_of_child.values() if has(r, ind)), len(high_kids))
    return out
