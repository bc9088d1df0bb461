"""The canonical tables' columns (contract, section 1) as pandera schemas and parsers.

Each column is described once by a ``ColumnSpec``. From it come the pandera
check that finds bad cells (run lazily, so every problem is reported) and the
parser that turns accepted text into a typed value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from analysis import vocab


def normalise_code(series: pd.Series) -> pd.Series:
    """Lower case, trimmed, spaces and hyphens as underscores: 'Looked After' -> 'looked_after'.

    Only the distinct values are normalised (a column of codes holds a handful of them among
    millions of cells; the regex runs in Python for each value), then put back in place. Missing
    values come back as they were, and the result has the dtype, index and name the element-wise
    :func:`_normalise_each` would give.
    """
    if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return _normalise_each(series)
    codes, uniques = pd.factorize(series)
    distinct = _normalise_each(pd.Series(uniques, dtype=series.dtype))
    values = distinct.array.take(codes, allow_fill=True)  # -1 (missing) -> the dtype's missing value
    missing = codes < 0
    if series.dtype == object and missing.any():  # None, NaN or NA: each kept as it was
        values = values.to_numpy(dtype=object, copy=True)
        values[missing] = series.to_numpy(dtype=object)[missing]
    return pd.Series(values, index=series.index, name=series.name, dtype=series.dtype)


def _normalise_each(series: pd.Series) -> pd.Series:
    """:func:`normalise_code` computed cell by cell."""
    return series.str.lower().str.strip().str.replace(r"[\s\-]+", "_", regex=True)


def _norm_key(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.lower().strip())


DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d/%m/%Y %H:%M:%S",
)
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m")
# Plausible dates (contract, section 2): none before this day, none after the extract was made.
EARLIEST = pd.Timestamp("1990-01-01")
# Kinds whose values are codes or identifiers: plain printable ASCII only, so that a look-alike
# character (a Cyrillic "с", an Arabic-Indic digit) can never pass for, or hide behind, a code.
ASCII_KINDS = ("id", "enum", "bool", "gss")
ASCII_EXPECTED = "plain ASCII letters, digits and punctuation (codes and identifiers)"


def parse_datetimes(series: pd.Series, formats=DATETIME_FORMATS) -> pd.Series:
    """Parse text in any accepted form; blank or unparseable -> NaT. Plausibility is checked apart."""
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    todo = series != ""
    for fmt in formats:
        if not todo.any():
            break
        parsed = pd.to_datetime(series[todo], format=fmt, errors="coerce")
        out.loc[parsed.index] = out.loc[parsed.index].fillna(parsed)
        todo = todo & out.isna()
    return out.astype("datetime64[ns]")


def parse_dates(series: pd.Series) -> pd.Series:
    return parse_datetimes(series, DATE_FORMATS)


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str                      # id, text, enum, date, datetime, bool, gss
    required: bool = False
    codes: dict | None = None      # enum: accepted text -> canonical value

    @property
    def expected(self) -> str:
        if self.kind == "enum":
            return vocab.expected_text(self.codes)
        return {
            "id": "an identifier",
            "text": "text",
            "date": "a date as YYYY-MM-DD, dd/mm/yyyy or YYYY-MM",
            "datetime": "a date and time as YYYY-MM-DD HH:MM or dd/mm/yyyy HH:MM (or a date)",
            "bool": "true/false, yes/no, y/n or 1/0",
            "gss": "a GSS local authority code such as E08000025 (E06, E08, E09, E10 or W06 and six digits)",
        }[self.kind]

    def normalised_codes(self) -> dict:
        return {_norm_key(k): v for k, v in (self.codes or {}).items()}

    def is_valid(self, series: pd.Series) -> pd.Series:
        """True where the cell is acceptable (blank is acceptable here; required is checked apart).

        A code that is not ASCII passes here: the check :func:`is_ascii` reports it, once.
        """
        blank = series == ""
        if self.kind in ("id", "text"):
            return pd.Series(True, index=series.index)
        skip = blank | ~is_ascii(series)
        if self.kind == "enum":
            return skip | normalise_code(series).isin(self.normalised_codes().keys())
        if self.kind == "bool":
            return skip | series.str.lower().isin(vocab.BOOLEAN.keys())
        if self.kind == "gss":
            return skip | series.str.upper().str.fullmatch(r"(E06|E08|E09|E10|W06)[0-9]{6}")
        if self.kind == "date":
            return blank | parse_dates(series).notna()
        if self.kind == "datetime":
            return blank | parse_datetimes(series).notna()
        raise ValueError(self.kind)

    def parse(self, series: pd.Series) -> pd.Series:
        """Typed values; blank -> missing (NA, NaT)."""
        blank = series == ""
        if self.kind in ("id", "text"):
            return series.where(~blank, None).astype("object")
        if self.kind == "enum":
            mapped = normalise_code(series).map(self.normalised_codes())
            return mapped.where(~blank, None).astype("object")
        if self.kind == "bool":
            return series.str.lower().map(vocab.BOOLEAN).astype("boolean")
        if self.kind == "gss":
            return series.str.upper().where(~blank, None).astype("object")
        if self.kind == "date":
            return parse_dates(series)
        if self.kind == "datetime":
            return parse_datetimes(series)
        raise ValueError(self.kind)


def is_ascii(series: pd.Series) -> pd.Series:
    """True where every character is printable ASCII (space to tilde)."""
    return series.str.fullmatch(r"[\x20-\x7e]*").fillna(True).astype(bool)


def first_non_ascii(text: str) -> str:
    """The first character of text that is not printable ASCII, named: 'U+0660 ARABIC-INDIC DIGIT ZERO'."""
    import unicodedata

    char = next(ch for ch in text if not " " <= ch <= "~")
    return f"{char!r} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')})"


def C(name, kind, required=False, codes=None) -> ColumnSpec:
    return ColumnSpec(name, kind, required, codes)


COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "children": (
        C("child_id", "id", True), C("sex", "enum", True, vocab.SEX),
        C("date_of_birth", "date", True), C("uasc", "bool"), C("ethnicity", "text"),
    ),
    "episodes": (
        C("episode_id", "id", True), C("child_id", "id", True), C("la_code", "gss", True),
        C("missing_start", "datetime", True), C("missing_end", "datetime"),
        C("episode_type", "enum", False, vocab.EPISODE_TYPE),
        C("police_risk", "enum", False, vocab.POLICE_RISK),
        C("missing_from", "enum", False, vocab.MISSING_FROM),
        C("legal_status", "enum", False, vocab.LEGAL_STATUS),
        C("found_location", "text"),
    ),
    "rhis": (
        C("rhi_id", "id", True), C("child_id", "id", True), C("offered_at", "datetime"),
        C("status", "enum", True, vocab.RHI_STATUS),
        C("decline_reason", "enum", False, vocab.DECLINE_REASON),
        C("completed_at", "datetime"), C("legal_status", "enum", False, vocab.LEGAL_STATUS),
        C("consent_to_share", "enum", False, vocab.CONSENT),
        C("confidentiality_overridden", "bool"), C("shared_wider", "bool"),
        C("follow_up", "enum", False, vocab.FOLLOW_UP), C("helpline_signposted", "bool"),
    ),
    "rhi_episodes": (C("rhi_id", "id", True), C("episode_id", "id", True)),
    "disclosures": (C("rhi_id", "id", True), C("indicator", "id", True), C("note", "text")),
    "indicators": (C("indicator", "id", True), C("group", "text")),
}
UNIQUE = {"indicators": "indicator"}
# Identifiers and the table each is defined in (unique there). They are compared ignoring case (surrounding
# spaces are trimmed from every cell): uniqueness and the links between tables are checked that way by
# analysis.dataset.validate, which also writes every mention of an id as the defining row spells it.
IDS = {"child_id": "children", "episode_id": "episodes", "rhi_id": "rhis"}


def table_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema that finds every bad cell of one raw (text) table."""
    columns = {}
    for spec in COLUMNS[table]:
        checks = []
        if spec.required:
            checks.append(pa.Check(lambda s: s != "", error="a value (this column is required)"))
        if spec.kind in ASCII_KINDS:
            checks.append(pa.Check(is_ascii, error=ASCII_EXPECTED))
        if spec.kind not in ("id", "text"):
            checks.append(pa.Check(spec.is_valid, error=spec.expected))
        columns[spec.name] = pa.Column(
            checks=checks, required=spec.required, nullable=True,
            unique=UNIQUE.get(table) == spec.name,
        )
    return pa.DataFrameSchema(columns, strict=False, name=table)


def parse_table(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Typed copy of a valid raw table; absent optional columns become all-missing."""
    out = {}
    for spec in COLUMNS[table]:
        if spec.name in frame.columns:
            out[spec.name] = spec.parse(frame[spec.name])
        else:
            out[spec.name] = spec.parse(pd.Series("", index=frame.index, dtype=object).astype(str))
    return pd.DataFrame(out, index=frame.index)


__all__ = ["COLUMNS", "IDS", "ColumnSpec", "table_schema", "parse_table", "parse_datetimes", "parse_dates", "is_ascii"]
