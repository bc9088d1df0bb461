"""Reading a run's publication (``cells.csv``, ``relations.csv``, ``statistics.csv``, ``publication.json``).

Every malformed value is collected as a problem naming the file, the row as
seen in the file (the header is row 1) and the column; a publication with any
problem is not audited (``PublicationError``), so an audit is never partial.

Values: a published count is a whole number written as digits; ``c`` is
suppressed, ``z`` not applicable, ``x`` not available. Statistics are decimal
numbers as printed, or ``c``/``z``/``x``.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import Problem

CELL_COLUMNS = ("cell_id", "scope", "time_period", "time_identifier", "geographic_level", "new_la_code", "la_name",
                "unit", "measure")
REQUIRED_CELL_COLUMNS = ("cell_id", "scope", "unit", "measure", "value")
PLACE_COLUMNS = ("country_code", "country_name", "region_code", "region_name", "old_la_code")
NOT_BREAKDOWN = set(CELL_COLUMNS) | set(PLACE_COLUMNS) | {"value", "shown_in"}
RELATION_KINDS = ("sum", "overlap", "le", "le_sum", "linear")
SYMBOLS = ("c", "z", "x")
STATISTIC_NAMES = {"percent": ("percent", "pct"), "ci_lower": ("ci_lower", "ci_low"),
                   "ci_upper": ("ci_upper", "ci_high"), "rate": ("rate",)}
WHOLE = re.compile(r"^[0-9]+$")
DECIMAL = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class PublicationError(Exception):
    """A publication that cannot be audited; carries every problem found."""

    def __init__(self, problems: list[Problem], path: str = ""):
        self.problems = list(problems)
        self.path = path
        super().__init__(f"{len(self.problems)} problem(s) in {path or 'publication'}")

    def lines(self, limit: int = 30) -> list[str]:
        shown = [problem_text(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            shown.append(f"... and {len(self.problems) - limit} more problem(s)")
        return shown


def problem_text(problem: Problem) -> str:
    """'file, row R, column C: value 'v': expected ...' (no 'row' for a whole-file problem)."""
    where = problem.source
    if problem.row is not None:
        where += f", row {problem.row}" + (" (header)" if problem.row == 1 and problem.value is None else "")
    if problem.column:
        where += f", column {problem.column}"
    shown = "" if problem.value is None else f": value {problem.value!r}"
    return f"{where}{shown}: expected {problem.expected}"


class UsageError(ValueError):
    """A bad option (the command exits 2)."""


@dataclass
class Relation:
    relation_id: str
    kind: str            # sum | overlap | le | le_sum | linear
    total: int           # row index of the total cell in Publication.cells
    parts: list[int]
    source: str = ""     # e.g. "relations.csv, rows 2-5"
    coefficients: list[int] = field(default_factory=list)   # linear: one per cell, the total's first


@dataclass
class Statistic:
    stat_id: str
    statistic: str
    value: Fraction | None       # None when not published (c, z, x)
    decimals: int
    numerator: int | None        # row index in Publication.cells
    denominator: int | None
    multiplier: Fraction = Fraction(1)
    shown_in: str = ""
    source: str = ""
    name: str = ""                 # as written in the file (e.g. "pct", "within_72h_ci_low")


@dataclass
class Publication:
    """Cells (a DataFrame, one row per cell) with their relations and the statistics built on them."""

    source: str
    cells: pd.DataFrame
    relations: list[Relation]
    statistics: list[Statistic] = field(default_factory=list)
    not_modelled: Counter = field(default_factory=Counter)   # statistic name -> how many published, not modelled
    min_cell: int = 5
    zeros_shown: bool = True
    suppressed: bool | None = None
    notes: list[str] = field(default_factory=list)
    risk_levels: tuple | None = None   # the police grades in scope (publication.json), if it says

    @property
    def breakdown_columns(self) -> list[str]:
        return [c for c in self.cells.columns if c not in NOT_BREAKDOWN and not c.startswith("_")]

    @property
    def symbols(self) -> np.ndarray:
        """'' for a published whole number, else 'c', 'z' or 'x'."""
        return self.cells["_symbol"].to_numpy()

    @property
    def known(self) -> np.ndarray:
        """The published whole numbers (0 where unknown)."""
        return self.cells["_known"].to_numpy()

    def describe(self, index: int) -> dict:
        row = self.cells.iloc[index]
        breakdown = {c: row[c] for c in self.breakdown_columns if row[c] not in ("", "Total")}
        return {"cell_id": row["cell_id"], "scope": row["scope"], "unit": row["unit"], "measure": row["measure"],
                "breakdown": breakdown}


# --- low-level reading --------------------------------------------------------------------------


def read_csv_rows(path: Path, problems: list[Problem], table: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file; ragged rows, bad encoding and empty files become problems."""
    name = path.name
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as exc:
        problems.append(Problem(table, name, None, None, None, f"a UTF-8 text file ({exc.reason} at byte {exc.start})"))
        return [], []
    except csv.Error as exc:
        problems.append(Problem(table, name, None, None, None, f"a readable CSV file ({exc})"))
        return [], []
    except OSError as exc:
        problems.append(Problem(table, name, None, None, None, f"a readable file ({exc.strerror})"))
        return [], []
    if not rows or not any(cell.strip() for cell in rows[0]):
        problems.append(Problem(table, name, 1, None, None, "a header row naming the columns"))
        return [], []
    header = [h.strip() for h in rows[0]]
    seen = Counter(header)
    for column, n in seen.items():
        if n > 1:
            problems.append(Problem(table, name, 1, column, None, "each column named once"))
    body = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue                                        # blank lines carry nothing
        if len(row) != len(header):
            problems.append(Problem(table, name, number, None, None,
                                    f"{len(header)} fields like the header, found {len(row)}"))
            continue
        body.append([cell.strip() for cell in row] + [str(number)])
    return header, body


