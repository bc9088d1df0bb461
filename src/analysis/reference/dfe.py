"""The published DfE figures on looked-after children who went missing, by local authority.

The CSV shipped in ``analysis/data`` (see its README) keeps DfE's values as
published, suppression symbols included. ``missing_rates`` gives, for one
reporting year, each local authority's children who went missing over
children looked after during the year; values DfE suppressed (c, x, z, k,
"..") or did not publish are kept as rows with a reason, never read as zero.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.filecache import read_once

DFE_CSV = Path(__file__).resolve().parents[1] / "data" / "dfe_cla_missing_by_la.csv"
SYMBOLS = {
    "c": "suppressed by DfE (confidentiality)",
    "x": "suppressed or not available (DfE 'x')",
    "z": "not applicable (DfE 'z')",
    "k": "rounds to zero (DfE 'k')",
    "..": "not available (DfE '..')",
    "": "not published",
}
ATTRIBUTION = ("Contains public sector information licensed under the Open Government Licence v3.0 "
               "(Department for Education, Children looked after in England including adoptions).")


class DfEDataError(ValueError):
    """The DfE file is missing, or the year asked for is not in it."""


def load_dfe(path=None) -> pd.DataFrame:
    """Every row of the DfE file as text, exactly as published (a copy: the caller may change it), read once per
    file version: a batch kernel reads it for every report."""
    path = Path(path) if path else DFE_CSV
    if not path.exists():
        raise DfEDataError(f"The DfE data file is missing: {path}")
    return _read_dfe(path)


_read_dfe = read_once(lambda path: pd.read_csv(path, dtype=str, keep_default_na=False))


def years(frame: pd.DataFrame) -> list[int]:
    return sorted({int(y) for y in frame["year"]})


def missing_rates(year: int | None = None, path=None) -> tuple[int, pd.DataFrame]:
    """(year, table) of LA rows: count = children who went missing, denominator = looked after during the year.

    ``status`` is "published" when both values are numbers, otherwise the
    reason (DfE symbol) the authority cannot be shown. Default year: the latest.
    """
    frame = load_dfe(path)
    available = years(frame)
    year = available[-1] if year in (None, "", "latest") else int(year)
    if year not in available:
        raise DfEDataError(f"DfE year {year} is not in the data; available: {available[0]} to {available[-1]}")
    rows = frame[(frame["geographic_level"] == "Local authority") & (frame["year"] == str(year))]
    count_text, den_text = rows["children_who_went_missing"], rows["children_looked_after_during_year"]
    count = pd.to_numeric(count_text, errors="coerce")
    den = pd.to_numeric(den_text, errors="coerce")
    status = pd.Series("published", index=rows.index, dtype=object)
    bad_den = den.isna() | (den <= 0)
    status[bad_den] = "denominator " + den_text[bad_den].map(lambda s: SYMBOLS.get(s, f"not a number ({s})"))
    bad_count = count.isna() & ~bad_den
    status[bad_count] = "count " + count_text[bad_count].map(lambda s: SYMBOLS.get(s, f"not a number ({s})"))
    table = pd.DataFrame({
        "year": year, "la_code": rows["la_code"], "la_code_latest": rows["la_code_latest"],
        "la_code_old": rows["la_code_old"], "la_name": rows["la_name"], "region_name": rows["region_name"],
        "count": count.astype("Int64"), "denominator": den.astype("Int64"), "status": status,
    }).reset_index(drop=True)
    return year, table


def la_names(path=None) -> dict[str, str]:
    """GSS code (as published and latest) -> authority name, from the newest year each code appears."""
    try:
        frame = load_dfe(path)
    except DfEDataError:
        return {}
    rows = frame[frame["geographic_level"] == "Local authority"].sort_values("year")
    names = dict(zip(rows["la_code"], rows["la_name"]))
    names.update(zip(rows["la_code_latest"], rows["la_name"]))
    return names


def reporting_year(day) -> int:
    """The DfE reporting year (ending 31 March) that contains ``day``: 2018-03-31 -> 2018, 2018-04-01 -> 2019."""
    day = pd.Timestamp(day)
    return day.year + (1 if day.month > 3 else 0)


def year_for_period(period_end=None, data_end=None, requested=None, path=None) -> tuple[int, str]:
    """The DfE year to show beside an analysed period, and a note saying how it was chosen.

    ``requested`` (the ``dfe_year`` parameter or ``rhi batch --dfe-year``) wins; otherwise the reporting
    year containing the end of the period (or of the data); when DfE has no such year, the nearest one.
    """
    available = years(load_dfe(path))
    if requested not in (None, "", "auto"):
        year = available[-1] if requested == "latest" else int(requested)
        if year not in available:
            raise DfEDataError(f"DfE year {year} is not in the data; available: {available[0]} to {available[-1]}")
        return year, f"DfE year {year} as requested"
    end = period_end if period_end is not None else data_end
    if end is None or pd.isna(end):
        return available[-1], f"the latest DfE year ({available[-1]}): the analysed period has no end date"
    wanted = reporting_year(end)
    if wanted in available:
        return wanted, f"the DfE year ending 31 March {wanted}, which contains the end of the analysed period"
    nearest = min(available, key=lambda y: (abs(y - wanted), y))
    return nearest, (f"the DfE year ending 31 March {nearest}, the nearest published to the analysed period "
                     f"(which ends in the year ending 31 March {wanted})")


def find_authority(table: pd.DataFrame, code: str | None) -> str | None:
    """The code under which ``code`` is listed in a year's DfE table (as published or its latest code), or None."""
    if not code:
        return None
    hit = table[(table["la_code"] == code) | (table["la_code_latest"] == code)]
    return hit["la_code"].iloc[0] if len(hit) else None
