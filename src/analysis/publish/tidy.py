"""The run's cells as open data in the Department for Education's format: ``rhi_publication.csv`` and its metadata.

Built to pass DfE's screener (eesyscreener 0.3.1, ``screen_csv``) with no
failure and no warning that the data could avoid, and to say truthfully what it
covers (docs/publication.md, "The open-data file"):

- **geography**: an authority's rows carry its old and new codes, name and
  region from DfE's own lists (:mod:`analysis.reference.geography`); a code DfE
  does not publish (the synthetic authorities) is written as ``x`` (not
  available) with a label naming the dataset's code. The total over the
  dataset's authorities (scope ``all``) is written as ``National`` / England
  only when the dataset holds every authority DfE lists for each year it
  covers, as ``Regional`` when it holds exactly one region's authorities, and
  is otherwise left out of this file (it stays in ``cells.csv`` and the
  reports): no geographic level of DfE's standards describes "these
  authorities";
- **time**: each reporting year of a multi-year run is its own
  ``time_period``; the cells computed over the whole span sit at the last
  year under indicators named for the first year (``count_since_201516``), as
  DfE's standards ask for figures spanning several years; part years are
  named in the data guidance's footnotes;
- **filters** hold labels (:mod:`analysis.publish.labels`), with the machine
  names of the population and measure kept in ``population_code`` and
  ``measure_code`` (their filter groups); a complement (``not_X``, and
  ``outside`` for a population's Total) is the indicator ``count_without`` on
  its count's row, never a level beside it; subtotals (medium or low, not
  looked after, the broad age bands) are levels of a second filter
  (``police_grade_group``, ``cohort_group``, ``age_band_broad``), so that the
  levels of each filter add up to its Total where the unit has one level each
  (``filter_hint`` says where a child can count in several);
- **indicators** as printed: ``count``, ``count_without``, and the percentage
  of the row's population with its 95% Wilson interval exactly as the reports
  print them (from the run's statistics), ``c`` where suppressed, ``x`` where
  the source lacks the field or the run publishes no such percentage, ``z``
  where it does not apply.

Cells no output shows that only tie the years to the span (``remainder over
the years``) are not written here; they are in ``cells.csv``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from analysis.disclosure import NOT_AVAILABLE
from analysis.publish import labels
from analysis.publish.cells import ALL_SCOPE, BREAKDOWNS, LEVELS_OF, TOTAL, PublicationError
from analysis.reference import geography

NOT_APPLICABLE = "z"
ENGLAND = ("E92000001", "England")
YEAR_SUFFIX = re.compile(r"^(?P<population>.+), year (?P<year>\d{4}(-\d{2})?)$")
REMAINDER = ", remainder over the years"
# Subtotal levels of a breakdown, written in a second filter so that no filter mixes a subtotal with its parts;
# the parts that complete the subtotal's partition are repeated there (same cell, same value).
SUBTOTALS = {
    "police_grade": ("police_grade_group", {"medium_or_low": ("high",)}),
    "cohort": ("cohort_group", {"not_looked_after": ("looked_after",)}),
    "age_band": ("age_band_broad", {"13 or under": (), "14-17": ()}),
}
GEOGRAPHY_COLUMNS = ("time_period", "time_identifier", "geographic_level", "country_code", "country_name",
                     "region_code", "region_name", "old_la_code", "new_la_code", "la_name")
FILTERS = ("population", "population_code", "measure", "measure_code", "police_grade", "police_grade_group",
           "cohort", "cohort_group", "age_band", "age_band_broad", "sex", "setting", "episode_number",
           "episodes_per_child", "month")
STATISTICS = (("percent", "percent"), ("ci_lower", "percent_ci_lower"), ("ci_upper", "percent_ci_upper"))
PREFERRED_DEFAULT = ("rhi_children", "graded_rhis", "in_scope_episodes", "notified_episodes")


@dataclass
class Coverage:
    """What the run's data cover: reporting years (``definitions.years.ReportingYear``) and authority codes."""

    years: list = field(default_factory=list)
    authorities: list = field(default_factory=list)
    time_period: str = ""
    time_identifier: str = "Financial year"


