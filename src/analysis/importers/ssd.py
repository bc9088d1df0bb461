"""Import from the Standard Safeguarding Dataset (SSD, data-to-insight's SSD data model).

Source: a folder of CSV files named after the SSD tables. Used:

- ``ssd_missing`` (required): one row per missing or away episode, with whether
  a return home interview was offered and accepted;
- ``ssd_person`` (required): sex, date of birth, ethnicity;
- status tables (optional, as present): ``ssd_cla_episodes``, ``ssd_cp_plans``,
  ``ssd_cin_episodes`` / ``ssd_cin_plans``, ``ssd_early_help_episodes``, from
  which each episode's legal status on its start date is derived.

Column names follow the current SSD specification; names used by earlier
releases of the SSD scripts are accepted too (see ``MISSING``). SSD holds no
police risk, no local authority per episode (``--la-code``), no interview date
and nothing the child disclosed: the import report lists these as unavailable.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import DatasetError, Problems
from analysis import vocab
from analysis.importers.common import (SourceTable, codes, dates, find_file, format_dates, format_datetimes, read_csv, sha256)
from analysis.importers.output import Imported, finish_table
from analysis.importers.pseudonymise import Pseudonymiser
from analysis.importers.report import ImportReport

# Logical column -> accepted SSD column names (current specification first).
MISSING = {
    "id": ["miss_table_id"],
    "person": ["miss_person_id", "miss_la_person_id"],
    "start": ["miss_missing_episode_start_date", "miss_missing_episode_start", "miss_mis_epi_start"],
    "type": ["miss_missing_episode_type", "miss_mis_epi_type"],
    "end": ["miss_missing_episode_end_date", "miss_missing_episode_end", "miss_mis_epi_end"],
    "offered": ["miss_missing_rhi_offered", "miss_mis_epi_rhi_offered"],
    "accepted": ["miss_missing_rhi_accepted", "miss_mis_epi_rhi_accepted"],
}
PERSON = {"id": ["pers_person_id"], "sex": ["pers_sex"], "dob": ["pers_dob"], "ethnicity": ["pers_ethnicity"]}

# Status tables in order of precedence: (legal_status, table, person, start, end column names).
STATUS_TABLES = (
    ("looked_after", "ssd_cla_episodes", ["clae_person_id"],
     ["clae_cla_episode_start_date", "clae_cla_episode_start"],
     ["clae_cla_episode_ceased_date", "clae_cla_episode_ceased"]),
    ("child_protection", "ssd_cp_plans", ["cppl_person_id"], ["cppl_cp_plan_start_date"], ["cppl_cp_plan_end_date"]),
    ("child_in_need", "ssd_cin_episodes", ["cine_person_id"], ["cine_referral_date"], ["cine_close_date"]),
    ("child_in_need", "ssd_cin_plans", ["cinp_person_id"],
     ["cinp_cin_plan_start_date", "cinp_cin_plan_start"], ["cinp_cin_plan_end_date", "cinp_cin_plan_end"]),
    ("early_help", "ssd_early_help_episodes", ["earl_person_id"], ["earl_episode_start_date"],
     ["earl_episode_end_date"]),
)

EPISODE_TYPE = {"M": "missing", "Missing": "missing", "Missing from care": "missing", "Missing from home": "missing",
                "A": "away", "Away": "away", "Absent": "away",
                "Away from placement without authorisation": "away", "Absent without authorisation": "away"}
YES_NO = {"Y": "y", "Yes": "y", "N": "n", "No": "n", "NA": "", "N/A": "", "Not applicable": ""}


def import_ssd(folder: Path, la_code: str, pseudo: Pseudonymiser, keep_identifiers: bool) -> Imported:
    """Translate an SSD extract folder; raise DatasetError naming source file, row and column."""
    folder = Path(folder)
    problems = Problems()
    report = ImportReport("ssd", la_code=la_code)
    miss_path = find_file(folder, "ssd_missing", problems, "ssd_missing")
    pers_path = find_file(folder, "ssd_person", problems, "ssd_person")
    if problems:
        raise DatasetError(problems.items, str(folder))
    miss = read_csv(miss_path, "ssd_missing", problems)
    pers = read_csv(pers_path, "ssd_person", problems)
    if problems:
        raise DatasetError(problems.items, str(folder))
    used = [miss, pers]

    m = {k: miss.column(v, problems if k in ("id", "person", "start") else None) for k, v in MISSING.items()}
    p = {k: pers.column(v, problems if k in ("id", "sex", "dob") else None) for k, v in PERSON.items()}
    if problems:
        raise DatasetError(problems.items, str(folder))

    # Episodes.
    mf = miss.frame
    _check_unique(miss, m["id"], problems)
    start = dates(miss, m["start"], problems, required=True)
    end = dates(miss, m["end"], problems) if m["end"] else pd.Series(pd.NaT, index=mf.index)
    ep_type = codes(miss, m["type"], EPISODE_TYPE, problems) if m["type"] else pd.Series("", index=mf.index)
    for label in mf.index[mf[m["person"]] == ""]:
        problems.add(miss.name, miss.source, miss.row(label), m["person"], "", "a person id (this column is required)")

    offered = codes(miss, m["offered"], YES_NO, problems, expected="Y, N or NA (or blank)") if m["offered"] \
        else pd.Series("", index=mf.index)
    accepted = codes(miss, m["accepted"], YES_NO, problems, expected="Y, N or NA (or blank)") if m["accepted"] \
        else pd.Series("", index=mf.index)

    # Children: the people with a missing episode.
    pf = pers.frame
    person_ids = set(pf[p["id"]])
    for label in mf.index[(mf[m["person"]] != "") & ~mf[m["person"]].isin(person_ids)]:
        problems.add(miss.name, miss.source, miss.row(label), m["person"], mf.at[label, m["person"]],
                     f"a person id that is in {pers.source} ({p['id']})")
    kept = pf[pf[p["id"]].isin(set(mf[m["person"]]))]
    dupes = kept[p["id"]].duplicated(keep="first")
    for label in kept.index[dupes]:
        problems.add(pers.name, pers.source, pers.row(label), p["id"], kept.at[label, p["id"]],
                     "each person id once")
    kept_table = SourceTable(pers.name, pers.source, pers.path, kept, pers.first_row)
    sex = codes(kept_table, p["sex"], vocab.SEX | {"Indeterminate": "unknown"}, problems, required=True,
                expected="F, M or U (female, male, unknown)")
    dob = dates(kept_table, p["dob"], problems, required=True)

    # Status tables -> legal status on the episode's start date.
    status_frames, status_sources = [], []
    for status, name, person_col, start_col, end_col in STATUS_TABLES:
        path = find_file(folder, name, None, name)
        if path is None:
            continue
        table = read_csv(path, name, problems)
        if table is None:
            continue
        cols = [table.column(person_col, problems), table.column(start_col, problems), table.column(end_col)]
        if None in cols[:2]:
            continue
        used.append(table)
        relevant = table.frame[table.frame[cols[0]].isin(set(mf[m["person"]]))]
        sub = SourceTable(name, table.source, path, relevant, table.first_row)
        s = dates(sub, cols[1], problems)
        e = dates(sub, cols[2], problems) if cols[2] else pd.Series(pd.NaT, index=relevant.index)
        blank = s.isna() & (relevant[cols[1]] == "")
        if blank.any():
            report.warn(f"{table.source}: {int(blank.sum())} row(s) of children with a missing episode have no "
                        f"start date ({cols[1]}) and were not used for legal status")
        status_frames.append((status, name, pd.DataFrame({"person": relevant[cols[0]], "start": s, "end": e})))
        status_sources.append((status, f"{table.source}: {cols[0]}, {cols[1]}, {cols[2] or '-'}"))
    if problems:
        raise DatasetError(problems.items, str(folder))

    legal = _legal_status(mf[m["person"]], start, status_frames)
    for label in mf.index[(offered == "n") & (accepted == "y")]:
        problems.add(miss.name, miss.source, miss.row(label), m["accepted"], mf.at[label, m["accepted"]],
                     f"N or blank, because {m['offered']} is N (an interview not offered cannot be accepted)")
    if problems:
        raise DatasetError(problems.items, str(folder))

    child_id = pseudo.series("person", mf[m["person"]])
    episode_id = pseudo.series("episode", mf[m["id"]])
    episodes = pd.DataFrame({
        "episode_id": episode_id, "child_id": child_id, "la_code": la_code,
        "missing_start": format_datetimes(start), "missing_end": format_datetimes(end),
        "episode_type": ep_type, "legal_status": legal if status_frames else "",
    })
    if status_frames and any(s == "looked_after" for s, _, _ in status_frames):
        episodes["missing_from"] = pd.Series(legal).map(lambda s: "" if s == "looked_after" else "home")

    children = pd.DataFrame({
        "child_id": pseudo.series("person", kept[p["id"]]), "sex": sex, "date_of_birth": format_dates(dob),
        "ethnicity": kept[p["ethnicity"]] if p["ethnicity"] else "",
    })
    extra_children = _identifying(pers, kept, set(p.values()), keep_identifiers, report)
    for column, values in extra_children.items():
        children[column] = values
    if keep_identifiers:
        children["source_child_id"] = kept[p["id"]]

    rhis, links, rhi_origin = _rhis(miss, m, offered, accepted, child_id, episode_id, pseudo, report)

    tables = {
        "children": finish_table("children", children, list(extra_children) + ["source_child_id"]),
        "episodes": finish_table("episodes", episodes),
        "rhis": finish_table("rhis", rhis),
        "rhi_episodes": finish_table("rhi_episodes", links),
        "disclosures": finish_table("disclosures", pd.DataFrame()),
    }
    origins = {
        "children": [(pers.source, r) for r in pers.rows(kept.index)],
        "episodes": [(miss.source, r) for r in miss.rows()],
        "rhis": rhi_origin, "rhi_episodes": rhi_origin,
    }
    columns_from = {
        "children": {"child_id": p["id"], "sex": p["sex"], "date_of_birth": p["dob"]},
        "episodes": {"episode_id": m["id"], "child_id": m["person"], "missing_start": m["start"],
                     "missing_end": m["end"], "episode_type": m["type"]},
    }
    _describe(report, m, p, miss, pers, status_frames)
    for status, where in status_sources:
        report.map(f"episodes.legal_status ({status})", where)
    report.source_files = [{"file": t.source, "sha256": sha256(t.path), "rows": int(len(t.frame))} for t in used]
    return Imported(tables, origins, report, columns_from)


def _check_unique(table: SourceTable, column: str, problems: Problems) -> None:
    series = table.frame[column]
    for label in series.index[series == ""]:
        problems.add(table.name, table.source, table.row(label), column, "", "an id (this column is required)")
    for label in series.index[series.duplicated(keep="first") & (series != "")]:
        problems.add(table.name, table.source, table.row(label), column, series[label], f"each {column} once")


def _legal_status(person: pd.Series, start: pd.Series, status_frames) -> pd.Series:
    """Highest-precedence status open on the episode's start date (start <= day <= end, end blank = open)."""
    day = start.dt.normalize()
    out = pd.Series("not_known", index=person.index, dtype=object)
    for status in reversed(("looked_after", "child_protection", "child_in_need", "early_help")):
        hit = pd.Series(False, index=person.index)
        for s, _, frame in status_frames:
            if s != status or frame.empty:
                continue
            eps = pd.DataFrame({"person": person, "day": day, "pos": person.index})
            joined = eps.merge(frame, on="person", how="inner")
            open_ = (joined["start"].dt.normalize() <= joined["day"]) & (
                joined["end"].isna() | (joined["end"].dt.normalize() >= joined["day"]))
            hit.loc[joined.loc[open_, "pos"].unique()] = True
        out[hit] = status
    return out


