"""Malformed input: every kind of bad file or option gives a located plain message, never a traceback.

Each case builds its bad input in ``tmp_path`` from one small valid dataset
(three children, four episodes, three RHIs) written as CSV files, one
``.xlsx`` workbook or Parquet files, then runs a command through typer's
CliRunner and asserts:

- the exit code: 1 for bad data, 2 for a bad option;
- the message names the file (or sheet), the row as a person sees it
  (header = row 1; Parquet rows from 1) where there is one, and the column;
  an option case names the option and the value given;
- no ``Traceback`` in the output;
- nothing written: no file under ``tmp_path`` (the data, the working
  directory, a report folder) is created, changed or removed.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import openpyxl
from openpyxl.utils import get_column_letter
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import LA, valid_tables
from typer.testing import CliRunner

from analysis.cli import app

runner = CliRunner()


base_tables = valid_tables


# --- building bad datasets -------------------------------------------------------------------------

Tables = dict[str, pd.DataFrame]


def csv_data(tables_edit: Callable[[Tables], None] | None = None,
             files_edit: Callable[[Path], None] | None = None) -> Callable[[Path], Path]:
    """A folder of CSV files: the base tables, edited as frames, then as files."""
    def build(tmp: Path) -> Path:
        tables = base_tables()
        if tables_edit:
            tables_edit(tables)
        folder = tmp / "data"
        folder.mkdir(parents=True)
        for name, frame in tables.items():
            frame.to_csv(folder / f"{name}.csv", index=False)
        if files_edit:
            files_edit(folder)
        return folder
    return build


def xlsx_data(tables_edit=None, book_edit: Callable[[openpyxl.Workbook], None] | None = None,
              file_edit: Callable[[Path], None] | None = None) -> Callable[[Path], Path]:
    """One workbook study.xlsx with a sheet per table, edited as frames, then with openpyxl, then as bytes."""
    def build(tmp: Path) -> Path:
        tables = base_tables()
        if tables_edit:
            tables_edit(tables)
        folder = tmp / "data"
        folder.mkdir(parents=True)
        path = folder / "study.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for name, frame in tables.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        if book_edit:
            book = openpyxl.load_workbook(path)
            book_edit(book)
            book.save(path)
        if file_edit:
            file_edit(path)
        return path
    return build


def parquet_data(tables_edit=None, files_edit: Callable[[Path], None] | None = None) -> Callable[[Path], Path]:
    """A folder of Parquet files, edited as frames, then as files."""
    def build(tmp: Path) -> Path:
        tables = base_tables()
        if tables_edit:
            tables_edit(tables)
        folder = tmp / "data"
        folder.mkdir(parents=True)
        for name, frame in tables.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        if files_edit:
            files_edit(folder)
        return folder
    return build


def cell(table, position, column, value):
    """Set one cell by data position (0-based): its CSV/xlsx row is position + 2, its Parquet row position + 1."""
    def edit(tables):
        tables[table].loc[position, column] = value
    return edit


def drop(table, column):
    def edit(tables):
        tables[table] = tables[table].drop(columns=[column])
    return edit


def add_row(table, **values):
    def edit(tables):
        frame = tables[table]
        row = {c: "" for c in frame.columns}
        row.update(values)
        tables[table] = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)
    return edit


def both(*edits):
    def edit(tables):
        for one in edits:
            one(tables)
    return edit


def empty(table):
    def edit(tables):
        tables[table] = tables[table].iloc[0:0]
    return edit


def lines(table, change: Callable[[list[str]], None]):
    """Edit a CSV file line by line (line 1 is the header)."""
    def edit(folder: Path):
        path = folder / f"{table}.csv"
        text = path.read_text(encoding="utf-8").splitlines()
        change(text)
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return edit


def header(table, old, new):
    def change(text):
        names = text[0].split(",")
        names[names.index(old)] = new
        text[0] = ",".join(names)
    return lines(table, change)


def line(number, change: Callable[[str], str]):
    def edit(text):
        text[number - 1] = change(text[number - 1])
    return edit


def write_bytes(name, data: bytes):
    def edit(folder: Path):
        (folder / name).write_bytes(data)
    return edit


def metadata(record) -> Callable[[Path], None]:
    def edit(folder: Path):
        text = record if isinstance(record, str) else json.dumps(record)
        (folder / "metadata.json").write_text(text, encoding="utf-8")
    return edit


def sheet_cell(sheet, column, row, value, data_type=None):
    """Set one cell of a sheet by its column name (or a letter beyond the header) and row."""
    def edit(book):
        names = list(base_tables()[sheet].columns)
        letter = get_column_letter(names.index(column) + 1) if column in names else column
        target = book[sheet][f"{letter}{row}"]
        target.value = value
        if data_type:
            target.data_type = data_type
    return edit


def metadata_sheet(extracted_on):
    """A workbook's metadata sheet (key, value rows) giving the day the extract was made."""
    def edit(book):
        sheet = book.create_sheet("metadata")
        sheet.append(["key", "value"])
        sheet.append(["extracted_on", extracted_on])
    return edit