def coverage_of(ds, params) -> Coverage:
    """The coverage of a run over ``ds``: the run's reporting years (every authority's records) and its authorities."""
    from analysis.publish.years import run_years

    return Coverage(years=run_years(ds, params), authorities=list(ds.la_codes))


@dataclass
class OpenData:
    data: pd.DataFrame
    meta: pd.DataFrame
    all_level: str | None          # how the total over the dataset's authorities is written (None: left out)
    all_reason: str
    time_periods: list
    span_suffix: str               # "" for a one-year run, else "_since_201516"
    footnotes: list


def time_period_of_label(label: str) -> tuple[str, str]:
    """DfE's time_period and time_identifier for a reporting year's label: 2017-18 -> 201718 (Financial year),
    2017 -> 2017 (Calendar year)."""
    if re.fullmatch(r"\d{4}-\d{2}", label):
        return label[:4] + label[5:], "Financial year"
    return label, "Calendar year"


def _dfe_year(label: str) -> int | None:
    """The DfE reporting year (ending 31 March) of a financial year's label, else None."""
    return int(label[:4]) + 1 if re.fullmatch(r"\d{4}-\d{2}", label) else None


def all_geography(authorities, year_labels) -> tuple[str | None, dict, str]:
    """How the total over ``authorities`` may be labelled: (level, geography columns, reason)."""
    codes = sorted(set(authorities))
    dfe_years = [_dfe_year(y) for y in year_labels]
    known = geography.dfe_years()
    if not codes:
        return None, {}, "the dataset names no authority"
    if not dfe_years or any(y is None or y not in known for y in dfe_years):
        return None, {}, ("DfE's list of authorities does not cover every year of the data "
                          f"(it covers years ending March {known[0]} to {known[-1]})" if known else
                          "DfE's list of authorities is not available")
    listed = [geography.english_authorities(y) for y in dfe_years]
    every = all(geography.covers(codes, pairs) and _only(codes, pairs) for pairs in listed)
    if every:
        return "National", {}, "the dataset holds every authority DfE lists for each year it covers"
    for region_code, region_name in sorted(geography.regions().items()):
        pairs = [geography.region_authorities(y, region_code) for y in dfe_years]
        if all(geography.covers(codes, p) and _only(codes, p) for p in pairs):
            return "Regional", {"region_code": region_code, "region_name": region_name}, (
                f"the dataset holds exactly the authorities of {region_name}")
    n = len(codes)
    return None, {}, (f"the dataset holds {n} authorit{'y' if n == 1 else 'ies'}, not all of England nor exactly one "
                      "region, and no geographic level of DfE's standards describes that total")


def _only(codes, pairs) -> bool:
    listed = {c for pair in pairs for c in pair}
    return all(c in listed for c in codes)


def authority_columns(code: str) -> dict:
    """The region and authority columns of an authority's rows."""
    found = geography.authority(code) if code else None
    if not code:
        return {"region_code": "x", "region_name": "Not available", "old_la_code": "x", "new_la_code": "x",
                "la_name": "Not available"}
    if found is None:
        return {"region_code": "x", "region_name": "Not available", "old_la_code": "x", "new_la_code": "x",
                "la_name": f"Authority {code} (not a code DfE publishes)"}
    return {"region_code": found.region_code, "region_name": found.region_name, "old_la_code": found.old_la_code,
            "new_la_code": found.new_la_code, "la_name": found.la_name}


