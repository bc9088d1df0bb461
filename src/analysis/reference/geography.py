"""English local authorities as DfE publishes them: codes, old (three-digit) codes, names and regions.

The lookup is read from the DfE file the package already ships
(``analysis/data/dfe_cla_missing_by_la.csv``, see its README): every
local-authority row of DfE's *Children looked after in England including
adoptions* releases for the years ending 31 March 2015 to 2024 gives the
authority's GSS code as published (``la_code``), its current code
(``la_code_latest``), its old three-digit code (``la_code_old``), its name and its
region. These are the combinations DfE's own open-data screener accepts
(eesyscreener 0.3.1 checks ``old_la_code`` / ``new_la_code`` / ``la_name``
against DfE's lookup of authorities: every triple in this file is in it).

- :func:`authority` gives the row to write for a code (as published in the
  newest year that has it, else as the newest year's current code), or None
  for a code DfE does not publish (a fictitious or mistyped code);
- :func:`english_authorities` gives, for a DfE reporting year, the codes of
  every authority DfE lists that year, so that a total can be called England
  only when a dataset covers all of them;
- :func:`region_authorities` does the same for one region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from analysis.reference.dfe import DfEDataError, load_dfe


@dataclass(frozen=True)
class Authority:
    new_la_code: str
    old_la_code: str
    la_name: str
    region_code: str
    region_name: str


@lru_cache(maxsize=1)
def _authority_rows() -> pd.DataFrame:
    try:
        frame = load_dfe()
    except DfEDataError:
        return pd.DataFrame(columns=["year", "la_code", "la_code_old", "la_code_latest", "la_name",
                                     "region_code", "region_name"])
    rows = frame[frame["geographic_level"] == "Local authority"].copy()
    rows["year"] = rows["year"].astype(int)
    return rows.sort_values(["year", "la_code"], kind="stable")


def authority(code: str) -> Authority | None:
    """The authority DfE publishes under ``code`` (a GSS code as published in some year, or a current code)."""
    rows = _authority_rows()
    for column in ("la_code", "la_code_latest"):
        hit = rows[rows[column] == code]
        if len(hit):
            row = hit.iloc[-1]   # the newest year that has the code
            return Authority(code, row["la_code_old"], row["la_name"], row["region_code"], row["region_name"])
    return None


def dfe_years() -> list[int]:
    """The DfE reporting years (ending 31 March) the lookup covers."""
    return sorted(set(_authority_rows()["year"]))


def english_authorities(year: int) -> list[tuple[str, str]]:
    """(code as published, current code) of every authority DfE lists for the year ending 31 March ``year``;
    [] when the lookup has no such year."""
    rows = _authority_rows()
    rows = rows[rows["year"] == int(year)]
    return list(zip(rows["la_code"], rows["la_code_latest"]))


def region_authorities(year: int, region_code: str) -> list[tuple[str, str]]:
    """As :func:`english_authorities`, for the authorities of one region."""
    rows = _authority_rows()
    rows = rows[(rows["year"] == int(year)) & (rows["region_code"] == region_code)]
    return list(zip(rows["la_code"], rows["la_code_latest"]))


def regions() -> dict[str, str]:
    """Region code -> name, as DfE publishes them."""
    rows = _authority_rows()
    return dict(zip(rows["region_code"], rows["region_name"]))


def covers(codes, listed) -> bool:
    """Whether a dataset's authority ``codes`` include every (code, current code) pair of ``listed`` (by either)."""
    codes = set(codes)
    return bool(listed) and all(a in codes or b in codes for a, b in listed)
