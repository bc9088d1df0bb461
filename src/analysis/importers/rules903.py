"""The SSDA903 Episodes table, and the DfE's 903 validation rules for missing periods.

The DfE validates every council's 903 return with published rules; those on the
Missing table are applied here with the DfE's rule codes, so that a council sees
the same errors it would see on the DfE's portal, each naming the rule, the
file, the row and the column:

====  ============================================================================
564   MISSING is M or A but MIS_START is blank
565   MIS_START is given but MISSING is blank
567   MIS_END is before MIS_START
570   MIS_START is after the end of the collection year
571   MIS_END is before the start or after the end of the collection year
574   a period starts while the child's previous period is still open, or overlaps it
575   the placement (episode) the period started in has ended, but the period has no end
576   a period open at the end of last year's return does not start this year's periods
577   the child's period of care has ended but the period has no end, or the period
      ends outside every period of care
578   MIS_START is outside every period of care (after the child ceased to be looked after)
581   MIS_START falls in no episode of care (the child was not yet looked after)
586   MIS_START is on or before the child's date of birth
1004  MIS_START is blank or not a valid date
1005  MIS_END is not a valid date
====  ============================================================================

575, 577, 578 and 581 need Episodes.csv; 576 needs last year's Missing table
(``Missing_last.csv``); 570 and 571 need the collection year (April to March),
which ``--collection-year`` gives, else the year holding the latest date of the
return. The rules follow the definitions of the sector's open validator
(data-to-insight's csc-validator-be-903), written anew for this project.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import Problems
from analysis.importers.common import SourceTable, codes, dates, find_file, read_csv

LEGAL_STATUS = ("C1", "C2", "D1", "E1", "J1", "J2", "J3", "L1", "L2", "L3", "V2", "V3", "V4")
PLACEMENT = ("A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3", "R1", "R2", "R3", "R5", "S1",
             "T0", "T1", "T2", "T3", "T4", "U1", "U2", "U3", "U4", "U5", "U6", "Z1")
PROVIDERS = ("PR0", "PR1", "PR2", "PR3", "PR4", "PR5")
LOCATIONS = {"IN": "care_in_area", "OUT": "care_out_of_area"}
EPISODE_EXTRA = ("cla_legal_status", "cla_placement_type", "cla_placement_provider")
DMY = "a date as dd/mm/yyyy"


def rule(code: str, text: str) -> str:
    return f"[DfE 903 rule {code}] {text}"


@dataclass
class Episodes:
    """The Episodes table as read, with its dates parsed and codes checked."""

    table: SourceTable
    frame: pd.DataFrame       # CHILD, DECOM, DEC, LS, PLACE, PLACE_PROVIDER, PL_LA, PL_LOCATION, row
    location_columns: tuple = ()   # PL_LOCATION and/or PL_LA as the file names them, when it has them
    unused_columns: tuple = ()

    @property
    def source(self) -> str:
        return self.table.source

    @property
    def path(self) -> Path:
        return self.table.path


@dataclass
class Year:
    start: pd.Timestamp
    end: pd.Timestamp
    basis: str

    @property
    def label(self) -> str:
        return f"{self.start:%d/%m/%Y} to {self.end:%d/%m/%Y}"


def read_episodes(folder: Path, problems: Problems) -> Episodes | None:
    """Episodes.csv if present: required columns, dates and codes checked (file, row, column named)."""
    path = find_file(folder, "Episodes", None, "Episodes")
    if path is None:
        return None
    table = read_csv(path, "Episodes", problems)
    if table is None:
        return None
    cols = {k: table.column(k, problems if k in ("CHILD", "DECOM", "LS", "PLACE") else None)
            for k in ("CHILD", "DECOM", "DEC", "LS", "PLACE", "PLACE_PROVIDER", "PL_LA", "PL_LOCATION")}
    if problems:
        return None
    f = table.frame
    for label in f.index[f[cols["CHILD"]] == ""]:
        problems.add(table.name, table.source, table.row(label), cols["CHILD"], "", "a child id (this column is required)")
    decom = dates(table, cols["DECOM"], problems, required=True, expected=DMY)
    dec = dates(table, cols["DEC"], problems, expected=f"{DMY} (or blank while the episode continues)") \
        if cols["DEC"] else pd.Series(pd.NaT, index=f.index)
    ls = codes(table, cols["LS"], {c: c for c in LEGAL_STATUS}, problems, required=True,
               expected="a legal status code of the 903 (" + ", ".join(LEGAL_STATUS) + ")")
    place = codes(table, cols["PLACE"], {c: c for c in PLACEMENT}, problems, required=True,
                  expected="a placement type code of the 903 (" + ", ".join(PLACEMENT) + ")")
    provider = codes(table, cols["PLACE_PROVIDER"], {c: c for c in PROVIDERS}, problems,
                     expected="a placement provider code (PR0 to PR5) or blank") \
        if cols["PLACE_PROVIDER"] else pd.Series("", index=f.index)
    location = codes(table, cols["PL_LOCATION"], {"IN": "IN", "OUT": "OUT"}, problems,
                     expected="IN or OUT (placed inside or outside the authority) or blank") \
        if cols["PL_LOCATION"] else pd.Series("", index=f.index)
    for label in f.index[(dec.notna()) & (decom.notna()) & (dec < decom)]:
        problems.add(table.name, table.source, table.row(label), cols["DEC"], f.at[label, cols["DEC"]],
                     f"a date on or after DECOM ({f.at[label, cols['DECOM']]})")
    frame = pd.DataFrame({
        "CHILD": f[cols["CHILD"]], "DECOM": decom, "DEC": dec, "LS": ls.str.upper(), "PLACE": place.str.upper(),
        "PLACE_PROVIDER": provider.str.upper(), "PL_LA": f[cols["PL_LA"]] if cols["PL_LA"] else "",
        "PL_LOCATION": location.str.upper(), "row": table.rows(),
    })
    used = {c for c in cols.values() if c}
    location = tuple(c for c in (cols["PL_LOCATION"], cols["PL_LA"]) if c)
    return Episodes(table, frame, location, tuple(c for c in f.columns if c not in used))


def read_missing_last(folder: Path, problems: Problems) -> tuple[SourceTable, pd.DataFrame] | None:
    """Last year's Missing table (Missing_last.csv), for rule 576."""
    path = find_file(folder, ["Missing_last", "Missing_previous"], None, "Missing_last")
    if path is None:
        return None
    table = read_csv(path, "Missing_last", problems)
    if table is None:
        return None
    cols = {k: table.column(k, problems if k != "MIS_END" else None) for k in ("CHILD", "MIS_START", "MIS_END")}
    if problems:
        return None
    start = dates(table, cols["MIS_START"], problems, required=True, expected=DMY)
    end = dates(table, cols["MIS_END"], problems, expected=DMY) if cols["MIS_END"] \
        else pd.Series(pd.NaT, index=table.frame.index)
    frame = pd.DataFrame({"CHILD": table.frame[cols["CHILD"]], "MIS_START": start, "MIS_END": end,
                          "row": table.rows(), "end_column": cols["MIS_END"] or "MIS_END"})
    return table, frame