def frame(header: list[str], body: list[list[str]]) -> pd.DataFrame:
    df = pd.DataFrame(body, columns=header + ["_row"], dtype=str)
    df["_row"] = df["_row"].astype(int)
    return df


def require_columns(df: pd.DataFrame, columns, name: str, table: str, problems: list[Problem]) -> bool:
    missing = [c for c in columns if c not in df.columns]
    for column in missing:
        problems.append(Problem(table, name, 1, column, None, f"a column named {column!r}"))
    return not missing


def parse_decimal(text: str) -> Fraction | None:
    return Fraction(text) if DECIMAL.match(text) else None


def statistic_kind(name: str) -> str | None:
    """percent, ci_lower, ci_upper or rate for the statistics linked to their cells (``pct``, ``ci_low``,
    ``ci_high`` and names ending in ``_pct``, ``_ci_low``... count too); None for the others."""
    for kind, names in STATISTIC_NAMES.items():
        if name in names or any(name.endswith("_" + n) for n in names):
            return kind
    return None


# --- the publication folder ----------------------------------------------------------------------


def read_cells(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    header, body = read_csv_rows(path, problems, "cells")
    if not header:
        return None
    df = frame(header, body)
    if not require_columns(df, REQUIRED_CELL_COLUMNS, path.name, "cells", problems):
        return None
    if "shown_in" not in df.columns:
        df["shown_in"] = ""
    for _, row in df[df["cell_id"] == ""].iterrows():
        problems.append(Problem("cells", path.name, row["_row"], "cell_id", "", "a cell id"))
    duplicated = df[df["cell_id"].duplicated(keep="first") & (df["cell_id"] != "")]
    for _, row in duplicated.iterrows():
        problems.append(Problem("cells", path.name, row["_row"], "cell_id", row["cell_id"], "a cell id used once"))
    set_values(df, path.name, "cells", problems)
    return df


def set_values(df: pd.DataFrame, name: str, table: str, problems: list[Problem], lenient: bool = False) -> None:
    """Parse the value column into ``_known`` (whole number) and ``_symbol`` ('' or c/z/x)."""
    values = df["value"].str.strip()
    if lenient:   # hand-made tables: C/Z/X in any case and thousands separators
        values = values.str.lower().str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True)
    whole = values.str.fullmatch(r"[0-9]+")
    symbol = values.where(values.isin(SYMBOLS), "")
    bad = ~whole & (symbol == "")
    for _, row in df[bad].iterrows():
        problems.append(Problem(table, name, row["_row"], row.get("_column", "value"), row["value"],
                                "a whole number written as digits, or c (suppressed), z or x"))
    df["_symbol"] = symbol
    df["_known"] = [int(v) if ok else 0 for v, ok in zip(values, whole)]