def _rhis(miss, m, offered, accepted, child_id, episode_id, pseudo, report):
    """One RHI row per episode whose offer is recorded; SSD's 'accepted' is not 'completed'."""
    status = pd.Series("", index=miss.frame.index, dtype=object)
    status[(offered == "y") & (accepted == "y")] = "accepted_not_completed"
    status[(offered == "y") & (accepted == "n")] = "declined"
    status[(offered == "n")] = "not_offered"
    implied = (offered == "") & (accepted != "")
    status[implied & (accepted == "y")] = "accepted_not_completed"
    status[implied & (accepted == "n")] = "declined"
    unknown_outcome = (offered == "y") & (accepted == "")
    if implied.any():
        report.warn(f"{miss.source}: {int(implied.sum())} episode(s) have an RHI accepted value but no offered "
                    "value; an answer implies an offer, so they were taken as offered")
    if unknown_outcome.any():
        report.warn(f"{miss.source}: {int(unknown_outcome.sum())} episode(s) were offered an RHI with no "
                    "accepted value; the contract has no status for 'offered, outcome not recorded', so no "
                    "RHI row was written for them")
    keep = status != ""
    rhi_ids = pseudo.series("rhi", miss.frame.loc[keep, m["id"]])
    rhis = pd.DataFrame({"rhi_id": rhi_ids, "child_id": child_id[keep], "status": status[keep]})
    links = pd.DataFrame({"rhi_id": rhi_ids, "episode_id": episode_id[keep]})
    origin = [(miss.source, r) for r in miss.rows(miss.frame.index[keep])]
    return rhis, links, origin


