"""Write a run's publication: the cells, their relations, the derived statistics and the DfE open-data files.

``RUN/publication/`` holds (docs/data-contract.md, "The publication of a run"):

- ``cells.csv``: one row per count cell, its key, its published value
  (digits, or ``c``) and where it is shown;
- ``relations.csv``: the linear relations between cells (sum, overlap, le, le_sum, and linear bounds with
  a coefficient per cell);
- ``statistics.csv``: every derived number shown (percentages, intervals,
  test statistics, odds ratios), as printed, with the cells it rests on;
- ``publication.json``: the disclosure-control settings and the counts of
  primary and secondary suppression;
- ``rhi_publication.csv`` and ``rhi_publication.meta.csv``: the cells in the
  Department for Education's tidy format for statistics releases, built to
  pass DfE's screener (:mod:`analysis.publish.tidy`), with
  ``data-guidance.txt`` beside them (:mod:`analysis.publish.guidance`).

Nothing here holds a child id or a free-text value: keys are built from the
contract's vocabularies.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from analysis.disclosure import SUPPRESSED
from analysis.publish.cells import ALL_SCOPE, BREAKDOWNS
from analysis.publish.publication import Publication

ENGLAND = ("E92000001", "England")
ALL_LEVEL = "Authorities in the dataset"   # cells.csv only: the total over authorities that are not all of England


def cell_ids(pub: Publication) -> dict:
    """A stable id per cell: its position in key order."""
    return {k: f"k{i:06d}" for i, k in enumerate(sorted(pub.store.values))}


def write_publication(pub: Publication, folder: Path, time_period: str, time_identifier: str = "Financial year",
                      extra: dict | None = None, coverage=None, synthetic: bool = False) -> Path:
    """Write the publication's files. ``coverage`` (:class:`analysis.publish.tidy.Coverage`) gives the run's
    reporting years and the dataset's authorities; without it the open-data file has the one ``time_period``
    and the authorities of the publication's scopes."""
    from analysis.publish.guidance import data_guidance
    from analysis.publish.tidy import Coverage, build, level_meanings
    from analysis.reference.dfe import la_names

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ids = cell_ids(pub)
    names = la_names()
    if coverage is None:
        coverage = Coverage(time_period=time_period, time_identifier=time_identifier)
    elif not coverage.time_period:
        coverage.time_period, coverage.time_identifier = time_period, time_identifier
    stats = statistics(pub, ids)
    od = build(pub, ids, stats, coverage)
    rows = []
    for k, cid in ids.items():
        national = k.scope == ALL_SCOPE
        rows.append({"cell_id": cid, "scope": k.scope, "time_period": time_period, "time_identifier": time_identifier,
                     # the total over the dataset's authorities is England only when they are all of England
                     "geographic_level": (od.all_level or ALL_LEVEL) if national else "Local authority",
                     "country_code": ENGLAND[0], "country_name": ENGLAND[1],
                     "new_la_code": "" if national else k.scope, "la_name": "" if national else names.get(k.scope, ""),
                     "unit": k.unit, "population": k.population, "measure": k.measure,
                     **dict(zip(BREAKDOWNS, k.dims)), "value": neutralise(pub.value(k)),
                     "shown_in": ";".join(sorted(_where(w) for w in pub.store.shown_in.get(k, ())))})
    cells = pd.DataFrame(rows)
    _csv(cells, folder / "cells.csv")
    _csv(relation_rows(pub, ids), folder / "relations.csv")
    _csv(stats, folder / "statistics.csv")
    _csv(od.data.map(neutralise), folder / "rhi_publication.csv")
    _csv(od.meta, folder / "rhi_publication.meta.csv")
    (folder / "data-guidance.txt").write_text(data_guidance(od, pub, coverage, synthetic))
    summary = {"tool": "rhi", "min_cell": pub.control.min_cell, "suppressed": pub.control.suppress,
               "zeros_shown": True, "statement": pub.control.statement, "risk_levels": list(pub.risk_levels),
               **pub.summary(), **(extra or {}),
               "open_data": {"time_periods": od.time_periods, "part_years": od.footnotes,
                             "geographic_levels": level_meanings(od),
                             "total_over_authorities": od.all_level or "not in rhi_publication.csv",
                             "why": od.all_reason}}
    (folder / "publication.json").write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    return folder