def read_relations(path: Path, index: dict[str, int], problems: list[Problem]) -> list[Relation]:
    header, body = read_csv_rows(path, problems, "relations")
    if not header:
        return []
    df = frame(header, body)
    if not require_columns(df, ("relation_id", "kind", "cell_id", "role"), path.name, "relations", problems):
        return []
    groups: dict[str, list[dict]] = {}
    for row in df.to_dict("records"):       # plain dicts: a run has tens of thousands of rows
        groups.setdefault(row["relation_id"], []).append(row)
    return [rel for rid, group in groups.items()
            if (rel := _relation(rid, group, path.name, index, problems)) is not None]


def _relation(rid: str, group: list[dict], name: str, index: dict[str, int], problems: list[Problem]):
    first = group[0]
    if rid == "":
        problems.append(Problem("relations", name, first["_row"], "relation_id", "", "a relation id"))
        return None
    kinds = {row["kind"] for row in group}
    if len(kinds) > 1:
        problems.append(Problem("relations", name, first["_row"], "kind", ", ".join(sorted(kinds)),
                                f"one kind for every row of relation {rid!r}"))
        return None
    kind = first["kind"]
    if kind not in RELATION_KINDS:
        problems.append(Problem("relations", name, first["_row"], "kind", kind, "one of " + ", ".join(RELATION_KINDS)))
        return None
    total, parts, ok, seen = [], [], True, set()
    coefficients = {}
    for row in group:
        cell = index.get(row["cell_id"])
        if kind == "linear":
            text = str(row.get("coefficient", "")).strip()
            if not re.fullmatch(r"-?[0-9]+", text) or int(text) == 0:
                problems.append(Problem("relations", name, row["_row"], "coefficient", text,
                                        "a whole number other than 0 (a linear relation gives every cell one)"))
                ok = False
                continue
            coefficients[cell] = int(text)
        if cell is None:
            problems.append(Problem("relations", name, row["_row"], "cell_id", row["cell_id"],
                                    "a cell_id of cells.csv"))
            ok = False
        elif row["role"] not in ("total", "part"):
            problems.append(Problem("relations", name, row["_row"], "role", row["role"], "total or part"))
            ok = False
        elif cell in seen:
            problems.append(Problem("relations", name, row["_row"], "cell_id", row["cell_id"],
                                    f"each cell once in relation {rid!r}"))
            ok = False
        else:
            seen.add(cell)
            (total if row["role"] == "total" else parts).append(cell)
    if ok and (len(total) != 1 or not parts):
        problems.append(Problem("relations", name, first["_row"], "role", None,
                                f"exactly one total and at least one part in relation {rid!r} "
                                f"(found {len(total)} total(s), {len(parts)} part(s))"))
        ok = False
    if not ok:
        return None
    rows = [row["_row"] for row in group]
    return Relation(str(rid), kind, total[0], parts, f"{name}, row{'s' if len(rows) > 1 else ''} {_ranges(rows)}",
                    [coefficients[c] for c in [total[0], *parts]] if kind == "linear" else [])