def build(pub, ids: dict, stats: pd.DataFrame, coverage: Coverage) -> OpenData:
    """The open-data file of a publication (see the module's docstring)."""
    year_labels = [y.label for y in coverage.years]
    multi = len(year_labels) >= 2
    last_period = time_period_of_label(year_labels[-1]) if year_labels else (coverage.time_period,
                                                                              coverage.time_identifier)
    suffix = f"_since_{time_period_of_label(year_labels[0])[0]}" if multi else ""
    scopes = {k.scope for k in pub.store.values}
    authorities = coverage.authorities or sorted(scopes - {ALL_SCOPE})
    level, all_columns, reason = all_geography(authorities, year_labels)
    only = None
    if level is None and len(set(authorities)) <= 1 and scopes == {ALL_SCOPE}:
        # the whole publication is one authority's (an Annex A workbook): its rows are that authority's
        only = authorities[0] if authorities else ""
        level, reason = "Local authority", (f"the dataset holds one authority ({only or 'its code not given'}), "
                                            "so its total is that authority")
    printed = _printed_statistics(stats)
    values = pub.store.values
    units_of: dict[str, set] = {}
    for k in values:
        match = YEAR_SUFFIX.match(k.population)
        units_of.setdefault(match["population"] if match else k.population, set()).add(k.unit)
    shared = {p for p, units in units_of.items() if len(units) > 1}

    rows: dict[tuple, dict] = {}
    for k in sorted(values):
        if k.population.endswith(REMAINDER) or _is_complement(k, values):
            continue
        if k.scope == ALL_SCOPE and level is None:
            continue
        match = YEAR_SUFFIX.match(k.population)
        population = match["population"] if match else k.population
        if match:
            period = time_period_of_label(match["year"])
            tail = ""
        else:
            period = last_period
            tail = suffix
        geo = _geography(k.scope if only is None else only, level, all_columns)
        for filters in _filter_rows(k, population, values, shared):
            key = (period, tuple(sorted(geo.items())), tuple(filters.items()))
            row = rows.setdefault(key, {"time_period": period[0], "time_identifier": period[1], **geo, **filters})
            new = _indicators(pub, k, ids, printed, tail)
            clash = {n for n, v in new.items() if n in row and row[n] != v}
            if clash:
                raise PublicationError(f"two cells give one row of the open-data file different values: {k}")
            row.update(new)

    indicators = _indicator_names(suffix)
    data = pd.DataFrame(list(rows.values()),
                        columns=list(GEOGRAPHY_COLUMNS) + list(FILTERS) if not rows else None)
    for name in indicators:
        if name not in data:
            data[name] = NOT_APPLICABLE
    data[list(indicators)] = data[list(indicators)].fillna(_missing_indicator(indicators))
    has_la = (data["geographic_level"] == "Local authority").any() if len(data) else False
    has_region = has_la or ((data["geographic_level"] == "Regional").any() if len(data) else False)
    geo_columns = [c for c in GEOGRAPHY_COLUMNS
                   if c in ("time_period", "time_identifier", "geographic_level", "country_code", "country_name")
                   or (c in ("region_code", "region_name") and has_region) or (c.endswith(("la_code", "la_name"))
                                                                                and has_la)]
    for c in geo_columns:
        data[c] = data[c].fillna("") if c in data else ""
    filters = [f for f in FILTERS if f in data and data[f].nunique() >= 2]
    data = data[geo_columns + filters + list(indicators)]
    data = _sorted(data, geo_columns, filters)
    meta = metadata(data, filters, indicators, suffix, year_labels)
    footnotes = _footnotes(coverage.years)
    periods = sorted(set(data["time_period"])) if len(data) else []
    return OpenData(data, meta, level, reason, periods, suffix, footnotes)


def level_meanings(od: "OpenData") -> dict:
    """What each geographic level of the file means in this run (for publication.json and the data guidance)."""
    out = {}
    levels = set(od.data["geographic_level"]) if len(od.data) else set()
    if "Local authority" in levels:
        out["Local authority"] = ("one authority each, with DfE's codes, name and region; x where DfE publishes "
                                  "no such code" if od.all_level != "Local authority" else od.all_reason)
    if "Regional" in levels:
        out["Regional"] = "the total over the dataset's authorities, which are exactly one region's: " + od.all_reason
    if "National" in levels:
        out["National"] = "England: " + od.all_reason
    return out


def _sorted(data: pd.DataFrame, geo_columns, filters) -> pd.DataFrame:
    order = {"National": 0, "Regional": 1, "Local authority": 2}
    keyed = data.assign(_level=data["geographic_level"].map(order))
    by = ["time_period", "_level"] + [c for c in ("new_la_code", "la_name") if c in data] + list(filters)
    return keyed.sort_values(by, kind="stable").drop(columns="_level").reset_index(drop=True)