def sheet_state(sheet, state):
    def edit(book):
        book[sheet].sheet_state = state
    return edit


def rename_sheet(sheet, title):
    def edit(book):
        book[sheet].title = title
    return edit


def parquet_table(name, table: pa.Table):
    def edit(folder: Path):
        pq.write_table(table, folder / f"{name}.parquet")
    return edit


def episodes_with(names, **replace) -> pa.Table:
    """The base episodes as a Parquet table with column names and some columns replaced."""
    frame = base_tables()["episodes"]
    arrays = [replace.get(c, pa.array(frame[c].tolist())) for c in frame.columns]
    return pa.Table.from_arrays(arrays, names=names or list(frame.columns))


EPISODE_COLUMNS = list(base_tables()["episodes"].columns)


def renamed(columns, old, new):
    return [new if c == old else c for c in columns]


# --- the cases --------------------------------------------------------------------------------------

@dataclass
class Case:
    id: str
    build: Callable[[Path], Path]
    where: tuple = ()                     # data: (source, row, column); row or column None where there is none
    args: tuple = ()                      # extra command line after the dataset path
    command: str = "validate"
    code: int = 1
    says: tuple = field(default_factory=tuple)  # further text the message must hold


def data(id, build, source, row, column, *says):
    return Case(id, build, (source, row, column), says=says)


def option(id, command, args, *says, build=None):
    return Case(id, build or csv_data(), (), args=tuple(args), command=command, code=2, says=says)