def parse_year(text: str) -> pd.Timestamp:
    """'2024' or '2023-24' or '2023/24' -> 31 March 2024 (the end of the collection year)."""
    import re

    text = str(text).strip()
    m = re.fullmatch(r"(\d{4})", text)
    if m:
        return pd.Timestamp(int(m.group(1)), 3, 31)
    m = re.fullmatch(r"(\d{4})\s*[-/]\s*(\d{2}|\d{4})", text)
    if m and (int(m.group(2)) % 100) == (int(m.group(1)) + 1) % 100:
        return pd.Timestamp(int(m.group(1)) + 1, 3, 31)
    raise ValueError(f"--collection-year {text!r}: expected the year the return ends in, e.g. 2024 or 2023-24")


def collection_year(given, epi: Episodes | None, start: pd.Series, end: pd.Series) -> Year:
    """The collection year: as given, else the April-March year holding the latest date of the return."""
    if given:
        last = parse_year(given)
        basis = "as given by --collection-year"
    else:
        candidates = [s.max() for s in (start, end) if s.notna().any()]
        if epi is not None:
            candidates += [s.max() for s in (epi.frame["DECOM"], epi.frame["DEC"]) if s.notna().any()]
        latest = max(candidates) if candidates else pd.Timestamp.today().normalize()
        last = pd.Timestamp(latest.year + (1 if latest.month >= 4 else 0), 3, 31)
        basis = "the year holding the return's latest date; give --collection-year to set it"
    return Year(pd.Timestamp(last.year - 1, 4, 1), last, basis)


def RULES_APPLIED(epi, last) -> list[str]:  # noqa: N802 - a list of rule codes, read as a constant
    codes_ = ["564", "565", "567", "570", "571", "574", "586", "1004", "1005"]
    if epi is not None:
        codes_ += ["575", "577", "578", "581"]
    if last is not None:
        codes_ += ["576"]
    return sorted(codes_, key=int)


