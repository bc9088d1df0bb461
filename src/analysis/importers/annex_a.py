"""Import Ofsted's Annex A, List 8 (children looked after), as councils send the workbook.

The workbook is the inspection request's template filled in by the council: one
sheet per list ("List 1" ... "List 11"), each with title or guidance rows above
a header row, headers sometimes merged across rows, columns sometimes hidden.
Only List 8 is read. Its header row is found by its column names (the wording
of the Ofsted template, matched on key words so that the small changes between
years and councils do not matter); coded answers are read as the template
writes them ("a) Yes", "b) Female", "C2: FCO", "f) U6: Foster placement - not
FFA") or as plain codes or words.

List 8 holds one row per child looked after in the 12 months before the
workbook was made, with the number of missing and of absent episodes in those
12 months and whether a return interview was offered and accepted after the
last missing episode. It holds no episode dates, no police risk grading and
nothing the child said, so the import writes the children table and the
optional ``annex_a_children`` table (docs/data-contract.md); episodes, RHIs
and disclosures are empty and the import report says why.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from analysis import vocab
from analysis.errors import DatasetError, Problems
from analysis.importers.common import SourceTable, bounded, format_dates, sha256
from analysis.importers.output import Imported, finish_table
from analysis.importers.pseudonymise import Pseudonymiser
from analysis.importers.report import ImportReport
from analysis.limits import MAX_ANNEX_A_BYTES, MAX_CELLS, MAX_COLUMNS, MAX_ROWS, too_many, workbook_too_large

TABLE = "annex_a_children"
COLUMNS = ("child_id", "la_code", "period_start", "period_end", "age", "age_band", "sex", "uasc",
           "legal_status", "legal_status_group", "placement_type", "placement_group", "placement_provider",
           "placement_location", "missing_episodes", "absent_episodes", "rhi_offered", "rhi_accepted")
HEADER_SCAN_ROWS = 30

# --- columns: canonical name -> (test on the normalised header, required, what it is) ---------------


def _has(*words):
    return lambda h: all(w in h for w in words)


def _not(test, *words):
    return lambda h: test(h) and not any(w in h for w in words)


def _count_of(h: str, word: str) -> bool:
    """A column counting missing (or absent) episodes: 'Number of Episodes ... Missing ...', 'Times missing ...'."""
    stem, other = ("missing", "absen") if word == "missing" else ("absen", "missing")   # absent, absences
    return (stem in h and other not in h and "interview" not in h
            and any(w in h for w in ("episode", "number", "times", "how many", "no. of", "count")))


FIELDS = {
    "child_id": (lambda h: h in ("child unique id", "child id", "unique id", "child unique identifier")
                 or h.startswith("child unique id"), True, "Child Unique ID"),
    "sex": (lambda h: h in ("gender", "sex") or h.startswith("gender"), True, "Gender"),
    "date_of_birth": (_has("date of birth"), True, "Date of Birth"),
    "uasc": (lambda h: "uasc" in h or "unaccompanied asylum" in h, False,
             "Unaccompanied Asylum Seeking Child (UASC) within the Last 12 Months (Y/N)"),
    "legal_status": (_not(_has("legal status"), "date"), True, "Child's Legal Status"),
    "date_ceased": (_has("date ceased to be looked after"), False, "Date Ceased to be Looked After"),
    "placement_type": (_has("placement type"), True, "Placement Type"),
    "placement_provider": (_has("placement provider"), False, "Placement Provider"),
    "placement_location": (_has("placement location"), False, "Placement Location"),
    "la_of_placement": (_has("la of placement"), False, "LA of Placement"),
    "missing_episodes": (lambda h: _count_of(h, "missing"), True,
                         "Number of Episodes the Child has been 'Missing' from their Placement in the last 12 months"),
    "absent_episodes": (lambda h: _count_of(h, "absent"), True,
                        "Number of Episodes the Child has been 'Absent' from their Placement in the last 12 months"),
    "rhi_offered": (lambda h: "offer" in h and "interview" in h, True,
                    "Was the child offered a Return Interview after their last missing episode (Y/N)?"),
    "rhi_accepted": (lambda h: "accept" in h and "interview" in h, True,
                     "Did the child accept a Return Interview after their last missing episode (Y/N)?"),
}
DATE_FIELDS = ("date_of_birth", "date_ceased")
# Columns that identify a child or a worker: never written unless --keep-identifiers.
IDENTIFYING = ("placement postcode", "allocated worker", "urn of placement", "allocated team")

# --- coded answers -------------------------------------------------------------------------------

SEX = {"male": "male", "m": "male", "female": "female", "f": "female", "not stated/recorded": "unknown",
       "not stated": "unknown", "not recorded": "unknown", "unknown": "unknown", "indeterminate": "unknown",
       "neither": "other", "other": "other", "1": "male", "2": "female"}
SEX_LETTER = {"a": "male", "b": "female", "c": "unknown", "d": "other"}
YES_NO = {"yes": "true", "y": "true", "true": "true", "1": "true", "no": "false", "n": "false", "false": "false",
          "0": "false", "unknown": "", "not known": "", "n/a": "", "not applicable": ""}
YES_NO_LETTER = {"a": "true", "b": "false", "c": ""}
LEGAL_STATUS = {  # 903 codes, as the template lists them
    "C1": "interim care order", "C2": "full care order", "D1": "freeing order", "E1": "placement order",
    "J1": "remanded to LA or youth detention", "J2": "LA accommodation under PACE",
    "J3": "youth rehabilitation order", "L1": "police protection", "L2": "emergency protection order",
    "L3": "child assessment order", "V2": "single period under section 20",
    "V3": "short-term breaks, episodes recorded", "V4": "short-term breaks, agreements recorded",
}
LEGAL_STATUS_WORDS = (  # words a council may write instead of the code, most specific first
    ("placement order", "E1"), ("interim care order", "C1"), ("full care order", "C2"), ("freeing order", "D1"),
    ("section 20", "V2"), ("s20", "V2"), ("single period", "V2"), ("police protection", "L1"),
    ("emergency protection", "L2"), ("child assessment", "L3"), ("remand", "J1"), ("pace", "J2"),
    ("youth rehabilitation", "J3"), ("episodes recorded", "V3"), ("agreements recorded", "V4"),
)
# Groups for breakdowns: few enough that a mid-sized authority's counts are not all suppressed.
LEGAL_STATUS_GROUP = {"C1": "care order", "C2": "care order", "V2": "section 20"}
LEGAL_STATUS_GROUP.update({c: "other legal status" for c in ("D1", "E1", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3")})
PLACEMENT = {c: "foster care" for c in ("U1", "U2", "U3", "U4", "U5", "U6")}
PLACEMENT.update({c: "children's homes" for c in ("K1", "K2", "R1")})
PLACEMENT.update({c: "independent or semi-independent living" for c in ("P2", "H5")})
PLACEMENT.update({c: "other placements" for c in ("A3", "A4", "A5", "A6", "P1", "P3", "R2", "R3", "R5", "S1", "Z1",
                                                   "T0", "T1", "T2", "T3", "T4")})
PLACEMENT_WORDS = (
    ("placed with parents", "P1"), ("secure children", "K1"), ("children's home", "K2"), ("childrens home", "K2"),
    ("semi-independent", "H5"), ("semi independent", "H5"), ("independent living", "P2"),
    ("young offender", "R5"), ("residential school", "S1"), ("mother and baby", "R3"), ("family centre", "R3"),
    ("nhs", "R2"), ("residential care home", "R1"), ("residential employment", "P3"),
)
PROVIDERS = {"PR0": "parents or parental responsibility", "PR1": "own provision", "PR2": "other LA provision",
             "PR3": "other public provision", "PR4": "private provision", "PR5": "voluntary or third sector"}
LOCATION = {"in": "in", "inside": "in", "in la": "in", "in area": "in", "within": "in", "out": "out",
            "outside": "out", "out of la": "out", "out of area": "out"}
LOCATION_LETTER = {"a": "in", "b": "out"}
LETTER = re.compile(r"^\(?([a-z]{1,2})\)\s*(.*)$")
CODE = re.compile(r"^\s*(?:\(?[a-z]{1,2}\)\s*)?([A-Z]{1,2}\d{1,2})\b", re.IGNORECASE)


def normalise_header(value) -> str:
    text = str(value or "").replace("\u2018", "'").replace("\u2019", "'").replace("\u00a0", " ")
    text = " ".join(text.lower().split())
    return text.strip(" ?:*.")


# --- reading the workbook ------------------------------------------------------------------------


def import_annex_a(source: Path, la_code: str | None, pseudo: Pseudonymiser, keep_identifiers: bool) -> Imported:
    source = Path(source)
    problems = Problems()
    report = ImportReport("annex-a", la_code=la_code)
    table, hidden = read_list8(source, problems)
    if problems:
        raise DatasetError(problems.items, str(source))
    cols = _find_columns(table, problems)
    if problems:
        raise DatasetError(problems.items, str(source))
    # Rows between the header and the first child with no child id: the template's guidance rows.
    ids = table.frame[cols["child_id"]]
    first = ids.index[ids != ""]
    leading = ids.index[ids.index < first[0]] if len(first) else ids.index[:0]
    if len(leading):
        report.warn(f"{table.source}: row(s) {', '.join(str(table.row(i)) for i in leading)} under the header have "
                    "no Child Unique ID and were read as guidance, not children")
        table = SourceTable(table.name, table.source, table.path, table.frame.drop(index=leading), table.first_row)
    f = table.frame
    values = {}
    for name in ("child_id",):
        for label in f.index[f[cols[name]] == ""]:
            problems.add(table.name, table.source, table.row(label), cols[name], "",
                         "a child id (this column is required)")
    repeated = f[cols["child_id"]].duplicated(keep="first") & (f[cols["child_id"]] != "")
    for label in f.index[repeated]:
        problems.add(table.name, table.source, table.row(label), cols["child_id"], f.at[label, cols["child_id"]],
                     "one row per child (this Child Unique ID is on an earlier row)")
    for name in DATE_FIELDS:
        if cols.get(name):
            values[name] = _dates(table, cols[name], problems, required=name == "date_of_birth")
    values["sex"] = _coded(table, cols["sex"], problems, _sex, "a) Male, b) Female, c) Not stated/recorded or "
                           "d) Neither (or Male, Female, M, F)", required=True)
    for name in ("uasc", "rhi_offered", "rhi_accepted"):
        if cols.get(name):
            values[name] = _coded(table, cols[name], problems, _yes_no, "a) Yes, b) No or c) Unknown (or Y, N)")
    values["legal_status"] = _coded(table, cols["legal_status"], problems, _legal_status,
                                    "a legal status code as the template writes it, e.g. 'C2: FCO' or "
                                    "'V2: Single period under S20' (codes " + ", ".join(LEGAL_STATUS) + ")")
    values["placement_type"] = _coded(table, cols["placement_type"], problems, _placement,
                                      "a placement type as the template writes it, e.g. 'f) U6: Foster placement "
                                      "- not FFA' (codes " + ", ".join(PLACEMENT) + ")")
    if cols.get("placement_provider"):
        values["placement_provider"] = _coded(table, cols["placement_provider"], problems, _provider,
                                              "a provider code such as 'b) PR1: Own provision' (PR0 to PR5)")
    if cols.get("placement_location"):
        values["placement_location"] = _coded(table, cols["placement_location"], problems, _location,
                                              "a) In or b) Out (the authority's own area or not)")
    for name in ("missing_episodes", "absent_episodes"):
        values[name] = _counts(table, cols[name], problems)
    _consistency(table, cols, values, problems)
    if problems:
        raise DatasetError(problems.items, str(source))

    period_start, period_end, basis = _period(values, table)
    report.warn(f"The 12 months List 8 covers: {period_start} to {period_end} ({basis}).")
    dob = values["date_of_birth"]
    at = values["date_ceased"].where(values["date_ceased"].notna() & (values["date_ceased"] < pd.Timestamp(period_end)),
                                     pd.Timestamp(period_end)) if "date_ceased" in values else pd.Series(
        pd.Timestamp(period_end), index=f.index)
    age = ((at.dt.year - dob.dt.year) - ((at.dt.month * 100 + at.dt.day) < (dob.dt.month * 100 + dob.dt.day))
           ).astype("Int64")
    ids = f[cols["child_id"]]
    child_id = pseudo.series("person", ids)
    out = pd.DataFrame({
        "child_id": child_id, "la_code": la_code or "", "period_start": period_start, "period_end": period_end,
        "age": age.astype(str).replace("<NA>", ""), "age_band": age.map(age_band).fillna(""),
        "sex": values["sex"], "uasc": values.get("uasc", ""),
        "legal_status": values["legal_status"], "legal_status_group": values["legal_status"].map(LEGAL_STATUS_GROUP).fillna(""),
        "placement_type": values["placement_type"],
        "placement_group": values["placement_type"].map(PLACEMENT).fillna(""),
        "placement_provider": values.get("placement_provider", ""),
        "placement_location": values.get("placement_location", ""),
        "missing_episodes": values["missing_episodes"], "absent_episodes": values["absent_episodes"],
        "rhi_offered": values["rhi_offered"], "rhi_accepted": values["rhi_accepted"],
    })
    children = pd.DataFrame({"child_id": child_id, "sex": values["sex"], "date_of_birth": format_dates(dob),
                             "uasc": values.get("uasc", "")})
    extra = []
    for column in f.columns:
        if column in cols.values():
            continue
        if keep_identifiers:
            children[column] = f[column]
            extra.append(column)
        else:
            why = "identifies a child, carer or worker" if any(w in normalise_header(column) for w in IDENTIFYING) \
                else "not used"
            report.dropped_columns.append({"file": table.source, "column": column,
                                           "why": f"{why}; kept only with --keep-identifiers"})
    if keep_identifiers:
        children["source_child_id"] = ids
        extra.append("source_child_id")
    if hidden:
        report.warn(f"{table.source}: hidden column(s) read like the others: {', '.join(hidden)}")
    tables = {
        "children": finish_table("children", children, extra),
        "episodes": finish_table("episodes", pd.DataFrame()),
        "rhis": finish_table("rhis", pd.DataFrame()),
        "rhi_episodes": finish_table("rhi_episodes", pd.DataFrame()),
        "disclosures": finish_table("disclosures", pd.DataFrame()),
        TABLE: out.reset_index(drop=True)[list(COLUMNS)].fillna("").astype(str),
    }
    origins = {"children": [(table.source, r) for r in table.rows()], TABLE: [(table.source, r) for r in table.rows()]}
    columns_from = {"children": {"sex": cols["sex"], "date_of_birth": cols["date_of_birth"]}}
    _describe(report, table, cols, la_code)
    report.source_files = [{"file": source.name, "sha256": sha256(source), "rows": int(len(f))}]
    return Imported(tables, origins, report, columns_from)


def read_list8(path: Path, problems: Problems) -> tuple[SourceTable | None, list[str]]:
    """List 8 as text cells with sheet row numbers; the header row found by its column names."""
    import zipfile

    import openpyxl

    if path.suffix.lower() == ".xls":
        problems.add("annex_a", path.name, None, None, None,
                     "an .xlsx workbook (this is an old .xls: open it in Excel and save it as .xlsx)")
        return None, []
    beyond = workbook_too_large(path, MAX_ANNEX_A_BYTES)
    if beyond:
        problems.add("annex_a", path.name, None, None, None, beyond)
        return None, []
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        problems.add("annex_a", path.name, None, None, None,
                     f"an .xlsx workbook that opens (it could not be read: {type(exc).__name__}; a password-"
                     "protected workbook must be saved without its password)")
        return None, []
    sheets = [ws for ws in wb.worksheets if re.fullmatch(r"(list|l)\s*0?8\b.*", ws.title.strip(), re.IGNORECASE)]
    if not sheets:
        problems.add("annex_a", path.name, None, None, None,
                     f"a sheet named 'List 8' (children looked after); the workbook has: "
                     f"{', '.join(repr(ws.title) for ws in wb.worksheets)}")
        return None, []
    if len(sheets) > 1:
        problems.add("annex_a", path.name, None, None, None,
                     f"one List 8 sheet (found {', '.join(repr(ws.title) for ws in sheets)})")
        return None, []
    ws = sheets[0]
    source = f"{path.name}, sheet {ws.title}"
    if ws.sheet_state != "visible":
        problems.add("annex_a", source, None, None, None,
                     "a visible sheet (List 8 is hidden: unhide it, or remove it if it is not the current list)")
        return None, []
    size = ws.max_row * ws.max_column  # the cells iter_rows would visit (exact in openpyxl's full mode)
    beyond = (too_many("columns", ws.max_column, MAX_COLUMNS) if ws.max_column > MAX_COLUMNS else
              too_many("rows", ws.max_row, MAX_ROWS) if ws.max_row > MAX_ROWS else
              too_many("cells", size, MAX_CELLS) if size > MAX_CELLS else None)
    if beyond:
        problems.add("annex_a", source, None, None, None, beyond + " (the last cell holding anything is "
                     f"{_letter(ws.max_column)}{ws.max_row})")
        return None, []
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    merged = {}  # merged cells name the header: only those in the rows searched for it matter
    for rng in ws.merged_cells.ranges:
        top_left = ws.cell(rng.min_row, rng.min_col).value
        for r in range(rng.min_row, min(rng.max_row, HEADER_SCAN_ROWS) + 1):
            for c in range(rng.min_col, min(rng.max_col, ws.max_column) + 1):
                merged[(r, c)] = top_left
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        names = [normalise_header(merged.get((i + 1, j + 1), v) if v is None else v) for j, v in enumerate(row)]
        score = sum(any(test(n) for test, _, _ in FIELDS.values()) for n in names if n)
        if score > best_score:
            best, best_score = i, score
    if best is None or best_score < 3:
        problems.add("annex_a", source, None, None, None,
                     f"a header row naming List 8's columns (Child Unique ID, Gender, Child's Legal Status, ...) "
                     f"in the first {HEADER_SCAN_ROWS} rows")
        return None, []
    header_row = best + 1
    header, seen = [], {}
    for j, v in enumerate(rows[best]):
        v = merged.get((header_row, j + 1), v) if v is None else v
        name = " ".join(str(v).split()) if v not in (None, "") else ""
        if name in seen:
            name = f"{name} ({seen[name] + 1})"
        seen[name] = seen.get(name, 0) + 1
        header.append(name)
    width = len(header)
    body = [[_text(c) for c in (r + [None] * width)[:width]] for r in rows[best + 1:]]
    frame = pd.DataFrame(body, columns=[h or f"(blank header, column {_letter(j + 1)})" for j, h in enumerate(header)])
    blank_named = [c for c in frame.columns if c.startswith("(blank header")]
    for c in blank_named:
        filled = frame.index[frame[c] != ""]
        for label in filled[:1]:
            problems.add("annex_a", source, int(label) + header_row + 1, c, frame.at[label, c],
                         "values only under a named column (the header cell is blank)")
        frame = frame.drop(columns=c)
    frame = frame[~(frame == "").all(axis=1)] if len(frame.columns) else frame
    hidden_numbers = set()
    for dim in ws.column_dimensions.values():   # a hidden range is stored once, on its first column
        if dim.hidden and dim.min:
            hidden_numbers.update(range(dim.min, (dim.max or dim.min) + 1))
    hidden = [header[j] for j in range(width) if header[j] and j + 1 in hidden_numbers]
    table = bounded(SourceTable("annex_a", source, path, frame, first_row=header_row + 1), problems)
    return table, (hidden if table is not None else [])


def _letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).replace("\u00a0", " ").split())


def _find_columns(table: SourceTable, problems: Problems) -> dict:
    cols: dict = {}
    normalised = {c: normalise_header(c) for c in table.frame.columns}
    for name, (test, required, shown) in FIELDS.items():
        found = [c for c, n in normalised.items() if test(n)]
        if len(found) > 1:
            problems.add(table.name, table.source, table.first_row - 1, found[1], None,
                         f"one column for {shown!r} (also {found[0]!r})")
        elif found:
            cols[name] = found[0]
        elif required:
            problems.add(table.name, table.source, table.first_row - 1, shown, None,
                         f"a column named like {shown!r} in the header row (List 8 of the Ofsted template)")
    return cols


# --- cells ---------------------------------------------------------------------------------------

EXCEL_EPOCH = datetime(1899, 12, 30)


def parse_date(text: str):
    """A date as Excel stores it (ISO from a date cell, or a serial number) or as typed (dd/mm/yyyy)."""
    if text == "":
        return pd.NaT
    if re.fullmatch(r"\d{4,5}(\.\d+)?", text):
        serial = float(text)
        if 1 <= serial < 80000:
            return pd.Timestamp(EXCEL_EPOCH + timedelta(days=int(serial)))
        return None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y %H:%M"):
        try:
            return pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _dates(table, column, problems, required=False) -> pd.Series:
    out = {}
    for label, text in table.frame[column].items():
        value = parse_date(text)
        if value is None:
            problems.add(table.name, table.source, table.row(label), column, text,
                         "a date (an Excel date, or dd/mm/yyyy)")
            value = pd.NaT
        elif required and text == "":
            problems.add(table.name, table.source, table.row(label), column, "",
                         "a date (this column is required): an Excel date, or dd/mm/yyyy")
        out[label] = value
    return pd.Series(out, index=table.frame.index, dtype="datetime64[ns]")


def _coded(table, column, problems, reader, expected, required=False) -> pd.Series:
    out = {}
    for label, text in table.frame[column].items():
        if text == "":
            if required:
                problems.add(table.name, table.source, table.row(label), column, "",
                             f"a value (this column is required): {expected}")
            out[label] = ""
            continue
        value = reader(text)
        if value is None:
            problems.add(table.name, table.source, table.row(label), column, text, expected)
            value = ""
        out[label] = value
    return pd.Series(out, index=table.frame.index, dtype=object)


def _split_letter(text: str) -> tuple[str | None, str]:
    m = LETTER.match(text.strip().lower())
    return (m.group(1), m.group(2).strip()) if m else (None, text.strip().lower())


def _sex(text):
    letter, rest = _split_letter(text)
    if rest in SEX:
        return SEX[rest]
    return SEX_LETTER.get(letter) if letter and not rest else None


def _yes_no(text):
    letter, rest = _split_letter(text)
    if rest in YES_NO:
        return YES_NO[rest]
    return YES_NO_LETTER.get(letter) if letter and not rest else None


def _code(text, known: dict, words=()):
    m = CODE.match(text)
    if m and m.group(1).upper() in known:
        return m.group(1).upper()
    low = text.lower().replace("\u2019", "'")
    for phrase, code in words:
        if phrase in low:
            return code
    return None


def _legal_status(text):
    return _code(text, LEGAL_STATUS, LEGAL_STATUS_WORDS)


def _placement(text):
    return _code(text, PLACEMENT, PLACEMENT_WORDS)


def _provider(text):
    m = re.search(r"\bPR\s*([0-5])\b", text, re.IGNORECASE)
    return f"PR{m.group(1)}" if m else None


def _location(text):
    letter, rest = _split_letter(text)
    if rest in LOCATION:
        return LOCATION[rest]
    return LOCATION_LETTER.get(letter) if letter and not rest else None


def _counts(table, column, problems) -> pd.Series:
    out = {}
    for label, text in table.frame[column].items():
        if text == "":
            out[label] = ""
        elif re.fullmatch(r"\d+", text):
            out[label] = str(int(text))
        else:
            problems.add(table.name, table.source, table.row(label), column, text,
                         "a whole number of episodes, 0 or more (blank if not recorded)")
            out[label] = ""
    return pd.Series(out, index=table.frame.index, dtype=object)


def _consistency(table, cols, values, problems) -> None:
    """A return interview accepted but not offered, or offered to a child with no missing episode: refused."""
    offered, accepted, missing = values["rhi_offered"], values["rhi_accepted"], values["missing_episodes"]
    for label in table.frame.index:
        if accepted[label] == "true" and offered[label] == "false":
            problems.add(table.name, table.source, table.row(label), cols["rhi_accepted"],
                         table.frame.at[label, cols["rhi_accepted"]],
                         f"not Yes when {cols['rhi_offered']!r} is No (an interview not offered cannot be accepted)")
        if missing[label] == "0" and offered[label] == "true":
            problems.add(table.name, table.source, table.row(label), cols["rhi_offered"],
                         table.frame.at[label, cols["rhi_offered"]],
                         f"not Yes when {cols['missing_episodes']!r} is 0 (no missing episode to follow up)")


def _period(values, table) -> tuple[str, str, str]:
    """The 12 months List 8 covers, ending on the latest date any of its date columns records."""
    latest = None
    for column in table.frame.columns:
        if "date" not in normalise_header(column) or "birth" in normalise_header(column):
            continue
        for text in table.frame[column]:
            value = parse_date(text) if text else None
            if value is not None and not pd.isna(value) and (latest is None or value > latest):
                latest = value
    if latest is None:
        end = pd.Timestamp(date.today())
        basis = "List 8 records no date other than dates of birth: taken to end today"
    else:
        end = latest
        basis = "ending on the latest date List 8 records; Annex A covers the 12 months before the inspection"
    start = end - pd.DateOffset(years=1) + pd.Timedelta(days=1)
    return start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d"), basis


def age_band(age) -> str | None:
    if pd.isna(age):
        return None
    age = int(age)
    if age >= vocab.ADULT_AGE:
        return "18 or over"
    if age <= 10:
        return vocab.AGE_BANDS[0]
    if age <= 13:
        return vocab.AGE_BANDS[1]
    if age <= 16:
        return vocab.AGE_BANDS[2]
    return vocab.AGE_BANDS[3]


def _describe(report, table, cols, la_code) -> None:
    s = table.source
    report.map("children.child_id", f"{s}: {cols['child_id']} (pseudonymised)")
    report.map("children.sex", f"{s}: {cols['sex']}")
    report.map("children.date_of_birth", f"{s}: {cols['date_of_birth']}")
    for name in ("legal_status", "placement_type", "placement_provider", "placement_location", "missing_episodes",
                 "absent_episodes", "rhi_offered", "rhi_accepted", "uasc"):
        if cols.get(name):
            report.map(f"{TABLE}.{name}", f"{s}: {cols[name]}")
        else:
            report.missing(f"{TABLE}.{name}", f"no such column in {s}")
    report.derive(f"{TABLE}.age", "age in whole years at the end of the 12 months (or on leaving care, if earlier)")
    report.derive(f"{TABLE}.period_start", "12 months before the end of the period List 8 covers")
    if la_code:
        report.derive(f"{TABLE}.la_code", "the --la-code given (List 8 has no local authority column)")
    else:
        report.missing(f"{TABLE}.la_code", "List 8 has no local authority column and no --la-code was given: "
                       "the DfE comparison cannot be made")
    report.missing("episodes", "List 8 counts missing episodes per child; it has no episode dates")
    report.missing("episodes.police_risk", "Annex A holds no police risk grading")
    report.missing("rhis", "List 8 says only whether an interview was offered and accepted after the last "
                   "missing episode: no interview dates, so no timeliness")
    report.missing("rhi_episodes", "no episodes or RHIs to link")
    report.missing("disclosures", "Annex A holds nothing the child disclosed")