CASES = [
    # Header rows (contract, section 1): near misses, duplicates, blank names.
    data("header with a space for the underscore", csv_data(files_edit=header("episodes", "police_risk", "Police Risk")),
         "episodes.csv", 1, "Police Risk", "police_risk"),
    data("header misspelt", csv_data(files_edit=header("episodes", "police_risk", "polce_risk")),
         "episodes.csv", 1, "polce_risk", "police_risk"),
    data("header in title case with spaces", csv_data(files_edit=header("children", "date_of_birth", "Date Of Birth")),
         "children.csv", 1, "Date Of Birth", "date_of_birth"),
    data("header with letters swapped", csv_data(files_edit=header("episodes", "missing_start", "missing_strat")),
         "episodes.csv", 1, "missing_strat", "missing_start"),
    data("header without underscore", csv_data(files_edit=header("rhis", "status", "Sta tus")),
         "rhis.csv", 1, "Sta tus", "status"),
    data("header given twice", csv_data(files_edit=header("episodes", "found_location", "police_risk")),
         "episodes.csv", 1, "police_risk", "once"),
    data("header given twice in another case", csv_data(files_edit=header("episodes", "found_location", "POLICE_RISK ")),
         "episodes.csv", 1, "POLICE_RISK", "once"),
    data("blank header above values", csv_data(files_edit=header("children", "uasc", "")),
         "children.csv", 1, "field 4 (no name)", "row 4"),
    data("required column missing", csv_data(drop("children", "sex")), "children.csv", 1, "sex"),
    data("required column missing in the links", csv_data(drop("rhi_episodes", "episode_id")),
         "rhi_episodes.csv", 1, "episode_id"),
    data("header row blank", csv_data(files_edit=lines("rhis", lambda t: t.insert(0, ""))), "rhis.csv", 1, None,
         "header row"),
    # Rows with more or fewer fields than the header.
    data("row with fewer fields", csv_data(files_edit=lines("episodes", line(3, lambda s: s.rsplit(",", 1)[0]))),
         "episodes.csv", 3, "found_location", "this row has 9"),
    data("row with many fewer fields", csv_data(files_edit=lines("rhi_episodes", line(2, lambda s: "r1"))),
         "rhi_episodes.csv", 2, "episode_id", "this row has 1"),
    data("row with more fields", csv_data(files_edit=lines("episodes", line(4, lambda s: s + ",extra"))),
         "episodes.csv", 4, "field 11 (beyond the header)", "this row has 11"),
    data("row with an unclosed quote", csv_data(files_edit=lines("children", line(3, lambda s: s + ',"x'))),
         "children.csv", 3, None, "quotes"),
    data("row with fewer fields after a value with a line break",
         csv_data(cell("children", 0, "ethnicity", "White\nBritish"),
                  files_edit=lines("children", line(4, lambda s: s.rsplit(",", 1)[0]))),
         "children.csv", 3, "ethnicity", "this row has 4"),
    data("bad cell after a blank line", csv_data(cell("episodes", 1, "police_risk", "mediun"),
                                                 files_edit=lines("episodes", lambda t: t.insert(2, ""))),
         "episodes.csv", 4, "police_risk", "mediun"),
    data("bad cell after a quoted line break", csv_data(both(cell("episodes", 0, "found_location", "bus\nstation"),
                                                             cell("episodes", 1, "police_risk", "mediun"))),
         "episodes.csv", 3, "police_risk", "mediun"),
    data("quote inside a field", csv_data(files_edit=lines("rhis", line(3, lambda s: s.replace("r2", '"r2"x', 1)))),
         "rhis.csv", 3, None, "quotes"),
    # Whole files and folders.
    data("header-only episodes", csv_data(empty("episodes")), "episodes.csv", 1, None, "empty"),
    data("header-only children", csv_data(empty("children")), "children.csv", 1, None, "empty"),
    data("empty file", csv_data(files_edit=write_bytes("disclosures.csv", b"")), "disclosures.csv", 1, None, "empty"),
    data("file not UTF-8", csv_data(add_row("children", child_id="c4", sex="f", date_of_birth="2003-01-01",
                                            ethnicity="Fran\u00e7ais"),
                                    files_edit=lambda f: (f / "children.csv").write_bytes(
                                        (f / "children.csv").read_text().encode("latin-1"))),
         "children.csv", 5, None, "UTF-8"),
    data("binary file named .csv", csv_data(files_edit=write_bytes("rhis.csv", b"PK\x03\x04\x00\x00binary")),
         "rhis.csv", 1, None, "binary"),
    data("folder in place of a file", csv_data(files_edit=lambda f: ((f / "episodes.csv").unlink(),
                                                                     (f / "episodes.csv").mkdir())),
         "episodes.csv", None, None, "folder"),
    data("a table given twice", csv_data(files_edit=lambda f: base_tables()["rhis"].to_parquet(f / "rhis.parquet")),
         "rhis", None, None, "rhis.csv, rhis.parquet"),
    data("a table missing", csv_data(files_edit=lambda f: (f / "rhis.csv").unlink()), "rhis table", None, None,
         "rhis.csv"),
    data("a table under a near name", csv_data(files_edit=lambda f: (f / "episodes.csv").rename(f / "episode.csv")),
         "episodes table", None, None, "episode.csv"),
    data("metadata.json not JSON", csv_data(files_edit=metadata("{extracted_on: 2018")), "metadata.json", None, None,
         "JSON"),
    data("extract date in the future", csv_data(files_edit=metadata({"extracted_on": "2999-01-01"})),
         "metadata.json", None, None, "extracted_on", "2999-01-01"),
    # Codes in ASCII only.
    data("la_code in Arabic-Indic digits", csv_data(cell("episodes", 0, "la_code", "E\u0660\u0669000008")),
         "episodes.csv", 2, "la_code", "ARABIC-INDIC DIGIT ZERO"),
    data("police risk with a zero-width space", csv_data(cell("episodes", 1, "police_risk", "medium\u200b")),
         "episodes.csv", 3, "police_risk", "ZERO WIDTH SPACE"),
    data("child id with a Cyrillic letter", csv_data(cell("children", 0, "child_id", "\u04411")),
         "children.csv", 2, "child_id", "CYRILLIC"),
    data("sex in full-width letters", csv_data(cell("children", 1, "sex", "\uff26")),
         "children.csv", 3, "sex", "FULLWIDTH"),
    data("boolean in full-width letters", csv_data(cell("children", 2, "uasc", "\uff59es")),
         "children.csv", 4, "uasc", "FULLWIDTH"),
    data("status with a non-breaking hyphen", csv_data(cell("rhis", 2, "status", "no\u2011contact")),
         "rhis.csv", 4, "status", "NON-BREAKING HYPHEN"),
    # Implausible dates: before 1990 or after the extract date.
    data("episode in 2099", csv_data(cell("episodes", 0, "missing_start", "2099-08-01 20:00")),
         "episodes.csv", 2, "missing_start", "1990-01-01"),
    data("episode ending in 2099", csv_data(cell("episodes", 2, "missing_end", "2099-10-04 09:00")),
         "episodes.csv", 4, "missing_end", "1990-01-01"),
    data("date of birth before 1990", csv_data(cell("children", 1, "date_of_birth", "1985-02-01")),
         "children.csv", 3, "date_of_birth", "1990-01-01"),
    data("offer in 1970", csv_data(cell("rhis", 0, "offered_at", "01/01/1970 09:00")),
         "rhis.csv", 2, "offered_at", "1990-01-01"),
    data("episode after the extract date", csv_data(files_edit=metadata({"extracted_on": "2017-09-30"})),
         "episodes.csv", 4, "missing_start", "extracted_on"),
    # Cells (the classes of tests/test_validate.py).
    data("duplicate child id", csv_data(cell("children", 1, "child_id", "c1")), "children.csv", 3, "child_id"),
    data("unknown sex", csv_data(cell("children", 2, "sex", "x")), "children.csv", 4, "sex"),
    data("impossible date of birth", csv_data(cell("children", 0, "date_of_birth", "2003-13-01")),
         "children.csv", 2, "date_of_birth"),
    data("bad boolean", csv_data(cell("children", 0, "uasc", "maybe")), "children.csv", 2, "uasc"),
    data("duplicate episode id", csv_data(cell("episodes", 3, "episode_id", "e1")), "episodes.csv", 5, "episode_id"),
    data("episode of unknown child", csv_data(cell("episodes", 1, "child_id", "c9")), "episodes.csv", 3, "child_id"),
    data("bad la code", csv_data(cell("episodes", 0, "la_code", "Manchester")), "episodes.csv", 2, "la_code"),
    data("unparseable missing_start", csv_data(cell("episodes", 1, "missing_start", "yesterday")),
         "episodes.csv", 3, "missing_start"),
    data("end before start", csv_data(cell("episodes", 0, "missing_end", "2017-07-31 10:00")),
         "episodes.csv", 2, "missing_end"),
    data("unknown police risk", csv_data(cell("episodes", 0, "police_risk", "mediun")), "episodes.csv", 2, "police_risk"),
    data("born after the episode", csv_data(cell("children", 0, "date_of_birth", "2017-08-15")),
         "episodes.csv", 2, "missing_start"),
    data("unknown RHI status", csv_data(cell("rhis", 0, "status", "done")), "rhis.csv", 2, "status"),
    data("completed without completed_at", csv_data(cell("rhis", 1, "completed_at", "")), "rhis.csv", 3, "completed_at"),
    data("decline reason on a completed RHI", csv_data(cell("rhis", 0, "decline_reason", "other")),
         "rhis.csv", 2, "decline_reason"),
    data("link to unknown RHI", csv_data(cell("rhi_episodes", 3, "rhi_id", "r7")), "rhi_episodes.csv", 5, "rhi_id"),
    data("link to another child's RHI", csv_data(cell("rhi_episodes", 2, "rhi_id", "r1")),
         "rhi_episodes.csv", 4, "episode_id"),
    data("episode linked to two completed RHIs",
         csv_data(both(add_row("rhis", rhi_id="r4", child_id="c1", status="completed", completed_at="2017-09-10 10:00"),
                       add_row("rhi_episodes", rhi_id="r4", episode_id="e1"))), "rhi_episodes.csv", 6, "episode_id"),
    data("typo in indicator", csv_data(cell("disclosures", 1, "indicator", "rf_gang_asociation")),
         "disclosures.csv", 3, "indicator", "rf_gang_association"),
    data("disclosure on a declined RHI", csv_data(add_row("disclosures", rhi_id="r3", indicator="mental_health")),
         "disclosures.csv", 5, "rhi_id"),
    data("derived indicator recorded", csv_data(cell("disclosures", 0, "indicator", "cse_red_flag_any")),
         "disclosures.csv", 2, "indicator"),
    # Workbooks.
    data("formula without a saved result", xlsx_data(book_edit=sheet_cell("episodes", "police_risk", 3, '=LOWER("HIGH")')),
         "study.xlsx, sheet episodes", 3, "police_risk", "recalculate"),
    data("very hidden sheet", xlsx_data(book_edit=sheet_state("episodes", "veryHidden")),
         "study.xlsx, sheet episodes", None, None, "very hidden"),
    data("hidden sheet", xlsx_data(book_edit=sheet_state("rhis", "hidden")),
         "study.xlsx, sheet rhis", None, None, "hidden"),
    data("spreadsheet error in a cell", xlsx_data(book_edit=sheet_cell("episodes", "police_risk", 4, "#N/A", "e")),
         "study.xlsx, sheet episodes", 4, "police_risk", "#N/A"),
    data("encrypted workbook", xlsx_data(file_edit=lambda p: p.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))), "study.xlsx", None, None, "password"),
    data("damaged workbook", xlsx_data(file_edit=lambda p: p.write_bytes(p.read_bytes()[:700])),
         "study.xlsx", None, None, "damaged"),
    data("workbook header near miss", xlsx_data(book_edit=sheet_cell("episodes", "police_risk", 1, "Police Risk")),
         "study.xlsx, sheet episodes", 1, "Police Risk", "police_risk"),
    data("workbook header twice", xlsx_data(book_edit=sheet_cell("episodes", "found_location", 1, "police_risk")),
         "study.xlsx, sheet episodes", 1, "police_risk", "once"),
    data("workbook value beyond the header", xlsx_data(book_edit=sheet_cell("rhis", "P", 3, "stray")),
         "study.xlsx, sheet rhis", 3, "P (no name)"),
    data("workbook header-only sheet", xlsx_data(empty("children")),
         "study.xlsx, sheet children", 1, None, "empty"),
    data("workbook sheet missing", xlsx_data(book_edit=lambda b: b.remove(b["disclosures"])),
         "disclosures table", None, None, "study.xlsx"),
    data("workbook table on two sheets", xlsx_data(book_edit=lambda b: b.copy_worksheet(b["rhis"]).__setattr__(
        "title", "RHIS ")), "study.xlsx", None, None, "one sheet for the table rhis"),
    data("workbook code not ASCII", xlsx_data(cell("episodes", 0, "la_code", "E\u0660\u0669000008")),
         "study.xlsx, sheet episodes", 2, "la_code", "ARABIC-INDIC"),
    data("workbook date cell in 2099", xlsx_data(book_edit=sheet_cell("episodes", "missing_start", 5, pd.Timestamp("2099-10-05 20:00")
                                                                      .to_pydatetime())),
         "study.xlsx, sheet episodes", 5, "missing_start", "1990-01-01"),
    data("workbook episode after its extract date", xlsx_data(book_edit=metadata_sheet("2017-09-30")),
         "study.xlsx, sheet episodes", 4, "missing_start", "extracted_on"),
    data("workbook extract date not a date", xlsx_data(book_edit=metadata_sheet("last week")),
         "study.xlsx, sheet metadata", None, None, "extracted_on"),
    # Parquet.
    data("parquet column twice", parquet_data(files_edit=parquet_table(
        "episodes", episodes_with(renamed(EPISODE_COLUMNS, "found_location", "police_risk")))),
         "episodes.parquet", None, "police_risk", "once"),
    data("parquet column near miss", parquet_data(files_edit=parquet_table(
        "episodes", episodes_with(renamed(EPISODE_COLUMNS, "police_risk", "Police Risk")))),
         "episodes.parquet", None, "Police Risk", "police_risk"),
    data("parquet numeric codes", parquet_data(files_edit=parquet_table(
        "episodes", episodes_with(None, la_code=pa.array([8000001, 8000001, 8000001, 8000001]))) ),
         "episodes.parquet", 1, "la_code", "GSS"),
    data("parquet list column", parquet_data(files_edit=parquet_table(
        "episodes", episodes_with(None, police_risk=pa.array([["medium"], ["high"], ["low"], []])))),
         "episodes.parquet", None, "police_risk", "one plain value"),
    data("parquet damaged", parquet_data(files_edit=write_bytes("rhis.parquet", b"PAR1 not really PAR1")),
         "rhis.parquet", None, None, "Parquet"),
    data("parquet without rows", parquet_data(empty("episodes")), "episodes.parquet", None, None, "empty"),
    data("parquet date in 2099", parquet_data(cell("episodes", 1, "missing_start", "2099-09-01 20:00")),
         "episodes.parquet", 2, "missing_start", "1990-01-01"),
    # Options: checked before any work, exit 2.
    option("figures --min-cell 0", "figures", ["--min-cell", "0"], "--min-cell 0", "at least 1"),
    option("kpis --min-cell 0", "kpis", ["--min-cell", "0"], "--min-cell 0", "at least 1"),
    option("figures --min-cell negative", "figures", ["--min-cell", "-5"], "--min-cell -5"),
    option("figures --la absent", "figures", ["--la", "E09999999"], "--la E09999999", LA),
    option("kpis --la absent", "kpis", ["--la", "e08999901"], "--la e08999901", LA),
    option("validate --la absent", "validate", ["--la", "E09000001"], "--la E09000001", LA),
    option("validate --la not a code", "validate", ["--la", "Manchester"], "--la Manchester", LA),
    option("figures period ends before it starts", "figures",
           ["--period-start", "2018-03-31", "--period-end", "2017-07-01"], "--period-end 2017-07-01", "before"),
    option("kpis period ends before it starts", "kpis",
           ["--period-start", "2018-03-31", "--period-end", "2017-07-01"], "--period-end 2017-07-01", "before"),
    option("validate period ends before it starts", "validate",
           ["--period-start", "2018-03-31", "--period-end", "2017-07-01"], "--period-end", "before"),
    option("figures impossible period start", "figures", ["--period-start", "2017-02-30"],
           "--period-start '2017-02-30'", "YYYY-MM-DD"),
    option("kpis period end not a date", "kpis", ["--period-end", "31/03/2018"], "--period-end", "YYYY-MM-DD"),
    option("figures risk level outside the vocabulary", "figures", ["--risk-levels", "medium,extreme"],
           "--risk-levels 'extreme'", "no_apparent_risk"),
    option("validate no risk level", "validate", ["--risk-levels", " , "], "--risk-levels", "at least one"),
    option("validate negative --max-problems", "validate", ["--max-problems", "-1"], "--max-problems"),
    option("batch --min-cell 0", "batch", ["--min-cell", "0"], "--min-cell"),
    option("batch --la absent", "batch", ["--la", "E09999999"], "--la E09999999", LA),
    option("batch period ends before it starts", "batch",
           ["--period-start", "2018-03-31", "--period-end", "2017-07-01"], "--period-end 2017-07-01", "before"),
    option("batch risk level outside the vocabulary", "batch", ["--risk-levels", "severe"], "--risk-levels"),
]