def _geography(scope: str, level: str | None, all_columns: dict) -> dict:
    base = {"country_code": ENGLAND[0], "country_name": ENGLAND[1]}
    if scope == ALL_SCOPE:
        return {"geographic_level": level, **base, **all_columns}
    return {"geographic_level": "Local authority", **base, **authority_columns(scope)}


def _is_complement(k, values) -> bool:
    """A complement written as ``count_without`` on its count's row (not_X beside X; outside beside Total)."""
    if k.measure == "outside":
        return k.but(measure=TOTAL) in values
    return k.measure.startswith("not_") and k.but(measure=k.measure[len("not_"):]) in values


def _complement(k):
    return k.but(measure="outside" if k.measure == TOTAL else "not_" + k.measure)


def _filter_rows(k, population: str, values, shared=()) -> list[dict]:
    """The filter values of a cell's row(s): one row, plus a copy in a subtotal filter where it completes one.
    A population counted in several units (rows read) names the unit in its label."""
    name = labels.label("population", population)
    if population in shared:
        name = f"{name} ({labels.UNITS_IN_TEXT.get(k.unit, k.unit)})"
    base = {"population": name,
            "population_code": f"{k.unit}: {population}",
            "measure": labels.label("measure", k.measure), "measure_code": k.measure.replace(",", ";")}
    dims = {}
    subtotal_of = {}
    for dim in BREAKDOWNS:
        level = k.get(dim)
        if dim in SUBTOTALS:
            column, subtotals = SUBTOTALS[dim]
            dims[column] = TOTAL
            if level in subtotals:
                dims[column] = labels.label(dim, level)
                dims[dim] = TOTAL
                continue
            subtotal_of[dim] = (column, subtotals)
        dims[dim] = labels.label(dim, level)
    out = [{**base, **dims}]
    # A part that completes a subtotal's partition is repeated in the subtotal filter (High beside Medium or low).
    for dim, (column, subtotals) in subtotal_of.items():
        level = k.get(dim)
        for subtotal, partners in subtotals.items():
            parts = partners + (("no_apparent_risk",) if dim == "police_grade"
                                and (dim, k.population) in LEVELS_OF else ())
            if level in parts and k.but(**{dim: subtotal}) in values:
                out.append({**base, **dims, dim: TOTAL, column: labels.label(dim, level)})
    return out


def _indicators(pub, k, ids, printed, tail: str) -> dict:
    """Every indicator of a cell's row: its count, its complement (z where it has none), and the percentage of
    its population with the interval as printed (z for the population itself, x where the run prints none)."""
    out = {f"count{tail}": _shown(pub.value(k))}
    rest = _complement(k)
    out[f"count_without{tail}"] = _shown(pub.value(rest)) if rest in pub.store.values else NOT_APPLICABLE
    den = k.but(measure=TOTAL)
    for stat, name in STATISTICS:
        if k.measure == TOTAL:
            out[f"{name}{tail}"] = NOT_APPLICABLE
        else:
            out[f"{name}{tail}"] = printed.get((ids.get(k), ids.get(den), stat), NOT_AVAILABLE)
    return out


def _shown(value):
    return value if isinstance(value, str) else str(int(value))


def _printed_statistics(stats: pd.DataFrame) -> dict:
    """(numerator id, denominator id, statistic) -> the value as printed, from the run's statistics."""
    out = {}
    for r in stats[stats["statistic"].isin([s for s, _ in STATISTICS])].itertuples():
        if r.numerator and r.denominator:
            out.setdefault((r.numerator, r.denominator, r.statistic), str(r.value))
    return out


def _indicator_names(suffix: str) -> tuple:
    names = ("count", "count_without") + tuple(name for _, name in STATISTICS)
    return names + tuple(n + suffix for n in names) if suffix else names


def _missing_indicator(indicators) -> dict:
    """A value a row of a multi-year run does not have: the whole period's value of a year before the last is not
    applicable (z); a year's value of a cell computed only over the whole period is not available (x)."""
    return {name: NOT_APPLICABLE if "_since_" in name else NOT_AVAILABLE for name in indicators}


