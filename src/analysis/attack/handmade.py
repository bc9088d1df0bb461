"""Relations inferred from hand-made tables: DfE tidy files and simple cross-tabulations.

A folder (or one file) of CSVs, as a user might make by hand, without the
run's ``cells.csv``/``relations.csv``. Each file is read on its own; nothing
links two files (the same population in two files is not inferred).

**DfE tidy files** (a file with ``time_period`` and ``geographic_level``
columns): time and location columns (``time_period``, ``time_identifier``,
``geographic_level``, ``country_code``, ``new_la_code``, ``la_name``, ...)
identify the place and period. The other columns are filters or indicators: as
``NAME.meta.csv`` says (``col_name``, ``col_type`` Filter/Indicator) if there is
one beside the file; otherwise a column whose every value is a number or
``c``/``z``/``x`` is an indicator and any other column a filter. An indicator
whose values are all whole numbers (or symbols) is a count: every value of it
is a cell. Decimal indicators (percentages, rates) are not modelled.
For each filter with a ``Total`` level (any case), among the rows that agree
on every other filter, time and location column, the ``Total`` row of each
count indicator is the **sum** of the other rows; ``--overlap FILTER`` makes it
an **overlap** instead (total <= sum of parts, each part <= total), for levels
that may share people (a child in two cohorts). Geographic levels are not
related (a national row is not taken to be the sum of the authorities shown).

**Cross-tabulations** (any other CSV): the first column holds row labels, the
header the column labels, the other columns the counts. A row labelled
``Total`` or ``All`` (any case, or starting with ``Total ``/``All ``) is the sum
of the other rows, column by column; a column so labelled is the sum of the
other columns, row by row. Columns with decimal values are left out.
``--overlap`` naming the first column's header makes the rows overlap.

Values: whole numbers (thousands separators allowed), ``c`` suppressed, ``z``
not applicable, ``x`` not available (any case). A ``publication.json`` in the
folder may set ``min_cell`` and ``zeros_shown`` as in a run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.errors import Problem
from analysis.attack.read import (CELL_COLUMNS, Publication, PublicationError, Relation, UsageError, frame, read_csv_rows,
                   read_settings, set_values)

TIME_AND_PLACE = ("time_period", "time_identifier", "geographic_level", "country_code", "country_name",
                  "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "lad_code", "lad_name",
                  "pcon_code", "pcon_name", "lsip_code", "lsip_name", "local_enterprise_partnership_code",
                  "local_enterprise_partnership_name", "english_devolved_area_code", "english_devolved_area_name",
                  "opportunity_area_code", "opportunity_area_name", "ward_code", "ward_name", "trust_id",
                  "trust_name", "sponsor_id", "sponsor_name", "school_urn", "school_laestab", "school_name",
                  "provider_ukprn", "provider_name", "institution_id", "institution_name", "planning_area_code",
                  "planning_area_name")
NUMBER_OR_SYMBOL = re.compile(r"^(-?[0-9]{1,3}(,[0-9]{3})+|-?[0-9]+)(\.[0-9]+)?$|^[czxCZX]$")
WHOLE_OR_SYMBOL = re.compile(r"^([0-9]{1,3}(,[0-9]{3})+|[0-9]+)$|^[czxCZX]$")
TOTAL_LABEL = re.compile(r"^(total|all|grand total)$|^(total|all) ", re.IGNORECASE)


def load_handmade(path: Path, overlap: tuple[str, ...] = ()) -> Publication:
    path = Path(path)
    problems: list[Problem] = []
    files = [path] if path.is_file() else sorted(p for p in path.glob("*.csv") if not p.name.endswith(".meta.csv"))
    if not files:
        raise PublicationError([Problem("tables", str(path), None, None, None,
                                        "a run folder (with publication/), a publication folder (cells.csv, "
                                        "relations.csv) or a folder of CSV tables")], str(path))
    cells, relations, notes, used_overlap = [], [], [], set()
    for file in files:
        header, body = read_csv_rows(file, problems, "tables")
        if not header:
            continue
        df = frame(header, body)
        reader = _dfe if {"time_period", "geographic_level"} <= set(header) else _crosstab
        got = reader(file, df, set(overlap), problems, notes, used_overlap)
        if got is not None:
            cells.append(got[0])
            relations.extend(got[1])
    unknown = sorted(set(overlap) - used_overlap)
    if unknown:
        raise UsageError(f"--overlap {', '.join(unknown)}: no filter (or first column) of that name with a Total "
                         f"level in {path}")
    settings = {}
    folder = path if path.is_dir() else path.parent
    if (folder / "publication.json").is_file():
        settings = read_settings(folder / "publication.json", problems)
    if problems:
        raise PublicationError(problems, str(path))
    table = pd.concat(cells, ignore_index=True).fillna("")
    index = {cid: i for i, cid in enumerate(table["cell_id"])}
    resolved = [Relation(r.relation_id, r.kind, index[r.total], [index[p] for p in r.parts], r.source)
                for r in relations]
    return Publication(str(path), table, resolved, min_cell=settings.get("min_cell", 5),
                       zeros_shown=settings.get("zeros_shown", True), suppressed=settings.get("suppressed"),
                       notes=notes)


def _cell_frame(records: list[dict], name: str, problems: list[Problem]) -> pd.DataFrame:
    df = pd.DataFrame(records)
    set_values(df, name, "tables", problems, lenient=True)
    return df.drop(columns=["_row", "_column"])


def _meta(file: Path, problems: list[Problem]) -> dict[str, str] | None:
    meta = file.with_name(file.name[:-4] + ".meta.csv")
    if not meta.is_file():
        return None
    header, body = read_csv_rows(meta, problems, "tables")
    if not header:
        return {}
    df = frame(header, body)
    if not {"col_name", "col_type"} <= set(df.columns):
        problems.append(Problem("tables", meta.name, 1, None, None, "columns col_name and col_type"))
        return {}
    types = {}
    for _, row in df.iterrows():
        if row["col_type"] not in ("Filter", "Indicator"):
            problems.append(Problem("tables", meta.name, int(row["_row"]), "col_type", row["col_type"],
                                    "Filter or Indicator"))
        types[row["col_name"]] = row["col_type"]
    return types


def _dfe(file: Path, df: pd.DataFrame, overlap: set[str], problems, notes, used_overlap):
    name = file.name
    meta = _meta(file, problems)
    others = [c for c in df.columns if c not in TIME_AND_PLACE and c != "_row"]
    if meta is not None:
        for c in others:
            if c not in meta:
                problems.append(Problem("tables", file.name[:-4] + ".meta.csv", None, "col_name", c,
                                        f"a row for every filter and indicator column of {name}"))
        filters = [c for c in others if meta.get(c) == "Filter"]
        indicators = [c for c in others if meta.get(c) == "Indicator"]
    else:
        def numeric(c):
            values = df[c].str.strip()
            return values.str.match(NUMBER_OR_SYMBOL).all() and not values.str.lower().eq("total").any()
        indicators = [c for c in others if len(df) and numeric(c)]
        filters = [c for c in others if c not in indicators]
    counts = []
    for c in indicators:
        if df[c].str.strip().str.match(WHOLE_OR_SYMBOL).all():
            counts.append(c)
        elif meta is None or df[c].str.strip().str.match(NUMBER_OR_SYMBOL).all():
            notes.append(f"{name}: indicator {c} has decimal values and is not modelled")
        else:
            counts.append(c)   # declared an indicator with bad values: let the value check name them
    if not counts:
        notes.append(f"{name}: no count indicator found")
        return None
    place = [c for c in TIME_AND_PLACE if c in df.columns]
    shown_place = [c for c in CELL_COLUMNS if c in place]
    scope_column = next((c for c in ("new_la_code", "la_name", "region_code", "country_code") if c in df.columns),
                        "geographic_level")
    records = []
    for _, row in df.iterrows():
        scope = row[scope_column] or row["geographic_level"]
        for c in counts:
            records.append({"cell_id": f"{name}:{row['_row']}:{c}", "scope": scope, "unit": "", "measure": c,
                            **{k: row[k] for k in shown_place}, **{f: row[f] for f in filters},
                            "value": row[c], "shown_in": name, "_row": row["_row"], "_column": c})
    cells = _cell_frame(records, name, problems)
    relations = []
    for f in filters:
        is_total = df[f].str.strip().str.lower().eq("total")
        if not is_total.any():
            continue
        kind = "overlap" if f in overlap else "sum"
        used_overlap.update({f} & overlap)
        keys = [c for c in place + filters if c != f]
        groups = df.groupby(keys, sort=False).groups if keys else {(): df.index}
        for number, (_, members) in enumerate(groups.items()):
            group = df.loc[members]
            totals = group[is_total.loc[members]]
            parts = group[~is_total.loc[members]]
            if len(totals) != 1 or parts.empty:
                if len(totals) > 1:
                    problems.append(Problem("tables", name, int(totals["_row"].iloc[1]), f, totals[f].iloc[1],
                                            f"one Total row per combination of the other columns (also row "
                                            f"{int(totals['_row'].iloc[0])})"))
                continue
            dup = parts[parts[f].duplicated()]
            for _, row in dup.iterrows():
                problems.append(Problem("tables", name, int(row["_row"]), f, row[f],
                                        "each level once per combination of the other columns"))
            t = int(totals["_row"].iloc[0])
            for c in counts:
                relations.append(Relation(f"{name}:{f}:{number}:{c}", kind, f"{name}:{t}:{c}",
                                          [f"{name}:{r}:{c}" for r in parts["_row"]],
                                          f"{name}, rows {t} and {', '.join(map(str, parts['_row']))}"))
    return cells, relations


def _crosstab(file: Path, df: pd.DataFrame, overlap: set[str], problems, notes, used_overlap):
    name = file.name
    columns = [c for c in df.columns if c != "_row"]
    if len(columns) < 2:
        problems.append(Problem("tables", name, 1, None, None,
                                "a first column of row labels and at least one column of counts"))
        return None
    label_column, value_columns = columns[0], columns[1:]
    counts = []
    for c in value_columns:
        values = df[c].str.strip()
        if values.str.match(WHOLE_OR_SYMBOL).all():
            counts.append(c)
        elif values.str.match(NUMBER_OR_SYMBOL).all() and values.str.contains(r"\.").any():
            notes.append(f"{name}: column {c} has decimal values and is not modelled")
        else:
            counts.append(c)   # the value check names the bad values
    total_rows = df[df[label_column].str.strip().str.match(TOTAL_LABEL)]
    total_columns = [c for c in counts if TOTAL_LABEL.match(c.strip())]
    for extra in list(total_rows["_row"])[1:]:
        problems.append(Problem("tables", name, int(extra), label_column, None,
                                f"one Total/All row (also row {int(total_rows['_row'].iloc[0])})"))
    for extra in total_columns[1:]:
        problems.append(Problem("tables", name, 1, extra, None, f"one Total/All column (also {total_columns[0]})"))
    stem = name[:-4]
    records = []
    for _, row in df.iterrows():
        for c in counts:
            records.append({"cell_id": f"{name}:{row['_row']}:{c}", "scope": stem, "unit": "", "measure": stem,
                            "row": row[label_column], "column": c, "value": row[c], "shown_in": name,
                            "_row": row["_row"], "_column": c})
    cells = _cell_frame(records, name, problems)
    relations = []
    kind = "overlap" if label_column in overlap else "sum"
    used_overlap.update({label_column} & overlap)
    if len(total_rows):
        t = int(total_rows["_row"].iloc[0])
        rows = [int(r) for r in df["_row"] if int(r) != t]
        for c in counts:
            if rows:
                relations.append(Relation(f"{name}:column {c}", kind, f"{name}:{t}:{c}",
                                          [f"{name}:{r}:{c}" for r in rows], f"{name}, column {c}"))
    if total_columns:
        total, parts = total_columns[0], [c for c in counts if c != total_columns[0]]
        for r in df["_row"]:
            if parts:
                relations.append(Relation(f"{name}:row {r}", "sum", f"{name}:{r}:{total}",
                                          [f"{name}:{r}:{c}" for c in parts], f"{name}, row {r}"))
    if not len(total_rows) and not total_columns:
        notes.append(f"{name}: no Total/All row or column, so no relation between its cells")
    return cells, relations