def test_battery_has_at_least_60_distinct_cases():
    assert len({case.id for case in CASES}) == len(CASES) >= 60


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under root with its size and modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        out[str(path.relative_to(root))] = (path.is_dir(), stat.st_size if path.is_file() else 0, stat.st_mtime_ns)
    return out


def run(case: Case, tmp_path: Path, monkeypatch):
    dataset = case.build(tmp_path)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = [case.command, str(dataset), *case.args]
    if case.command == "batch":
        argv += ["--out", str(tmp_path / "reports" / "RUN")]
    before = snapshot(tmp_path)
    result = runner.invoke(app, argv)
    return result, before, snapshot(tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input_is_a_located_message_and_nothing_is_written(case, tmp_path, monkeypatch):
    result, before, after = run(case, tmp_path, monkeypatch)
    output = result.output
    assert result.exit_code == case.code, output
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    assert "Traceback" not in output
    assert after == before, "a file was written, changed or removed"
    if case.where:
        source, row, column = case.where
        if row is not None and column is not None:
            expected = f"{source}, row {row}, column {column}"
        elif row is not None:
            expected = f"{source}, row {row}"
        elif column is not None:
            expected = f"{source}, header, column {column}"
        else:
            expected = source
        assert expected in output, output
        assert "nothing was analysed" in output
    for text in case.says:
        assert text in output, output


# --- what the strict reading still accepts -------------------------------------------------------

def test_headers_match_ignoring_case_and_spaces(tmp_path):
    """`Police_Risk` is police_risk: its episodes are risk-coded, not ignored."""
    folder = csv_data(files_edit=header("episodes", "police_risk", " Police_Risk "))(tmp_path)
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    plain = runner.invoke(app, ["validate", str(csv_data()(tmp_path / "plain"))])
    assert result.output.split("valid.", 1)[1] == plain.output.split("valid.", 1)[1]


@pytest.mark.parametrize("make", [csv_data, xlsx_data, parquet_data], ids=["csv", "xlsx", "parquet"])
def test_the_base_dataset_is_valid_in_every_format(tmp_path, make):
    result = runner.invoke(app, ["validate", str(make()(tmp_path))])
    assert result.exit_code == 0, result.output


def test_la_matches_in_any_case(tmp_path):
    folder = csv_data()(tmp_path)
    lower = runner.invoke(app, ["figures", str(folder), "--la", LA.lower(), "--json", "--no-suppress"])
    upper = runner.invoke(app, ["figures", str(folder), "--la", LA, "--json", "--no-suppress"])
    assert lower.exit_code == 0, lower.output
    assert json.loads(lower.output)["figures"] == json.loads(upper.output)["figures"]
    assert json.loads(upper.output)["figures"]["high_share_of_coded"]["denominator"] == 3


def test_a_formula_with_a_saved_result_is_read_as_its_result(tmp_path):
    """openpyxl writes no results, so the saved value is put into the sheet's XML as Excel would."""
    path = xlsx_data(book_edit=sheet_cell("episodes", "police_risk", 5, '=LOWER("HIGH")'))(tmp_path)
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = next(n for n, d in parts.items() if n.startswith("xl/worksheets/") and b"LOWER" in d)
    start = parts[sheet].index(b"<f>")
    cell_start = parts[sheet].rindex(b"<c ", 0, start)
    end = parts[sheet].index(b"</c>", start)
    saved = parts[sheet][cell_start:end].replace(b"<c ", b'<c t="str" ', 1).replace(b"<v />", b"") + b"<v>high</v>"
    parts[sheet] = parts[sheet][:cell_start] + saved + parts[sheet][end:]
    with zipfile.ZipFile(path, "w") as book:
        for name, content in parts.items():
            book.writestr(name, content)
    result = runner.invoke(app, ["figures", str(path), "--json", "--no-suppress"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["figures"]["high_share_of_coded"]["count"] == 2  # e2, and e4 by its formula


def test_empty_tables_nothing_refers_to_are_allowed_and_said(tmp_path):
    """A dataset without RHIs (an SSDA903 import) is valid, and so is one without episodes (a provider
    export without them); `rhi validate` names each empty table."""
    folder = csv_data(both(empty("rhis"), empty("rhi_episodes"), empty("disclosures")))(tmp_path)
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "RHIs: 0" in result.output
    assert "Note: rhis.csv has a header but no rows" in result.output
    assert "Note: episodes.csv" not in result.output
    folder = csv_data(both(empty("episodes"), empty("rhi_episodes")))(tmp_path / "no_episodes")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Note: episodes.csv has a header but no rows: no episodes to analyse" in result.output


@pytest.mark.parametrize("table,name,meant", [
    ("episodes", "police risk", "police_risk"), ("episodes", "policerisk", "police_risk"),
    ("episodes", "polce_risk", "police_risk"), ("children", "date-of-birth", "date_of_birth"),
    ("rhis", "completed_on", None),         # a different word, not a misspelling
    ("children", "child_age", None), ("episodes", "la_name", None), ("episodes", "notes", None),
    ("rhis", "worker", None), ("disclosures", "notes", "note"),
])
def test_near_misses_are_close_spellings_only(table, name, meant):
    from analysis.dataset.headers import near_miss

    assert near_miss(name, table, present=set()) == meant


def test_a_close_name_beside_the_real_column_is_an_ordinary_extra(tmp_path):
    """`police_risk_2` next to `police_risk` is kept and ignored; `Police Risk` next to it is the same column twice."""
    folder = csv_data(files_edit=header("episodes", "found_location", "police_risk_2"))(tmp_path)
    assert runner.invoke(app, ["validate", str(folder)]).exit_code == 0
    folder = csv_data(files_edit=header("episodes", "found_location", "Police Risk"))(tmp_path / "twice")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1 and "column Police Risk" in result.output


def test_risk_levels_in_any_case_are_the_same_levels(tmp_path):
    folder = csv_data()(tmp_path)
    default = runner.invoke(app, ["figures", str(folder), "--json", "--no-suppress"])
    spelled = runner.invoke(app, ["figures", str(folder), "--json", "--no-suppress", "--risk-levels", " Low, MEDIUM "])
    assert spelled.exit_code == 0, spelled.output
    assert json.loads(spelled.output)["figures"] == json.loads(default.output)["figures"]