def relation_rows(pub: Publication, ids: dict) -> pd.DataFrame:
    """``relations.csv``: one row per cell of a relation, with its role (total or part); a linear bound
    (``sum(coefficient x cell) <= 0``) gives each cell its coefficient, the other kinds leave it blank."""
    rows = []
    for n, r in enumerate(pub.relations):
        rid = f"r{n:06d}"
        coefficients = r.coefficients or ("",) * (1 + len(r.parts))
        for k, role, c in zip(r.cells(), ["total"] + ["part"] * len(r.parts), coefficients):
            rows.append({"relation_id": rid, "kind": r.kind, "cell_id": ids[k], "role": role, "coefficient": c})
    return pd.DataFrame(rows, columns=["relation_id", "kind", "cell_id", "role", "coefficient"])


def statistics(pub: Publication, ids: dict) -> pd.DataFrame:
    """Every derived number of every table, as shown, with the cells it rests on."""
    from analysis.publish.publication import P_FLOOR, decimals, is_p_value

    rows = []
    for (scope, name), spec in sorted(pub.tables.items()):
        shown = pub.table(scope, name)
        for column, based in spec.derived.items():
            for i, keys in enumerate(based):
                value = shown.at[i, column]
                numbers = _numbers(value)
                if not numbers:
                    continue   # blank, or words (a test's reason, a model's status): not statistics
                kind = _kind(column)
                num, den = (keys[0], keys[1]) if kind != column and len(keys) == 2 else (None, None)
                p = is_p_value(column)
                for number in numbers:
                    exact = ""
                    if p and not isinstance(number, str):
                        exact = repr(float(number))
                        if float(number) < P_FLOOR:
                            number = f"<{P_FLOOR}"   # as printed; the exact value is in its own column
                    rows.append({"stat_id": f"s{len(rows):06d}", "scope": scope, "statistic": kind,
                                 "value": neutralise(number), "exact": exact,
                                 "decimals": _decimals(number, decimals(column)),
                                 "numerator": ids.get(num, ""), "denominator": ids.get(den, ""),
                                 "based_on": ";".join(ids[k] for k in keys),
                                 "reason": "rests on a suppressed count" if value == SUPPRESSED else "",
                                 "shown_in": _where(f"{scope}/{name}")})
    return pd.DataFrame(rows, columns=["stat_id", "scope", "statistic", "value", "exact", "decimals", "numerator",
                                       "denominator", "based_on", "reason", "shown_in"])


def _kind(column: str) -> str:
    """The format's name of a derived column: percent, ci_lower, ci_upper (by suffix), else the column's name."""
    for suffix, kind in (("pct", "percent"), ("ci_low", "ci_lower"), ("ci_high", "ci_upper")):
        if column == suffix or column.endswith("_" + suffix):
            return kind
    return column


def _numbers(value) -> list:
    """The numbers a shown value prints: one number, 'c', or each number of a text such as '38.4 to 94.9'."""
    import math
    import re

    if value is None or value is pd.NA:
        return []
    if isinstance(value, str):
        if value == SUPPRESSED:
            return [value]
        if re.fullmatch(r"\s*-?\d+(\.\d+)?\s+to\s+-?\d+(\.\d+)?\s*", value):
            return re.findall(r"-?\d+(?:\.\d+)?", value)
        return []
    if isinstance(value, bool):
        return []
    try:
        number = float(value)
    except (TypeError, ValueError):
        return []
    return [] if math.isnan(number) or math.isinf(number) else [value]


def _decimals(number, default: int) -> int:
    text = str(number)
    return len(text.split(".")[1]) if isinstance(number, str) and "." in text else default


SHOWN_AS = {"replicated_figures": "published_vs_replicated"}   # tables a report shows beside other columns


def _where(w: str) -> str:
    scope, _, name = w.partition("/")
    name = SHOWN_AS.get(name, name)
    return f"{scope}/report.html#{name};{scope}/tables/{name}.csv"


def neutralise(value):
    """A value safe to open in a spreadsheet (OWASP: no leading = + - @ tab or carriage return in text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def time_period_of(start, end) -> tuple[str, str]:
    """DfE time_period and time_identifier: the financial year (April-March) of the period's start."""
    if start is None:
        return "", "Financial year"
    year = start.year if start.month >= 4 else start.year - 1
    return f"{year}{str(year + 1)[2:]}", "Financial year"