def check_missing(miss: SourceTable, mc: dict, start: pd.Series, end: pd.Series, miss_dob: pd.Series,
                  dob_by_child: dict, epi: Episodes | None, last, year: Year, problems: Problems) -> None:
    """Apply the DfE's rules for missing periods to the Missing table (rows as the file numbers them)."""
    f = miss.frame
    child = f[mc["CHILD"]]
    code = f[mc["MISSING"]].str.strip().str.upper()
    start_text = f[mc["MIS_START"]]
    end_col = mc["MIS_END"]
    end_text = f[end_col] if end_col else pd.Series("", index=f.index)
    end_name = end_col or "MIS_END"

    def add(label, column, value, code_, text):
        problems.add(miss.name, miss.source, miss.row(label), column, value, rule(code_, text))

    ok_start = start.notna()
    for label in f.index[(start_text == "") | ((start_text != "") & start.isna())]:
        add(label, mc["MIS_START"], start_text[label], "1004", "a valid start date (dd/mm/yyyy)")
    for label in f.index[(end_text != "") & end.isna()]:
        add(label, end_name, end_text[label], "1005", "a valid end date (dd/mm/yyyy) or blank")
    for label in f.index[code.isin(["M", "A"]) & (start_text == "")]:
        add(label, mc["MIS_START"], "", "564", "the date the period started, because MISSING is "
            f"{f.at[label, mc['MISSING']]!r}")
    for label in f.index[(start_text != "") & (code == "")]:
        add(label, mc["MISSING"], "", "565", "M (missing) or A (away without authorisation): MIS_START is given")
    for label in f.index[ok_start & end.notna() & (end < start)]:
        add(label, end_name, end_text[label], "567", f"an end on or after the start ({start_text[label]})")
    for label in f.index[ok_start & (start > year.end)]:
        add(label, mc["MIS_START"], start_text[label], "570",
            f"a start on or before the end of the collection year ({year.end:%d/%m/%Y})")
    for label in f.index[end.notna() & ((end < year.start) | (end > year.end))]:
        add(label, end_name, end_text[label], "571", f"an end within the collection year ({year.label})")
    dob = miss_dob.copy()
    from_header = child.map(dob_by_child)
    dob = dob.where(dob.notna(), pd.to_datetime(from_header, errors="coerce"))
    for label in f.index[ok_start & dob.notna() & (start <= dob)]:
        add(label, mc["MIS_START"], start_text[label], "586", "a start after the child's date of birth")
    _overlaps(f, child, start, end, add, mc, end_name)
    if epi is not None:
        _against_episodes(f, child, start, end, epi, add, mc, end_name, end_text)
    if last is not None:
        _against_last_year(f, child, start, last, add, mc, problems)


def _overlaps(f, child, start, end, add, mc, end_name) -> None:
    """574: sorted by child, end (an open period sorted at its start) and start; each against the one before."""
    order = pd.DataFrame({"c": child, "s": start, "e": end, "fill": end.where(end.notna(), start)})
    order = order[order["s"].notna()].sort_values(["c", "fill", "s"], kind="mergesort")
    previous = None
    for label, row in order.iterrows():
        if previous is not None and previous["c"] == row["c"]:
            if pd.isna(previous["e"]):
                add(label, mc["MIS_START"], f.at[label, mc["MIS_START"]], "574",
                    f"no new period while the previous one (from {f.at[previous.name, mc['MIS_START']]}) is still open")
            elif row["s"] < previous["e"]:
                add(label, mc["MIS_START"], f.at[label, mc["MIS_START"]], "574",
                    f"a start on or after the end of the previous period ({f.at[previous.name, end_name]})")
        previous = row


def periods_of_care(epi: Episodes) -> pd.DataFrame:
    """Episodes joined into periods of care: a new period when the child changes or an episode starts after
    the previous one ended. Columns CHILD, DECOM (first), DEC (of the last episode, blank if open)."""
    e = epi.frame[epi.frame["DECOM"].notna()].sort_values(["CHILD", "DECOM"], kind="mergesort")
    rows, current = [], None
    for r in e.itertuples(index=False):
        if current is not None and current["CHILD"] == r.CHILD and not (pd.notna(current["DEC"]) and r.DECOM > current["DEC"]):
            current["DEC"] = r.DEC
            continue
        if current is not None:
            rows.append(current)
        current = {"CHILD": r.CHILD, "DECOM": r.DECOM, "DEC": r.DEC}
    if current is not None:
        rows.append(current)
    return pd.DataFrame(rows, columns=["CHILD", "DECOM", "DEC"])


