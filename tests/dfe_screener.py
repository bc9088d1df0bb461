"""The checks of DfE's open-data screener that the project relies on, ported to Python for its tests.

Source: the R package eesyscreener, version 0.3.1 (Department for Education,
dfe-analytical-services/eesyscreener, GPL-3; ``screen_csv(datapath, metapath)``
runs ``screen_dfs``). Each check below names the file of that version it
follows (``R/<file>.R``) and keeps its name, its result (FAIL or WARNING) and
the gist of its message. The port is written for this project's files; it is
independent of the code that writes them (it reads the CSVs as text, and the
authority codes are checked against DfE's own CSV read here row by row, not
through ``analysis.reference.geography``).

Reading follows ``read_ees_files`` (R/utils.R): every data column as text,
an empty field as missing (DuckDB's CSV reader); the metadata with
``indicator_dp`` as a number. Stages run in the screener's order and stop at the
first stage with a failure, as ``screen_dfs`` does.

Not ported: the checks for geographic levels this project never writes
(wards, constituencies, schools, providers and others; ``check_geog_na`` and
``check_geog_other_dupes`` apply to those only), the harmonised ethnicity
checks (no ethnicity filter here) and the EES API data-dictionary checks
(``R/check_data_dictionary.R``: they warn that a column is not in DfE's API
dictionary; this file's filters are the study's own, see docs/publication.md).
The list of authority codes of ``check_geog_la_combos`` is DfE's published
lookup in the screener; here it is the DfE file the package ships, every
(old code, new code, name) of which the screener's lookup holds.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

VERSION = "eesyscreener 0.3.1"
REQ_DATA = ("geographic_level", "time_period", "time_identifier", "country_code", "country_name")   # reference_values
REQ_META = ("col_name", "col_type", "label", "indicator_grouping", "indicator_unit", "indicator_dp", "filter_hint",
            "filter_grouping_column")
OPTIONAL_META = ("filter_default", "parent_filter")
# data-raw/geography_df.R: the levels the screener knows, with their code, name and secondary code columns.
GEOGRAPHY = {
    "National": ("country_code", "country_name", None),
    "Regional": ("region_code", "region_name", None),
    "Local authority": ("new_la_code", "la_name", "old_la_code"),
    "Local authority district": ("lad_code", "lad_name", None),
    "RSC region": (None, "rsc_region_lead_name", None),
    "Parliamentary constituency": ("pcon_code", "pcon_name", None),
    "Local skills improvement plan area": ("lsip_code", "lsip_name", None),
    "Local enterprise partnership": ("local_enterprise_partnership_code", "local_enterprise_partnership_name", None),
    "English devolved area": ("english_devolved_area_code", "english_devolved_area_name", None),
    "Opportunity area": ("opportunity_area_code", "opportunity_area_name", None),
    "Ward": ("ward_code", "ward_name", None),
    "MAT": ("trust_id", "trust_name", None),
    "Sponsor": ("sponsor_id", "sponsor_name", None),
    "School": ("school_urn", "school_name", "school_laestab"),
    "Provider": ("provider_ukprn", "provider_name", None),
    "Institution": ("institution_id", "institution_name", None),
    "Planning area": ("planning_area_code", "planning_area_name", None),
    "Police force area": ("pfa_code", "pfa_name", None),
}
# R/check_geog_overcompleted_cols.R: the levels whose rows may fill a level's columns (National and Regional rows
# may fill no authority column; National rows no region column).
COMPATIBLE = {"Regional": {"Regional", "Local skills improvement plan area", "Local authority",
                           "Local enterprise partnership", "Opportunity area", "Local authority district",
                           "Parliamentary constituency", "English devolved area", "Ward", "School", "Provider",
                           "Institution", "Planning area", "Police force area"},
              "Local authority": {"Local authority", "Parliamentary constituency", "Local authority district", "Ward",
                                  "School", "Provider", "Institution", "Planning area", "Police force area"}}
# data/acceptable_time_ids.rda: the groups of time identifiers that may be mixed; four and six digit periods.
TIME_IDS = [("Calendar year",), ("Reporting year",), ("Academic year",), ("Financial year",), ("Tax year",),
            ("Autumn and spring term",), ("Spring term", "Autumn term", "Summer term"),
            ("Financial year Q1", "Financial year Q2", "Financial year Q3", "Financial year Q4"),
            ("Part 1 (April to September)", "Part 2 (October to March)"),
            tuple(["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                   "November", "December"]), tuple(f"Week {n}" for n in range(1, 53))]
FOUR_DIGIT = {"Calendar year", "Reporting year", *TIME_IDS[9], *TIME_IDS[10]}
SIX_DIGIT = {"Autumn and spring term", "Spring term", "Autumn term", "Summer term", "Financial year", "Academic year",
             "Tax year", *TIME_IDS[7], *TIME_IDS[8]}
INDICATOR_UNITS = {"%", "pp", "£", "£m", "numberstring"}                     # data/acceptable_indicator_units.rda
# data/acceptable_countries.rda, data/acceptable_regions.rda and data/acceptable_extra_geog_options.rda
COUNTRIES = {("E92000001", "England"), ("K02000001", "United Kingdom"), ("K03000001", "Great Britain"),
             ("K04000001", "England and Wales"), ("N92000002", "Northern Ireland"), ("S92000003", "Scotland"),
             ("W92000004", "Wales"), ("z", "England, Wales and Northern Ireland")}
REGIONS = {("E12000001", "North East"), ("E12000002", "North West"), ("E12000003", "Yorkshire and The Humber"),
           ("E12000004", "East Midlands"), ("E12000005", "West Midlands"), ("E12000006", "East of England"),
           ("E12000007", "London"), ("E12000008", "South East"), ("E12000009", "South West"),
           ("E13000001", "Inner London"), ("E13000002", "Outer London")}
EXTRA_GEOGRAPHY = {("z", name) for name in ("Not applicable", "Unknown", "Outside of England",
                                            "Outside of the United Kingdom", "Outside of England and unknown",
                                            "Outside of the United Kingdom and unknown")}
# data/potential_ob_units_regex.rda: column names that look like geography.
OB_UNIT_LIKE = re.compile(
    r"(^(country|sch|prov|inst|estab|reg|la|local|rsc|pfa|pcon|lep|mca|oa|ward|mat).*(name|code|urn|ukprn|number|upin"
    r"|id)$)|(^(laestab|estab|sch|school|schools|prov|provider|providers|inst|institution|institutions|name|code|urn"
    r"|ukprn|number|upin|id|region|la|lad|rsc|pcon|lep|mca|oa|ward|mat)$)", re.IGNORECASE)
SMUSHED = ("male", "female", "asian", "chinese", "indian", "pakistani", "bangladeshi", "black", "african", "caribbean",
           "white", "roma", "irish", "english", "british", "scottish", "welsh", "northern irish", "arab")
NULLS = ("NULL", "Null", "null", "NA", "na")
LEGACY = ("N/A", "n/a", ".", "..", "-")
LEGACY_GSS = ("~", ":")                                                       # data/legacy_gss_symbols.rda
API_LIMITS = {"column-name": 50, "column-label": 100, "location-code": 30, "column-item": 120}   # api_char_limits


@dataclass(frozen=True)
class Result:
    check: str
    result: str      # PASS, WARNING or FAIL
    message: str
    source: str      # the screener's file this check follows


def read(data_path, meta_path) -> tuple[list[dict], list[str], list[dict]]:
    """The files as the screener reads them: data as text with empty fields missing (None); metadata rows."""
    with open(data_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        data = [{k: (v if v != "" else None) for k, v in row.items()} for row in reader]
    with open(meta_path, newline="", encoding="utf-8") as handle:
        meta = [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]
    return data, columns, meta


def ob_units() -> set:
    """``get_acceptable_ob_units`` (R/utils.R): time, level and every geography column."""
    geography = {c for cols in GEOGRAPHY.values() for c in cols if c}
    return {"time_period", "time_identifier", "geographic_level"} | geography


def screen(data_path, meta_path, dfe_csv: Path) -> list[Result]:
    """Every ported check, stage by stage; stops after the first stage with a FAIL (as ``screen_dfs``)."""
    data, columns, meta = read(data_path, meta_path)
    ctx = _Context(data, columns, meta, dfe_csv)
    results: list[Result] = []
    for stage in STAGES:
        out = [r for check in stage for r in check(ctx)]
        results += out
        if any(r.result == "FAIL" for r in out):
            break
    return results


class _Context:
    def __init__(self, data, columns, meta, dfe_csv):
        self.data, self.columns, self.meta, self.dfe_csv = data, columns, meta, dfe_csv
        self.meta_columns = list(meta[0].keys()) if meta else []

    def col(self, name) -> list:
        return [row.get(name) for row in self.data]

    def distinct(self, name) -> set:
        return set(self.col(name))

    def filters(self, groups: bool = False) -> list[str]:
        out = [m["col_name"] for m in self.meta if m.get("col_type") == "Filter"]
        return out + self.groups() if groups else out

    def groups(self) -> list[str]:
        return [m["filter_grouping_column"] for m in self.meta if m.get("filter_grouping_column")]

    def indicators(self) -> list[str]:
        return [m["col_name"] for m in self.meta if m.get("col_type") == "Indicator"]

    def levels(self) -> set:
        return self.distinct("geographic_level")


def _r(check, ok: bool, message: str, source: str, bad: str = "FAIL") -> list[Result]:
    return [Result(check, "PASS" if ok else bad, "" if ok else message, f"R/{source}.R")]


# --- precheck columns ------------------------------------------------------------------------------------------

def col_req_meta(c):
    missing = [x for x in REQ_META if x not in c.meta_columns]
    return _r("col_req_meta", not missing, f"missing from the metadata file: {missing}", "precheck_col_req_meta")


def col_invalid_meta(c):
    bad = [x for x in c.meta_columns if x not in REQ_META + OPTIONAL_META]
    return _r("col_invalid_meta", not bad, f"invalid columns in the metadata file: {bad}", "precheck_col_invalid_meta")


def col_req_data(c):
    missing = [x for x in REQ_DATA if x not in c.columns]
    return _r("col_req_data", not missing, f"missing from the data file: {missing}", "precheck_col_req_data")


def col_to_rows(c):
    return _r("col_to_rows", len(c.columns) - 5 >= len(c.meta), "more metadata rows than non-mandatory columns",
              "precheck_col_to_rows")


# --- precheck cross-file ------------------------------------------------------------------------------------------

def cross_meta_to_data(c):
    missing = [f for f in c.filters(groups=True) if f not in c.columns]
    return _r("cross_meta_to_data", not missing, f"in the metadata but not the data: {missing}",
              "precheck_cross_meta_to_data")


def cross_data_to_meta(c):
    listed = {m["col_name"] for m in c.meta} | set(c.groups())
    loose = [x for x in c.columns if x not in ob_units() and len(c.distinct(x)) != 1 and x not in listed]
    return _r("cross_data_to_meta", not loose, f"not an observational unit, not a single level and not in the "
              f"metadata: {loose}", "precheck_cross_data_to_meta", "WARNING")


# --- columns ------------------------------------------------------------------------------------------------------

def col_names_spaces(c):
    bad = [x for x in c.columns if re.search(r"\s", x)]
    return _r("col_names_spaces", not bad, f"variable names with spaces: {bad}", "check_col_names_spaces")


def col_snake_case(c):
    bad = sorted({ch for x in c.columns for ch in re.sub(r"[a-z0-9]|_", "", x)})
    return _r("col_snake_case", not bad, f"invalid characters in variable names: {bad}", "check_col_snake_case",
              "WARNING")


def col_var_start(c):
    bad = [x for x in c.columns if not re.match(r"^[a-z]", x)]
    return _r("col_var_start", not bad, f"names not starting with a lowercase letter: {bad}", "check_col_var_start",
              "WARNING")


def col_ind_smushed(c):
    bad = [x for x in c.indicators() if any(s in x.lower() for s in SMUSHED)]
    return _r("col_ind_smushed", not bad, f"indicators that look like filter entries: {bad}", "check_col_ind_smushed")


def col_var_characteristic(c):
    found = any(m["col_name"] in ("characteristic", "characteristic_group") for m in c.meta) or \
        "characteristic_group" in c.groups()
    return _r("col_var_characteristic", not found, "characteristic columns are not recommended",
              "check_col_var_characteristic", "WARNING")


# --- metadata -----------------------------------------------------------------------------------------------------

def meta_col_type(c):
    bad = {m["col_type"] for m in c.meta} - {"Filter", "Indicator"}
    return _r("meta_col_type", not bad, f"invalid col_type values: {bad}", "precheck_meta_col_type")


def meta_ob_unit(c):
    listed = {m["col_name"] for m in c.meta} | set(c.groups())
    bad = sorted(listed & (ob_units() - {"school_name", "provider_name"}))
    return _r("meta_ob_unit", not bad, f"observational units in the metadata: {bad}", "precheck_meta_ob_unit")


def meta_col_name(c):
    bad = sum(1 for m in c.meta if not (m.get("col_name") or "").strip())
    return _r("meta_col_name", bad == 0, f"{bad} blank col_name values", "precheck_meta_col_name")


def meta_checks(c):
    out = []
    labels = [m["label"] for m in c.meta]
    out += _r("meta_dupe_label", len(labels) == len(set(labels)), "duplicated labels", "check_meta_dupe_label")
    bad = [m["col_name"] for m in c.meta if m["col_type"] == "Indicator" and m.get("filter_grouping_column")]
    out += _r("meta_fil_grp", not bad, f"indicators with a filter_grouping_column: {bad}", "check_meta_fil_grp")
    groups = c.groups()
    out += _r("meta_fil_grp_dupe", len(groups) == len(set(groups)), "duplicate filter groups",
              "check_meta_fil_grp_dupe")
    names = {m["col_name"] for m in c.meta}
    out += _r("meta_fil_grp_is_fil", all(g in names for g in groups), "filter groups missing from col_name",
              "check_meta_fil_grp_is_fil", "WARNING")
    out += _r("meta_fil_grp_match", all(g in c.columns for g in groups), "filter groups not in the data",
              "check_meta_fil_grp_match")
    stripped_ok = all(len({re.sub(r"[^A-Za-z0-9]", "", v or "") for v in c.distinct(g)}) == len(c.distinct(g))
                      for g in groups if g in c.columns)
    out += _r("meta_fil_grp_stripped", stripped_ok, "filter groups collide when non-alphanumerics are stripped",
              "check_meta_fil_grp_stripped")
    blank = sum(1 for m in c.meta if m.get("label") in (None, "", " "))
    out += _r("meta_label", blank == 0, f"{blank} labels missing", "check_meta_label")
    bad = [m["col_name"] for m in c.meta if m["col_type"] == "Indicator" and m.get("filter_hint")]
    out += _r("meta_filter_hint", not bad, f"indicators with a filter_hint: {bad}", "check_meta_filter_hint")
    caught = [f for f in c.filters() + groups if OB_UNIT_LIKE.search(f)]
    out += _r("meta_geog_catch", not caught, f"filters that look like geography: {caught}", "check_meta_geog_catch")
    bad = [m["col_name"] for m in c.meta if m["col_type"] == "Filter" and m.get("indicator_dp")]
    out += _r("meta_indicator_dp", not bad, f"filters with indicator_dp: {bad}", "check_meta_indicator_dp")
    bad = [m["col_name"] for m in c.meta if re.search(r"\s", m["col_name"])]
    out += _r("meta_col_name_spaces", not bad, f"col_name values with spaces: {bad}", "check_meta_col_name_spaces")
    names_list = [m["col_name"] for m in c.meta]
    out += _r("meta_col_name_dupe", len(names_list) == len(set(names_list)), "duplicated col_name values",
              "check_meta_col_name_dupe")
    blank = [m["col_name"] for m in c.meta
             if m["col_type"] == "Indicator" and not (m.get("indicator_dp") or "").strip()]
    out += _r("meta_ind_dp_set", not blank, f"indicators without indicator_dp: {blank}", "check_meta_ind_dp_set",
              "WARNING")
    dps = [m.get("indicator_dp") for m in c.meta if (m.get("indicator_dp") or "").strip()]
    out += _r("meta_ind_dp_values", all(re.fullmatch(r"\d+(\.0+)?", d.strip()) for d in dps),
              "indicator_dp must be blank, zero or a positive whole number", "check_meta_ind_dp_values")
    bad = [m["col_name"] for m in c.meta if m["col_type"] == "Filter" and m.get("indicator_unit")]
    out += _r("meta_ind_unit", not bad, f"filters with an indicator_unit: {bad}", "check_meta_ind_unit")
    units = {m["indicator_unit"] for m in c.meta if m["col_type"] == "Indicator" and m.get("indicator_unit")}
    out += _r("meta_ind_unit_validation", units <= INDICATOR_UNITS, f"invalid indicator units: {units}",
              "check_meta_ind_unit_validation")
    bad = [m["col_name"] for m in c.meta if m["col_type"] == "Filter" and m.get("indicator_grouping")]
    out += _r("meta_indicator_grouping", not bad, f"filters with indicator_grouping: {bad}",
              "check_meta_indicator_grouping")
    return out


# --- time ---------------------------------------------------------------------------------------------------------

def time_prechecks(c):
    periods = c.distinct("time_period")
    ids = c.distinct("time_identifier")
    out = _r("time_period_num", all(p is not None and re.fullmatch(r"\d{4}(\d{2})?", p) for p in periods),
             f"time_period must be 4 or 6 digits: {sorted(map(str, periods))}", "precheck_time_period_num")
    known = {t for group in TIME_IDS for t in group}
    out += _r("time_id_valid", ids <= known, f"invalid time_identifier values: {ids - known}",
              "precheck_time_id_valid")
    base = c.data[0]["time_identifier"] if c.data else None
    group = next((g for g in TIME_IDS if base in g), ())
    out += _r("time_id_mix", ids <= set(group), "incompatible time identifiers mixed", "precheck_time_id_mix")
    return out


def time_checks(c):
    base = c.data[0]["time_identifier"] if c.data else None
    periods = c.distinct("time_period")
    width = 4 if base in FOUR_DIGIT else 6 if base in SIX_DIGIT else None
    out = _r("time_period", width is None or all(len(p) == width for p in periods),
             f"time_period length for {base!r} must be {width} digits", "check_time_period")
    six = [p for p in periods if len(p) == 6]
    consecutive = all(int(p[4:6]) == (int(p[2:4]) + 1) % 100 for p in six)
    out += _r("time_period_six", consecutive, "six-digit periods must be consecutive years",
              "check_time_period_six")
    return out


# --- filters ------------------------------------------------------------------------------------------------------

def filter_not_singular(c):
    bad = [f for f in c.filters() if len(c.distinct(f)) < 2]
    return _r("filter_not_singular", not bad, f"filters with fewer than two levels: {bad}",
              "precheck_filter_not_singular")


def filter_checks(c):
    out = []
    defaults = {}
    for m in c.meta:
        if m["col_type"] == "Filter":
            defaults[m["col_name"]] = m.get("filter_default") or "Total"
    for g in c.groups():
        defaults.setdefault(g, "Total")
    missing = [f for f, d in defaults.items() if d not in c.distinct(f)]
    out += _r("filter_defaults", not missing, f"no Total or default item: {missing}", "check_filter_defaults",
              "WARNING")
    bad = [(m["col_name"], m["filter_grouping_column"]) for m in c.meta
           if m["col_type"] == "Filter" and m.get("filter_grouping_column")
           and len(c.distinct(m["col_name"])) < len(c.distinct(m["filter_grouping_column"]))]
    out += _r("filter_group_level", not bad, f"groups with more levels than their filter: {bad}",
              "check_filter_group_level")
    big = [f for f in c.filters(groups=True) if len(c.distinct(f)) > 25000]
    out += _r("filter_item_limit", not big, f"filters with over 25,000 items: {big}", "check_filter_item_limit")
    geo = {col for cols in GEOGRAPHY.values() for col in cols if col}
    spaced = [v for f in set(c.filters()) | (geo & set(c.columns)) for v in c.distinct(f)
              if v is not None and v != v.strip()]
    out += _r("filter_whitespace", not spaced, f"values with leading or trailing spaces: {spaced[:5]}",
              "check_filter_whitespace")
    ob_cols = [x for x in c.columns if (x in ob_units() - {"school_name", "provider_name"}) or OB_UNIT_LIKE.search(x)]
    totals = [x for x in ob_cols if c.distinct(x) & {"Total", "total", "All", "all"}]
    out += _r("filter_ob_total", not totals, f"Total or All in geography or time columns: {totals}",
              "check_filter_ob_total")
    blanks = [f for f in dict.fromkeys(c.filters(groups=True)) if c.distinct(f) & {"", None}]
    out += _r("filter_blanks", not blanks, f"blank filter values: {blanks}", "check_filter_blanks")
    return out


# --- geography ----------------------------------------------------------------------------------------------------

def geog_prechecks(c):
    levels = c.levels()
    out = _r("geog_level", levels <= set(GEOGRAPHY), f"invalid geographic levels: {levels - set(GEOGRAPHY)}",
             "precheck_geog_level")
    needed = [col for level in levels if level in GEOGRAPHY and level != "Planning area" and levels != {"National"}
              for col in GEOGRAPHY[level] if col]
    missing = [col for col in dict.fromkeys(needed) if col not in c.columns]
    out += _r("geog_level_present", not missing,
              f"Given that the following geographic_level values are present: '{', '.join(sorted(levels))}'; the "
              f"following column(s) are missing from the file: {missing}.", "precheck_geog_level_present")
    return out


def _dfe_authorities(path: Path) -> set:
    """(old code, new code, name) of every local-authority row of DfE's CSV, by its code as published and its
    current code: read straight from the file."""
    out = set()
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["geographic_level"] == "Local authority":
                out.add((row["la_code_old"], row["la_code"], row["la_name"]))
                out.add((row["la_code_old"], row["la_code_latest"], row["la_name"]))
    return out


def _combos(c, cols, acceptable, restricted=None, na_code="x"):
    """``.check_geog_combos`` (R/check_geog_combos.R): the distinct combinations other than the not-available code
    must be in the lookup or be 'z' with one of the universal names."""
    if not all(col in c.columns for col in cols):
        return []
    bad = set()
    for row in c.data:
        code = row[cols[-2]] if len(cols) == 3 else row[cols[0]]
        if code is None or code == na_code:
            continue
        if len(cols) == 3 and row[cols[0]] is None:
            continue
        combo = tuple(row[x] for x in cols)
        if combo not in acceptable:
            bad.add(combo)
    return sorted(bad)


def geog_checks(c):
    out = []
    extra = EXTRA_GEOGRAPHY
    bad = _combos(c, ("country_code", "country_name"), COUNTRIES | extra)
    out += _r("geog_country_combos", not bad, f"invalid country combinations: {bad[:5]}", "check_geog_combos")
    bad = _combos(c, ("region_code", "region_name"), REGIONS | extra)
    out += _r("geog_region_combos", not bad, f"invalid region combinations: {bad[:5]}", "check_geog_combos")
    las = _dfe_authorities(c.dfe_csv) | {("z", code, name) for code, name in extra}
    bad = _combos(c, ("old_la_code", "new_la_code", "la_name"), las)
    out += _r("geog_la_combos", not bad, f"invalid authority combinations: {bad[:5]}", "check_geog_combos")
    incomplete = []
    for level in c.levels() & set(GEOGRAPHY):
        if level == "Planning area":
            continue
        code, name, second = GEOGRAPHY[level]
        for col in (None if code == "new_la_code" else code, name, second):
            if col and col in c.columns and any(r[col] is None for r in c.data if r["geographic_level"] == level):
                incomplete.append(col)
    out += _r("geog_level_completed", not incomplete, f"incomplete for their level: {incomplete}",
              "check_geog_level_completed")
    over = []
    for level, allowed in COMPATIBLE.items():
        for col in (x for x in GEOGRAPHY[level] if x and x in c.columns):
            if any(r[col] is not None for r in c.data if r["geographic_level"] not in allowed):
                over.append(col)
    out += _r("geog_overcompleted_cols", not over, f"filled for unexpected levels: {over}",
              "check_geog_overcompleted_cols")
    for check, level in (("geog_la_col_present", "Local authority"), ("geog_region_col_present", "Regional")):
        cols = [x for x in GEOGRAPHY[level] if x]
        present = [x for x in cols if x in c.columns]
        out += _r(check, not present or len(present) == len(cols), f"some {level} columns missing",
                  "check_geog_col_present")
    la_rows = [r for r in c.data if r["geographic_level"] == "Local authority"]
    ok = not la_rows or ({"region_code", "region_name"} <= set(c.columns)
                         and all(r["region_code"] and r["region_name"] for r in la_rows))
    out += _r("geog_region_for_la", ok, "region_code and region_name missing for authority rows",
              "check_geog_region_for", "WARNING")
    return out


# --- general and indicators ---------------------------------------------------------------------------------------

def general_checks(c):
    keys = [x for x in c.columns if x in ob_units() or x in c.filters(groups=True)]
    seen = [tuple(r[x] for x in keys) for r in c.data if r["geographic_level"] not in ("School", "Provider",
                                                                                       "Institution", "Planning area")]
    out = _r("general_dupes", len(seen) == len(set(seen)), f"{len(seen) - len(set(seen))} duplicate rows",
             "check_general_dupes")
    values = {v for r in c.data for v in r.values()}
    meta_values = {v for m in c.meta for v in m.values()}
    null = values & set(NULLS) or meta_values & set(NULLS)
    out += _r("general_null", not null, f"null symbols: {null}", "check_general_null")
    out += _r("general_null_legacy", not values & set(LEGACY), "legacy no-data symbols", "check_general_null",
              "WARNING")
    return out


def ind_invalid_entry(c):
    bad = [i for i in c.indicators() if any(r[i] is None or r[i] in LEGACY_GSS for r in c.data)]
    return _r("ind_invalid_entry", not bad, f"indicators with blanks or legacy symbols: {bad}",
              "check_ind_invalid_entry")


def api_limits(c):
    """R/check_api_char_limit.R: names, labels, location codes and filter items within the EES API's limits."""
    out = _r("api_char_col_name", all(len(x) <= API_LIMITS["column-name"] for x in c.columns),
             "column names over 50 characters", "check_api_char_limit", "WARNING")
    out += _r("api_char_col_label", all(len(m["label"] or "") <= API_LIMITS["column-label"] for m in c.meta),
              "labels over 100 characters", "check_api_char_limit", "WARNING")
    codes = [x for cols in GEOGRAPHY.values() for x in cols[::2] if x and x in c.columns]
    out += _r("api_char_loc_code", all(len(v) <= API_LIMITS["location-code"] for x in codes for v in c.distinct(x)
                                       if v), "location codes over 30 characters", "check_api_char_limit", "WARNING")
    out += _r("api_char_filter_items", all(len(v) <= API_LIMITS["column-item"] for f in c.filters(groups=True)
                                           for v in c.distinct(f) if v), "filter items over 120 characters",
              "check_api_char_limit", "WARNING")
    return out


STAGES = [
    (col_req_meta, col_invalid_meta, col_req_data, col_to_rows),
    (cross_meta_to_data, cross_data_to_meta),
    (col_names_spaces, col_snake_case, col_var_start, col_ind_smushed, col_var_characteristic),
    (meta_col_type, meta_ob_unit, meta_col_name),
    (meta_checks,),
    (time_prechecks,),
    (filter_not_singular,),
    (geog_prechecks,),
    (time_checks,),
    (filter_checks,),
    (geog_checks,),
    (general_checks,),
    (ind_invalid_entry,),
    (api_limits,),
]