def read_statistics(path: Path, index: dict[str, int], problems: list[Problem]) -> tuple[list[Statistic], Counter]:
    """Statistics linked to cells (percent, ci_lower, ci_upper, rate); others are only counted."""
    header, body = read_csv_rows(path, problems, "statistics")
    if not header:
        return [], Counter()
    df = frame(header, body)
    needed = ("stat_id", "statistic", "value", "decimals", "numerator", "denominator")
    if not require_columns(df, needed, path.name, "statistics", problems):
        return [], Counter()
    factor_column = next((c for c in ("multiplier", "per") if c in df.columns), None)
    stats, not_modelled = [], Counter()
    for row in df.to_dict("records"):
        n, value, name = int(row["_row"]), row["value"], row["statistic"]
        kind = statistic_kind(name)
        if kind is None:             # not modelled: only counted where it shows a number
            if parse_decimal(value) is not None:
                not_modelled[name or "(blank)"] += 1
            continue
        if value in SYMBOLS or value == "":      # not shown: tells the attacker nothing
            number = None
        else:
            number = parse_decimal(value)
            if number is None:
                problems.append(Problem("statistics", path.name, n, "value", value,
                                        "a decimal number as printed, or c, z or x"))
                continue
        if not WHOLE.match(row["decimals"]):
            problems.append(Problem("statistics", path.name, n, "decimals", row["decimals"],
                                    "the number of decimal places printed (0, 1, 2, ...)"))
            continue
        decimals = int(row["decimals"])
        if number is not None and "." in value and len(value.split(".")[1]) > decimals:
            problems.append(Problem("statistics", path.name, n, "value", value,
                                    f"at most {decimals} decimal place(s), as the decimals column says"))
            continue
        cells = {}
        for column in ("numerator", "denominator"):
            cid = row[column]
            cells[column] = index.get(cid) if cid else None
            if cid and cells[column] is None:
                problems.append(Problem("statistics", path.name, n, column, cid, "a cell_id of cells.csv"))
        multiplier = Fraction(1)
        if factor_column and row[factor_column]:
            multiplier = parse_decimal(row[factor_column]) or Fraction(0)
            if multiplier <= 0:
                problems.append(Problem("statistics", path.name, n, factor_column, row[factor_column],
                                        "a positive number"))
                continue
        if number is None:
            continue
        if cells["numerator"] is None or cells["denominator"] is None:
            not_modelled[name + " without numerator and denominator"] += 1
            continue
        stats.append(Statistic(row["stat_id"], kind, number, decimals, cells["numerator"], cells["denominator"],
                               multiplier, row.get("shown_in", ""), f"{path.name}, row {n}", name))
    return stats, not_modelled


def read_settings(path: Path, problems: list[Problem]) -> dict:
    """publication.json: min_cell (whole number >= 1), zeros_shown and suppressed (true/false), risk_levels."""
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem("publication", path.name, None, None, None, f"a JSON object ({exc})"))
        return {}
    if not isinstance(settings, dict):
        problems.append(Problem("publication", path.name, None, None, None, "a JSON object"))
        return {}
    out = {}
    min_cell = settings.get("min_cell", 5)
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 1:
        problems.append(Problem("publication", path.name, None, "min_cell", str(min_cell), "a whole number >= 1"))
    else:
        out["min_cell"] = min_cell
    for key in ("zeros_shown", "suppressed"):
        if key in settings:
            if not isinstance(settings[key], bool):
                problems.append(Problem("publication", path.name, None, key, str(settings[key]), "true or false"))
            else:
                out[key] = settings[key]
    if "risk_levels" in settings:
        levels = settings["risk_levels"]
        if not isinstance(levels, list) or not all(isinstance(v, str) for v in levels):
            problems.append(Problem("publication", path.name, None, "risk_levels", str(levels), "a list of grades"))
        else:
            out["risk_levels"] = tuple(levels)
    return out


def load_publication(folder: Path) -> Publication:
    """Read and validate a publication folder; raise PublicationError naming every problem."""
    folder = Path(folder)
    problems: list[Problem] = []
    for required in ("cells.csv", "relations.csv"):
        if not (folder / required).is_file():
            problems.append(Problem("publication", str(folder / required), None, None, None,
                                    f"the file {required} of the run's publication"))
    if problems:
        raise PublicationError(problems, str(folder))
    cells = read_cells(folder / "cells.csv", problems)
    if cells is None:
        raise PublicationError(problems, str(folder))
    index = {cid: i for i, cid in enumerate(cells["cell_id"])}
    relations = read_relations(folder / "relations.csv", index, problems)
    stats, not_modelled = [], Counter()
    if (folder / "statistics.csv").is_file():
        stats, not_modelled = read_statistics(folder / "statistics.csv", index, problems)
    settings = {}
    notes = []
    if (folder / "publication.json").is_file():
        settings = read_settings(folder / "publication.json", problems)
    else:
        notes.append("no publication.json: min_cell 5 and zeros shown as 0 assumed")
    if problems:
        raise PublicationError(problems, str(folder))
    return Publication(str(folder), cells.reset_index(drop=True), relations, stats, not_modelled,
                       min_cell=settings.get("min_cell", 5), zeros_shown=settings.get("zeros_shown", True),
                       suppressed=settings.get("suppressed"), notes=notes, risk_levels=settings.get("risk_levels"))


def _ranges(numbers: list[int]) -> str:
    numbers = sorted(numbers)
    if len(numbers) > 1 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers))