def _against_episodes(f, child, start, end, epi: Episodes, add, mc, end_name, end_text) -> None:
    e = epi.frame
    by_child = {c: g for c, g in e.groupby("CHILD")}
    pocs = {c: g for c, g in periods_of_care(epi).groupby("CHILD")}
    for label in f.index[start.notna()]:
        c, s, t = child[label], start[label], end[label]
        eps = by_child.get(c)
        if eps is None:
            continue
        # 575: an open period whose placement (an episode it started in) has ended.
        if pd.isna(t) and ((eps["DECOM"] <= s) & (eps["DEC"] >= s) & eps["DEC"].notna()).any():
            add(label, end_name, "", "575", "an end date: the placement the child went missing from has ended")
        # 581: the start falls in no episode of care.
        inside = (eps["DECOM"] <= s) & ((eps["DEC"] >= s) | eps["DEC"].isna())
        if not inside.any():
            add(label, mc["MIS_START"], f.at[label, mc["MIS_START"]], "581",
                "a start within an episode of care (the child was not looked after on this date)")
        periods = pocs.get(c)
        if periods is None or periods.empty:
            continue
        # 578: the start is outside every period of care.
        outside = (s < periods["DECOM"]) | (periods["DEC"].notna() & (s > periods["DEC"]))
        if outside.all():
            add(label, mc["MIS_START"], f.at[label, mc["MIS_START"]], "578",
                "a start within a period of care (not after the child ceased to be looked after)")
        # 577: open while the period of care has ended, or ending outside every period of care.
        if pd.isna(t):
            out = periods["DEC"].notna() | (s < periods["DECOM"])
        else:
            out = (periods["DEC"].notna() & (t > periods["DEC"])) | (t < periods["DECOM"])
        if out.all():
            add(label, end_name, end_text[label], "577",
                "an end date within the period of care (the child ceased to be looked after"
                + (" and this period has no end)" if pd.isna(t) else " before this end)"))


def _against_last_year(f, child, start, last, add, mc, problems) -> None:
    """576: a period open at the end of last year must be the first period of this year, same start."""
    table, prev = last
    open_last = prev[prev["MIS_START"].notna() & prev["MIS_END"].isna()]
    first = pd.DataFrame({"c": child, "s": start}).dropna(subset=["s"]).sort_values(["c", "s"], kind="mergesort")
    first = first[~first["c"].duplicated(keep="first")]
    first_of = dict(zip(first["c"], zip(first.index, first["s"])))
    for r in open_last.itertuples(index=False):
        if r.CHILD in first_of:
            label, s = first_of[r.CHILD]
            if s != r.MIS_START:
                add(label, mc["MIS_START"], f.at[label, mc["MIS_START"]], "576",
                    f"this child's first period to be the one open at the end of last year's return (started "
                    f"{r.MIS_START:%d/%m/%Y}, {table.source} row {r.row})")
        elif r.CHILD in set(child):
            continue
        else:
            problems.add(table.name, table.source, r.row, r.end_column, "",
                         rule("576", "this open period to be continued in this year's Missing table "
                                     "(the child has no period this year)"))


def episode_on(child: pd.Series, start: pd.Series, epi: Episodes | None) -> pd.DataFrame:
    """The episode of care each missing episode started in (the latest started, if several); blank if none."""
    cols = ["LS", "PLACE", "PLACE_PROVIDER", "PL_LA", "PL_LOCATION"]
    out = pd.DataFrame("", index=child.index, columns=cols, dtype=object)
    if epi is None:
        return out
    by_child = {c: g.sort_values("DECOM", kind="mergesort") for c, g in epi.frame.groupby("CHILD")}
    for label in child.index:
        eps = by_child.get(child[label])
        s = start[label]
        if eps is None or pd.isna(s):
            continue
        inside = eps[(eps["DECOM"] <= s) & (eps["DEC"].isna() | (s < eps["DEC"]))]
        if inside.empty:   # started on the day an episode ended (and no other began)
            inside = eps[(eps["DECOM"] <= s) & (s <= eps["DEC"])]
        if not inside.empty:
            out.loc[label, cols] = inside.iloc[-1][cols].astype(str).values
    return out


def setting(on_start: pd.DataFrame, la_code: str) -> pd.Series:
    """care_in_area / care_out_of_area from PL_LOCATION, else PL_LA against the authority's DfE code."""
    own = _own_codes(la_code)
    by_location = on_start["PL_LOCATION"].map(LOCATIONS)
    pl_la = on_start["PL_LA"].str.strip().str.upper()
    by_la = pd.Series(pd.NA, index=on_start.index, dtype=object)
    known = pl_la != ""
    by_la[known] = pl_la[known].map(lambda v: "care_in_area" if v in own else "care_out_of_area")
    return by_location.where(by_location.notna(), by_la).fillna("").astype(object)


def _own_codes(la_code: str) -> set[str]:
    """The authority's codes as a 903 writes PL_LA: its GSS code and its old three-digit DfE code."""
    codes_ = {la_code.upper()}
    try:
        from analysis.reference.dfe import load_dfe

        frame = load_dfe()
        rows = frame[(frame["la_code"] == la_code) | (frame["la_code_latest"] == la_code)]
        codes_ |= {c for c in rows["la_code_old"] if c}
    except (OSError, ValueError, KeyError):  # the DfE file is optional here: PL_LOCATION usually answers
        pass
    return codes_