def _identifying(pers, kept, used_columns, keep_identifiers, report) -> dict[str, pd.Series]:
    """Other ssd_person columns (NHS number, UPN, legacy ids...): dropped, or kept with --keep-identifiers."""
    extra = {}
    for column in pers.frame.columns:
        if column in used_columns:
            continue
        if keep_identifiers:
            extra[column] = kept[column]
        else:
            report.dropped_columns.append({"file": pers.source, "column": column,
                                           "why": "may identify a person; kept only with --keep-identifiers"})
    return extra


def _describe(report: ImportReport, m, p, miss, pers, status_frames) -> None:
    ms, ps = miss.source, pers.source
    report.map("children.child_id", f"{ps}: {p['id']} (pseudonymised)")
    report.map("children.sex", f"{ps}: {p['sex']} (F, M, U)")
    report.map("children.date_of_birth", f"{ps}: {p['dob']}")
    if p["ethnicity"]:
        report.map("children.ethnicity", f"{ps}: {p['ethnicity']}")
    report.map("episodes.episode_id", f"{ms}: {m['id']} (pseudonymised)")
    report.map("episodes.child_id", f"{ms}: {m['person']} (pseudonymised)")
    report.map("episodes.missing_start", f"{ms}: {m['start']}")
    if m["end"]:
        report.map("episodes.missing_end", f"{ms}: {m['end']}")
    if m["type"]:
        report.map("episodes.episode_type", f"{ms}: {m['type']} (M -> missing, A -> away)")
    report.derive("episodes.la_code", "the --la-code given (SSD has no local authority per episode)")
    if status_frames:
        tables = ", ".join(sorted({name for _, name, _ in status_frames}))
        report.derive("episodes.legal_status",
                      f"status open on the day the episode started, from {tables}; precedence looked_after > "
                      "child_protection > child_in_need > early_help; none open -> not_known. A status table "
                      "not supplied cannot contribute.")
        absent = [name for _, name, *_ in STATUS_TABLES if name not in {n for _, n, _ in status_frames}]
        if absent:
            report.warn("status tables not supplied: " + ", ".join(absent) + "; children whose only status "
                        "is recorded there are shown as not_known")
        if any(s == "looked_after" for s, _, _ in status_frames):
            report.derive("episodes.missing_from", "home when the child was not looked after on the start "
                          "date; blank when looked after (in or out of area is not in SSD)")
        else:
            report.missing("episodes.missing_from", "no ssd_cla_episodes table, so care cannot be told from home")
    else:
        report.missing("episodes.legal_status", "no status tables (ssd_cla_episodes, ssd_cp_plans, "
                       "ssd_cin_episodes/ssd_cin_plans, ssd_early_help_episodes) in the extract")
        report.missing("episodes.missing_from", "no ssd_cla_episodes table, so care cannot be told from home")
    if m["offered"] or m["accepted"]:
        report.derive("rhis.status", f"{ms}: {m['offered'] or '-'} / {m['accepted'] or '-'}: offered Y + accepted "
                      "Y -> accepted_not_completed; offered Y + accepted N -> declined; offered N -> "
                      "not_offered. SSD records acceptance, not whether the interview took place, so no RHI "
                      "is marked completed")
        report.derive("rhis.rhi_id", f"{ms}: {m['id']} (pseudonymised; one RHI row per episode)")
        report.derive("rhi_episodes", "each RHI row addresses the episode it was recorded on")
    else:
        report.missing("rhis", f"{ms} has no rhi_offered / rhi_accepted columns")
    report.missing("episodes.police_risk", "SSD holds no police risk grading")
    report.missing("episodes.found_location", "not in SSD")
    report.missing("rhis.completed_at", "SSD records whether an RHI was accepted, not whether or when it took place")
    report.missing("rhis.offered_at", "SSD records whether an RHI was offered, not when (status carries the offer)")
    report.missing("rhis.decline_reason", "not in SSD")
    report.missing("rhis.consent_to_share", "not in SSD")
    report.missing("rhis.follow_up", "not in SSD")
    report.missing("disclosures", "SSD holds nothing the child disclosed at the interview")
    report.missing("children.uasc", "not in ssd_person")
