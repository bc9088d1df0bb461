"""Import from the SSDA903 return (children looked after): Header, Episodes and Missing tables.

Source: a folder with ``Missing.csv`` (CHILD, DOB, MISSING, MIS_START, MIS_END)
and ``Header.csv`` (CHILD, SEX, DOB, ETHNIC, ...), file names in any case;
``Episodes.csv`` (CHILD, DECOM, RNE, LS, CIN, PLACE, PLACE_PROVIDER, DEC, REC,
REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN) when present gives each missing
episode the legal status, placement type and provider of the episode of care it
started in; whether that placement was in or out of the authority comes from
PL_LOCATION (IN/OUT) or PL_LA when the extract has them (the DfE and the
sector's validator add them from the placement postcode; this project holds no
postcode directory, so PL_POST alone cannot say, and is never written out);
``UASC.csv`` (CHILD, SEX, DOB, DUC) is used when present, and ``Missing_last.csv``
(last year's Missing table) when present for rule 576. Dates are dd/mm/yyyy as
the return writes them (ISO also accepted). MISSING is M (missing) or A (away
from placement without authorisation). Every child in the return is looked
after. The return has no episode id, no RHIs, no police risk and no local
authority column (``--la-code``).

The Missing table is checked with the DfE's own 903 validation rules for
missing periods (:mod:`analysis.importers.rules903`); a failure names the rule
code, the file, the row and the column, and nothing is written.

An episode is identified by (CHILD, MIS_START, MISSING) and its order among
identical rows, so the same return always gives the same pseudonymous ids;
rows repeated exactly (e.g. the same episode in two years' files) are kept
once and counted in the report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import vocab
from analysis.errors import DatasetError, Problems
from analysis.importers.common import SourceTable, codes, dates, find_file, format_dates, format_datetimes, read_csv, sha256
from analysis.importers.output import Imported, finish_table
from analysis.importers.pseudonymise import Pseudonymiser, same_id
from analysis.importers.report import ImportReport
from analysis.importers import rules903

MISSING_CODES = {"M": "missing", "A": "away"}
SEX_CODES = {"1": "male", "2": "female"}
IDENTIFYING = {"UPN": "unique pupil number", "MOTHER": "whether the child is a mother",
               "MC_DOB": "date of birth of the child's child"}


def import_ssda903(folder: Path, la_code: str, pseudo: Pseudonymiser, keep_identifiers: bool,
                   collection_year: str | None = None) -> Imported:
    folder = Path(folder)
    problems = Problems()
    report = ImportReport("ssda903", la_code=la_code)
    miss_path = find_file(folder, "Missing", problems, "Missing")
    head_path = find_file(folder, "Header", problems, "Header")
    if problems:
        raise DatasetError(problems.items, str(folder))
    miss = read_csv(miss_path, "Missing", problems)
    head = read_csv(head_path, "Header", problems)
    if problems:
        raise DatasetError(problems.items, str(folder))
    mc = {k: miss.column(k, problems if k != "MIS_END" else None) for k in ("CHILD", "DOB", "MISSING", "MIS_START", "MIS_END")}
    hc = {k: head.column(k, problems if k in ("CHILD", "SEX", "DOB") else None) for k in ("CHILD", "SEX", "DOB", "ETHNIC")}
    if problems:
        raise DatasetError(problems.items, str(folder))

    # Exact repeats (the same episode in two years' files) are kept once.
    key_cols = [mc["CHILD"], mc["MIS_START"], mc["MISSING"]] + ([mc["MIS_END"]] if mc["MIS_END"] else [])
    repeats = miss.frame.duplicated(key_cols, keep="first")
    if repeats.any():
        report.warn(f"{miss.source}: {int(repeats.sum())} row(s) repeat an earlier row exactly "
                    "(same CHILD, MIS_START, MISSING, MIS_END) and were kept once")
    miss = SourceTable(miss.name, miss.source, miss.path, miss.frame[~repeats], miss.first_row)
    mf = miss.frame
    for label in mf.index[mf[mc["CHILD"]] == ""]:
        problems.add(miss.name, miss.source, miss.row(label), mc["CHILD"], "", "a child id (this column is required)")
    # Blank or invalid dates, and a blank MISSING, are reported below under the DfE's rule codes
    # (1004, 1005, 564, 565), so that a council sees the errors the DfE's portal would show.
    start = dates(miss, mc["MIS_START"], Problems())
    end = dates(miss, mc["MIS_END"], Problems()) if mc["MIS_END"] else pd.Series(pd.NaT, index=mf.index)
    ep_type = codes(miss, mc["MISSING"], MISSING_CODES, problems,
                    expected="M (missing) or A (away from placement without authorisation)")
    miss_dob = dates(miss, mc["DOB"], problems, expected="a date as dd/mm/yyyy")

    # Header: one row per child (repeated identical rows across years are fine).
    hf = head.frame[head.frame[hc["CHILD"]].isin(set(mf[mc["CHILD"]]))]
    hf = hf[~hf.duplicated(keep="first")]
    clash = hf[hc["CHILD"]].duplicated(keep="first")
    for label in hf.index[clash]:
        problems.add(head.name, head.source, head.row(label), hc["CHILD"], hf.at[label, hc["CHILD"]],
                     "one row per child (this child has an earlier row with different values)")
    hf = hf[~clash]
    head_kept = SourceTable(head.name, head.source, head.path, hf, head.first_row)
    sex = codes(head_kept, hc["SEX"], SEX_CODES, problems, required=True, expected="1 (male) or 2 (female)")
    dob = dates(head_kept, hc["DOB"], problems, required=True, expected="a date as dd/mm/yyyy")

    # Episodes (legal status and placement on each missing episode's start), then the DfE's rules:
    # every problem of every table is reported together.
    epi = rules903.read_episodes(folder, problems)
    last = rules903.read_missing_last(folder, problems)
    year = rules903.collection_year(collection_year, epi, start, end)
    dob_by_child = dict(zip(hf[hc["CHILD"]], dob))
    rules903.check_missing(miss, mc, start, end, miss_dob, dob_by_child, epi, last, year, problems)
    if problems:
        raise DatasetError(problems.items, str(folder))
    on_start = rules903.episode_on(mf[mc["CHILD"]], start, epi)
    setting = rules903.setting(on_start, la_code)
    report.warn(f"DfE 903 rules for missing periods checked ({', '.join(rules903.RULES_APPLIED(epi, last))}); "
                f"collection year {year.label} ({year.basis})")
    # episodes.legal_status is looked_after throughout (the return covers children looked after); what needs
    # Episodes.csv is the 903 legal status code (LS, as cla_legal_status), the placement and the setting.
    if epi is None:
        report.warn("no Episodes.csv: the 903 legal status code (LS), placement and setting of each episode are "
                    "not derived (episodes.legal_status is looked_after all the same), and rules 575, 577, 578 "
                    "and 581 (which need the episodes of care) were not applied")
    elif (on_start["LS"] == "").any():
        report.warn(f"{int((on_start['LS'] == '').sum())} missing episode(s) start outside every episode of care in "
                    f"{epi.source} (children without episodes): their 903 legal status code (LS) and placement "
                    "are blank (episodes.legal_status is looked_after all the same)")

    children = pd.DataFrame({
        "source": hf[hc["CHILD"]], "sex": sex, "date_of_birth": format_dates(dob),
        "ethnicity": hf[hc["ETHNIC"]] if hc["ETHNIC"] else "",
    })
    origins_children = [(head.source, r) for r in head.rows(hf.index)]
    # Children in Missing but not in Header: sex unknown, date of birth from Missing.
    absent = mf[~mf[mc["CHILD"]].isin(set(hf[hc["CHILD"]])) & (mf[mc["CHILD"]] != "")]
    absent = absent[~absent[mc["CHILD"]].duplicated(keep="first")]
    if len(absent):
        no_dob = absent.index[miss_dob[absent.index].isna()]
        for label in no_dob:
            problems.add(miss.name, miss.source, miss.row(label), mc["DOB"], mf.at[label, mc["DOB"]],
                         f"a date of birth, because this CHILD has no row in {head.source}")
        if problems:
            raise DatasetError(problems.items, str(folder))
        report.warn(f"{len(absent)} child(ren) in {miss.source} have no row in {head.source}: sex set to "
                    "unknown, date of birth taken from the Missing table")
        children = pd.concat([children, pd.DataFrame({
            "source": absent[mc["CHILD"]], "sex": "unknown",
            "date_of_birth": format_dates(miss_dob[absent.index]), "ethnicity": ""})])
        origins_children += [(miss.source, r) for r in miss.rows(absent.index)]

    uasc = _uasc(folder, children["source"], problems, report)
    if problems:
        raise DatasetError(problems.items, str(folder))
    used = [miss, head] + ([uasc[1]] if uasc else [])
    if uasc:
        children["uasc"] = uasc[0]
    extra = {}
    for column in head.frame.columns:
        if column in hc.values():
            continue
        if keep_identifiers and column in hf.columns:
            extra[column] = pd.concat([hf[column], pd.Series("", index=absent.index)]).tolist()
        else:
            why = IDENTIFYING.get(column.upper(), "not used")
            report.dropped_columns.append({"file": head.source, "column": column,
                                           "why": f"{why}; kept only with --keep-identifiers"})
    children = children.reset_index(drop=True)
    for column, values in extra.items():
        children[column] = values
    if keep_identifiers:
        children["source_child_id"] = children["source"]
    children["child_id"] = pseudo.series("person", children["source"])

    # Episode keys: child, start, type and order among identical keys.
    parts = pd.DataFrame({"c": mf[mc["CHILD"]].map(same_id), "s": format_datetimes(start), "t": ep_type})
    order = parts.groupby(["c", "s", "t"], sort=False).cumcount().astype(str)
    key = parts["c"] + "|" + parts["s"] + "|" + parts["t"] + "|" + order
    episodes = pd.DataFrame({
        "episode_id": pseudo.series("episode", key), "child_id": pseudo.series("person", mf[mc["CHILD"]]),
        "la_code": la_code, "missing_start": format_datetimes(start), "missing_end": format_datetimes(end),
        "episode_type": ep_type, "legal_status": "looked_after", "missing_from": setting,
        "cla_legal_status": on_start["LS"], "cla_placement_type": on_start["PLACE"],
        "cla_placement_provider": on_start["PLACE_PROVIDER"],
    })
    tables = {
        "children": finish_table("children", children, list(extra) + ["source_child_id"]),
        "episodes": finish_table("episodes", episodes, list(rules903.EPISODE_EXTRA) if epi is not None else []),
        "rhis": finish_table("rhis", pd.DataFrame()),
        "rhi_episodes": finish_table("rhi_episodes", pd.DataFrame()),
        "disclosures": finish_table("disclosures", pd.DataFrame()),
    }
    origins = {"children": origins_children, "episodes": [(miss.source, r) for r in miss.rows()]}
    columns_from = {"episodes": {"child_id": mc["CHILD"], "missing_start": mc["MIS_START"],
                                 "missing_end": mc["MIS_END"], "episode_type": mc["MISSING"]},
                    "children": {"sex": hc["SEX"], "date_of_birth": hc["DOB"]}}
    _describe(report, miss, head, uasc, epi)
    used += ([epi.table] if epi is not None else []) + ([last[0]] if last is not None else [])
    report.source_files = [{"file": t.source, "sha256": sha256(t.path), "rows": int(len(t.frame))} for t in used]
    return Imported(tables, origins, report, columns_from)


def _uasc(folder, child_ids, problems, report):
    """UASC.csv, when present: a child listed there was an unaccompanied asylum-seeking child."""
    path = find_file(folder, "UASC", None, "UASC")
    if path is None:
        return None
    table = read_csv(path, "UASC", problems)
    if table is None:
        return None
    column = table.column("CHILD", problems)
    if column is None:
        return None
    listed = set(table.frame[column])
    return child_ids.isin(listed).map({True: "true", False: "false"}).tolist(), table


def _describe(report, miss, head, uasc, epi=None) -> None:
    ms, hs = miss.source, head.source
    report.map("children.child_id", f"{hs}: CHILD (pseudonymised)")
    report.map("children.sex", f"{hs}: SEX (1 -> male, 2 -> female)")
    report.map("children.date_of_birth", f"{hs}: DOB")
    report.map("children.ethnicity", f"{hs}: ETHNIC (DfE code)")
    report.map("episodes.child_id", f"{ms}: CHILD (pseudonymised)")
    report.map("episodes.missing_start", f"{ms}: MIS_START (a date; the return holds no time)")
    report.map("episodes.missing_end", f"{ms}: MIS_END")
    report.map("episodes.episode_type", f"{ms}: MISSING (M -> missing, A -> away)")
    report.derive("episodes.episode_id", "keyed hash of CHILD, MIS_START, MISSING and order among identical rows")
    report.derive("episodes.la_code", "the --la-code given (the return has no local authority column)")
    report.derive("episodes.legal_status", "looked_after: the return covers looked-after children only")
    if uasc:
        report.map("children.uasc", f"{uasc[1].source}: CHILD listed -> true, else false")
    else:
        report.missing("children.uasc", "no UASC.csv in the extract")
    report.missing("episodes.police_risk", "the SSDA903 return holds no police risk grading")
    if epi is not None and epi.location_columns:
        report.derive("episodes.missing_from", f"{epi.source}: PL_LOCATION (IN/OUT), else PL_LA against the "
                      "authority's own DfE code, of the episode of care the missing episode started in -> "
                      "care_in_area or care_out_of_area (blank if neither is recorded)")
    elif epi is not None:
        report.missing("episodes.missing_from", f"{epi.source} has no PL_LOCATION or PL_LA column: in or out of "
                       "area needs the placement's local authority, which the DfE derives from PL_POST with a "
                       "postcode directory this project does not hold")
    if epi is not None:
        es = epi.source
        for column in epi.unused_columns:
            why = "a postcode or a provider's URN" if column.upper() in ("HOME_POST", "PL_POST", "URN") \
                else "not used"
            report.dropped_columns.append({"file": es, "column": column, "why": why})
        report.derive("episodes.cla_legal_status", f"{es}: LS of the episode of care on the missing episode's start")
        report.derive("episodes.cla_placement_type", f"{es}: PLACE of that episode")
        report.derive("episodes.cla_placement_provider", f"{es}: PLACE_PROVIDER of that episode")
    else:
        report.missing("episodes.missing_from", "no Episodes.csv: in or out of area is not in the Missing table")
    report.missing("episodes.found_location", "not in the return")
    report.missing("rhis", "the return holds no return home interviews")
    report.missing("rhi_episodes", "no RHIs to link")
    report.missing("disclosures", "the return holds nothing the child disclosed")
