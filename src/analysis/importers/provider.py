"""Import an RHI provider's export: one row per interview, wide tick-box or yes/no columns.

A mapping YAML (:mod:`.mapping`) says which column is which contract field and
indicator and how values translate. Each row becomes one RHI; its child is
added to children (first row wins; a later row that disagrees is an error);
each episode group with a start date becomes an episode (identified by its
episode id column, else by child and start) linked to the RHI; each ticked
indicator becomes a disclosure. Columns the mapping does not name are listed
in the report and not imported.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import vocab
from analysis.errors import DatasetError, Problems
from analysis.dataset.rawtable import column_text
from analysis.dataset.schema import COLUMNS
from analysis.importers.common import (ImportFailure, SourceTable, check_la_code, codes, dates, format_dates, format_datetimes,
                     bounded, read_csv, sha256, tidy)
from analysis.importers.mapping import Field, Mapping, load_mapping
from analysis.importers.output import Imported, finish_table
from analysis.importers.pseudonymise import Pseudonymiser, same_id
from analysis.importers.report import ImportReport
from analysis.limits import workbook_too_large

SPECS = {s.name: s for table in ("children", "episodes", "rhis") for s in COLUMNS[table]}
RHI_COLUMNS = [c.name for c in COLUMNS["rhis"]]


def import_provider(source: Path, mapping_path: Path, pseudo: Pseudonymiser, keep_identifiers: bool,
                    la_code: str | None = None) -> Imported:
    mapping = load_mapping(mapping_path)
    problems = Problems()
    table = _read_export(Path(source), mapping, problems)
    if problems:
        raise DatasetError(problems.items, str(source))
    report = ImportReport("provider")
    _check_columns(table, mapping, problems)
    if problems:
        raise DatasetError(problems.items, str(source))
    frame = table.frame

    group_la = any("la_code" in g for g in mapping.episodes)
    constant_la = None
    if mapping.episodes and not group_la:
        constant_la = check_la_code(la_code or mapping.la_code, "provider")
    report.la_code = constant_la

    cells = {t: _translate(table, f, mapping, problems) for t, f in mapping.fields.items()}
    status = cells["status"]

    # Children: first row per child; later rows must agree.
    source_child = frame[mapping.fields["child_id"].column]
    for label in frame.index[source_child == ""]:
        problems.add(table.name, table.source, table.row(label), mapping.fields["child_id"].column, "",
                     "a child id (fields.child_id is required)")
    child_key = source_child.map(same_id)   # yp-0001 and YP-0001 are one child (ids ignore case)
    child_rows = frame.index[~child_key.duplicated(keep="first") & (source_child != "")]
    for target in [t for t in ("sex", "date_of_birth", "uasc", "ethnicity") if t in cells]:
        first = cells[target].loc[child_rows].set_axis(child_key.loc[child_rows])
        expected_first = child_key.map(first)
        clash = (cells[target] != "") & (expected_first != "") & (cells[target] != expected_first)
        for label in frame.index[clash.fillna(False)]:
            col = mapping.fields[target].column
            problems.add(table.name, table.source, table.row(label), col, frame.at[label, col],
                         f"the same {target} as this child's first row ({expected_first[label]!r})")

    child_id = pseudo.series("person", source_child)
    children = pd.DataFrame({"child_id": child_id.loc[child_rows]})
    for target in ("sex", "date_of_birth", "uasc", "ethnicity"):
        if target in cells:
            children[target] = cells[target].loc[child_rows]
    kept_cols = _identifying(table, mapping, keep_identifiers, report)
    for column in kept_cols:
        keyed = frame.assign(_child=child_key)
        firsts = keyed[keyed[column] != ""].drop_duplicates("_child").set_index("_child")[column]
        children[column] = child_key.loc[child_rows].map(firsts).fillna("")
    if keep_identifiers:
        children["source_child_id"] = source_child.loc[child_rows]

    # RHIs: one per row.
    if "rhi_id" in mapping.fields:
        rhi_key = frame[mapping.fields["rhi_id"].column]
        _unique(table, mapping.fields["rhi_id"].column, problems)
    else:
        parts = child_key + "|" + cells.get("offered_at", "") + "|" + cells.get("completed_at", "") + "|" + status
        rhi_key = parts + "|" + parts.groupby(parts).cumcount().astype(str)
    rhi_id = pseudo.series("rhi", rhi_key)
    rhis = pd.DataFrame({"rhi_id": rhi_id, "child_id": child_id})
    for target in mapping.fields:
        if target in RHI_COLUMNS and target not in ("rhi_id", "child_id"):
            rhis[target] = cells[target]
    if keep_identifiers and mapping.notes:
        rhis["notes"] = frame[mapping.notes]

    episodes, links, ep_origin, link_origin = _episodes(table, mapping, child_id, rhi_id, constant_la, pseudo,
                                                        problems)
    disclosures, disc_origin = _disclosures(table, mapping, rhi_id, status, problems)
    if problems:
        raise DatasetError(problems.items, str(source))

    tables = {
        "children": finish_table("children", children, kept_cols + ["source_child_id"]),
        "episodes": finish_table("episodes", episodes),
        "rhis": finish_table("rhis", rhis, ["notes"]),
        "rhi_episodes": finish_table("rhi_episodes", links),
        "disclosures": finish_table("disclosures", disclosures),
    }
    origins = {
        "children": [(table.source, r) for r in table.rows(child_rows)],
        "rhis": [(table.source, r) for r in table.rows()],
        "episodes": ep_origin, "rhi_episodes": link_origin, "disclosures": disc_origin,
    }
    columns_from = {"rhis": {t: f.column for t, f in mapping.fields.items()},
                    "children": {t: f.column for t, f in mapping.fields.items()},
                    "episodes": {t: f.column for g in mapping.episodes[:1] for t, f in g.items()},
                    "disclosures": {}}
    _describe(report, table, mapping, constant_la)
    report.source_files = [{"file": table.source, "sha256": sha256(table.path), "rows": int(len(frame))},
                           {"file": mapping.path.name, "sha256": sha256(mapping.path), "rows": 0}]
    return Imported(tables, origins, report, columns_from)


# --- reading and checking the export ------------------------------------------------------------

def _read_export(source: Path, mapping: Mapping, problems: Problems) -> SourceTable | None:
    if source.is_dir():
        raise ImportFailure(f"{source}: a provider export is one .csv or .xlsx file, not a folder")
    suffix = source.suffix.lower()
    if suffix == ".csv":
        return read_csv(source, "provider export", problems)
    if suffix not in (".xlsx", ".xlsm"):
        raise ImportFailure(f"{source}: expected a .csv or .xlsx file")
    sheet = mapping.sheet if mapping.sheet is not None else 0
    beyond = workbook_too_large(source)
    if beyond:
        raise ImportFailure(f"{source.name}: expected {beyond}")
    try:
        frame = pd.read_excel(source, sheet_name=sheet, dtype=object, engine="openpyxl", keep_default_na=False,
                              na_filter=False)
    except ValueError as exc:  # no such sheet
        raise ImportFailure(f"{source.name}: {exc} (set 'sheet' in {mapping.path.name})") from None
    except Exception as exc:  # openpyxl raises several types for damaged files
        raise ImportFailure(f"{source.name}: not a readable .xlsx workbook ({type(exc).__name__})") from None
    label = f"{source.name}, sheet {sheet}" if mapping.sheet is not None else source.name
    return bounded(SourceTable("provider export", label, source, tidy(frame.apply(column_text)), first_row=2),
                   problems)


def _check_columns(table: SourceTable, mapping: Mapping, problems: Problems) -> None:
    """Every column the mapping names must be in the file (case and spacing aside); suggest close names if not.

    Each field's column is set to the file's own spelling.
    """
    named = list(mapping.fields.values()) + [f for g in mapping.episodes for f in g.values()]
    named += list(mapping.indicators.values())
    for f in named:
        found = table.column(f.column, problems, why=f"named by {f.key} in {mapping.path.name}")
        if found:
            f.column = found
    if mapping.notes:
        mapping.notes = table.column(mapping.notes, problems, why=f"named by notes in {mapping.path.name}")
    ident = [table.column(c) for c in mapping.identifying]
    mapping.identifying = tuple(c for c in ident if c)


def _unique(table: SourceTable, column: str, problems: Problems) -> None:
    series = table.frame[column]
    for label in series.index[series == ""]:
        problems.add(table.name, table.source, table.row(label), column, "", "an RHI id (fields.rhi_id)")
    for label in series.index[series.map(same_id).duplicated(keep="first") & (series != "")]:
        problems.add(table.name, table.source, table.row(label), column, series[label],
                     "each RHI id once (ids are compared ignoring case)")


def _translate(table: SourceTable, f: Field, mapping: Mapping, problems: Problems) -> pd.Series:
    """One mapped column as canonical text ('' = not recorded)."""
    spec = SPECS.get(f.target)
    kind = spec.kind if spec else "text"
    required = f.target in ("child_id", "sex", "date_of_birth", "status")
    if kind in ("date", "datetime"):
        formats = (f.format,) if f.format else None
        parsed = dates(table, f.column, problems, required=required, formats=formats)
        return format_dates(parsed) if kind == "date" else format_datetimes(parsed)
    if kind == "enum":
        accepted = dict(spec.codes) | f.values
        own = ", ".join(repr(k) for k in f.values)
        expected = (f"one of {own} (from {f.key} values in {mapping.path.name}) or a contract value: "
                    if own else "") + vocab.expected_text(spec.codes)
        return codes(table, f.column, accepted, problems, required=required, expected=expected)
    if kind == "bool":
        accepted = {k: "true" for k in mapping.true_values} | {k: "false" for k in mapping.false_values}
        accepted |= {k: "true" if v else "false" for k, v in vocab.BOOLEAN.items()}
        return codes(table, f.column, accepted, problems,
                     expected=f"yes or no: one of {', '.join(mapping.true_values + mapping.false_values)}")
    if kind == "gss":
        series = table.frame[f.column].str.upper()
        bad = (series != "") & ~series.str.fullmatch(r"(E06|E08|E09|E10|W06)\d{6}")
        for label in series.index[bad]:
            problems.add(table.name, table.source, table.row(label), f.column, table.frame.at[label, f.column],
                         "a GSS local authority code such as E08000025")
        return series.astype(object)
    return table.frame[f.column].astype(object)


def _episodes(table, mapping, child_id, rhi_id, constant_la, pseudo, problems):
    """Episodes from each group of episode columns; the same episode on several rows is written once."""
    rows, links, ep_origin, link_origin, first_row, linked = [], [], [], [], {}, set()
    for group in mapping.episodes:
        cells = {t: _translate(table, f, mapping, problems) for t, f in group.items()}
        blank = pd.concat([c == "" for c in cells.values()], axis=1).all(axis=1)
        start_col = group["missing_start"].column
        for label in table.frame.index[~blank & (cells["missing_start"] == "")]:
            problems.add(table.name, table.source, table.row(label), start_col, "",
                         f"a missing_start date, because other columns of this episode ({group['missing_start'].key.split('.')[0]}) are filled")
        for label in table.frame.index[~blank & (cells["missing_start"] != "")]:
            source_key = (table.frame.at[label, group["episode_id"].column] if "episode_id" in group
                          else f"{child_id[label]}|{cells['missing_start'][label]}")
            values = {t: cells[t][label] for t in cells if t not in ("episode_id",)}
            values["la_code"] = values.get("la_code") or constant_la or ""
            if not values["la_code"]:
                problems.add(table.name, table.source, table.row(label), group["la_code"].column, "",
                             "a local authority GSS code (episodes need la_code)")
            episode_id = pseudo.one("episode", source_key)
            if episode_id in first_row:
                earlier_label, earlier = first_row[episode_id]
                if earlier["child_id"] != child_id[label]:
                    id_col = group.get("episode_id", group["missing_start"]).column
                    problems.add(table.name, table.source, table.row(label), id_col, table.frame.at[label, id_col],
                                 f"an episode of the same child as on row {table.row(earlier_label)}")
                for t, v in values.items():
                    if v and earlier.get(t) and v != earlier[t]:
                        problems.add(table.name, table.source, table.row(label), group[t].column if t in group else t,
                                     v, f"the same {t} as this episode on row {table.row(earlier_label)} "
                                     f"({earlier[t]!r})")
            else:
                record = {"episode_id": episode_id, "child_id": child_id[label], **values}
                first_row[episode_id] = (label, record)
                rows.append(record)
                ep_origin.append((table.source, table.row(label)))
            if (rhi_id[label], episode_id) not in linked:
                linked.add((rhi_id[label], episode_id))
                links.append({"rhi_id": rhi_id[label], "episode_id": episode_id})
                link_origin.append((table.source, table.row(label)))
    return pd.DataFrame(rows), pd.DataFrame(links), ep_origin, link_origin


def _disclosures(table, mapping, rhi_id, status, problems):
    """One disclosure per ticked indicator; only completed RHIs can have them."""
    truthy, falsy = set(mapping.true_values), set(mapping.false_values)
    rows, origin = [], []
    for name, f in mapping.indicators.items():
        cells = table.frame[f.column].str.lower()
        bad = (cells != "") & ~cells.isin(truthy | falsy)
        for label in cells.index[bad]:
            problems.add(table.name, table.source, table.row(label), f.column, table.frame.at[label, f.column],
                         f"a tick or yes/no: one of {', '.join(mapping.true_values + mapping.false_values)} "
                         f"(set true_values / false_values in {mapping.path.name}), or blank")
        ticked = cells.isin(truthy)
        for label in cells.index[ticked & (status != "completed") & (status != "")]:
            problems.add(table.name, table.source, table.row(label), f.column, table.frame.at[label, f.column],
                         f"blank, because this interview's status is {status[label]} "
                         "(only completed RHIs have disclosures)")
        for label in cells.index[ticked]:
            rows.append((table.row(label), len(rows), {"rhi_id": rhi_id[label], "indicator": name}))
    rows.sort(key=lambda r: (r[0], r[1]))
    return pd.DataFrame([r[2] for r in rows]), [(table.source, r[0]) for r in rows]


def _identifying(table, mapping, keep_identifiers, report) -> list[str]:
    named = mapping.named_columns()
    kept = []
    for column in table.frame.columns:
        if column in named:
            continue
        if column in mapping.identifying:
            if keep_identifiers:
                kept.append(column)
            else:
                report.dropped_columns.append({"file": table.source, "column": column,
                                               "why": "identifying (listed under identifying in the mapping)"})
        else:
            report.unknown_columns.append({"file": table.source, "column": column})
    if mapping.notes and not keep_identifiers:
        report.dropped_columns.append({"file": table.source, "column": mapping.notes,
                                       "why": "free-text notes; kept only with --keep-identifiers"})
    return kept


def _describe(report: ImportReport, table: SourceTable, mapping: Mapping, constant_la) -> None:
    src, mp = table.source, mapping.path.name
    for target, f in mapping.fields.items():
        where = "children" if target in ("child_id", "sex", "date_of_birth", "uasc", "ethnicity") else "rhis"
        extra = " (pseudonymised)" if target in ("child_id", "rhi_id") else ""
        extra += f" (translated by {f.key} values)" if f.values else ""
        report.map(f"{where}.{target}", f"{src}: {f.column}{extra}")
    for i, group in enumerate(mapping.episodes, start=1):
        for target, f in group.items():
            extra = " (pseudonymised)" if target == "episode_id" else ""
            report.map(f"episodes.{target}" + (f" (group {i})" if len(mapping.episodes) > 1 else ""),
                       f"{src}: {f.column}{extra}")
    for name, f in mapping.indicators.items():
        report.map(f"disclosures: {name}", f"{src}: {f.column} (ticked -> recorded)")
    if "rhi_id" not in mapping.fields:
        report.derive("rhis.rhi_id", "keyed hash of child, offered_at, completed_at, status and order")
    if mapping.episodes:
        report.derive("rhi_episodes", "each interview row addresses the episodes on that row")
        if not any("episode_id" in g for g in mapping.episodes):
            report.derive("episodes.episode_id", "keyed hash of child and missing_start (same child and start "
                          "on two rows = one episode)")
        if constant_la:
            report.derive("episodes.la_code", f"{constant_la} for every episode (la_code in {mp} or --la-code)")
    else:
        report.missing("episodes", f"{mp} maps no episode columns (missing_start ...); nothing links "
                       "interviews to police risk")
        report.missing("rhi_episodes", "no episodes")
    group_fields = {t for g in mapping.episodes for t in g}
    for target in ("police_risk", "missing_end", "missing_from", "episode_type", "found_location"):
        if mapping.episodes and target not in group_fields:
            report.missing(f"episodes.{target}", f"not mapped in {mp}")
    for target in ("offered_at", "completed_at", "legal_status", "consent_to_share", "follow_up", "shared_wider"):
        if target not in mapping.fields:
            report.missing(f"rhis.{target}", f"not mapped in {mp}")
    if not mapping.indicators:
        report.missing("disclosures", f"{mp} maps no indicator columns")
    else:
        absent = [i for i in vocab.INDICATORS if i not in mapping.indicators]
        if absent:
            report.warn("indicators not in the export (their prevalence cannot be computed): " + ", ".join(absent))