def metadata(data: pd.DataFrame, filters, indicators, suffix: str, year_labels) -> pd.DataFrame:
    """The metadata file: one row per filter and indicator, with labels, hints, decimals and defaults."""
    hints = {
        "population": "What is counted and in which group: levels are different groups and do not add up",
        "population_code": "The population's machine name as in cells.csv",
        "measure": "Total is the whole population; other levels are characteristics and can overlap",
        "measure_code": "The measure's machine name as in cells.csv",
        "police_grade": "Risk grade given by the police; a child with several grades counts in each",
        "police_grade_group": "High against medium or low together",
        "cohort": "Looked after; open to children's services; or not known to services",
        "cohort_group": "Looked after against not looked after",
        "age_band": "Age at the episode; a child of two ages counts in each",
        "age_band_broad": "Broad age bands used by the study",
        "sex": "Sex as recorded",
        "setting": "Where the child went missing from",
        "episode_number": "The episode's number in the child's sequence",
        "episodes_per_child": "The child's number of notified episodes",
        "month": "Month the episode started",
    }
    filter_labels = {"population": "Population", "population_code": "Population (machine name)",
                     "measure": "Measure", "measure_code": "Measure (machine name)", "police_grade": "Police grade",
                     "police_grade_group": "Police grade group", "cohort": "Cohort", "cohort_group": "Cohort group",
                     "age_band": "Age band", "age_band_broad": "Broad age band", "sex": "Sex", "setting": "Setting",
                     "episode_number": "Episode number", "episodes_per_child": "Episodes per child",
                     "month": "Month"}
    groups = {"population": "population_code", "measure": "measure_code"}
    default_population = _default_population(data)
    rows = []
    for f in filters:
        default = ""
        if f == "population":
            default = default_population[0]
        elif f == "population_code":
            default = default_population[1]
        rows.append({"col_name": f, "col_type": "Filter", "label": filter_labels[f], "indicator_grouping": "",
                     "indicator_unit": "", "indicator_dp": "", "filter_hint": hints[f],
                     "filter_grouping_column": groups[f] if groups.get(f) in filters else "",
                     "filter_default": default})
    span = f"{year_labels[0]} to {year_labels[-1]}" if suffix else ""
    for name in indicators:
        whole = name.endswith(suffix) and bool(suffix)
        base = name[: -len(suffix)] if whole else name
        label = {"count": "Number", "count_without": "Number in the rest (the complement)",
                 "percent": "Percentage of the population", "percent_ci_lower": "95% interval: lower (Wilson)",
                 "percent_ci_upper": "95% interval: upper (Wilson)"}[base]
        if suffix:
            label += f" ({span})" if whole else " (year)"
        rows.append({"col_name": name, "col_type": "Indicator", "label": label,
                     "indicator_grouping": (f"Whole period {span}" if whole else "Reporting year") if suffix else "",
                     "indicator_unit": "%" if base.startswith("percent") else "",
                     "indicator_dp": 1 if base.startswith("percent") else 0,
                     "filter_hint": "", "filter_grouping_column": "", "filter_default": ""})
    return pd.DataFrame(rows, columns=["col_name", "col_type", "label", "indicator_grouping", "indicator_unit",
                                       "indicator_dp", "filter_hint", "filter_grouping_column", "filter_default"])


def _default_population(data: pd.DataFrame) -> tuple[str, str]:
    if "population_code" not in data or "population" not in data:
        return "", ""
    present = dict(zip(data["population_code"], data["population"]))
    for name in PREFERRED_DEFAULT:
        for code, label in present.items():
            if code.endswith(": " + name):
                return label, code
    code = sorted(present)[0] if present else ""
    return present.get(code, ""), code


def _footnotes(years) -> list[str]:
    out = []
    for y in years:
        if getattr(y, "partial", False):
            first = _day(y.first_record) if y.first_record is not None else "no record"
            last = _day(y.last_record) if y.last_record is not None else "no record"
            out.append(f"{y.label} is a part year: its records start on {first} and end on {last} "
                       f"({y.note}). Its figures are not comparable with a whole year's.")
    return out


def _day(day) -> str:
    return f"{day.day} {day:%B %Y}"
