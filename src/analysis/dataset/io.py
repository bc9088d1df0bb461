"""Read a dataset in the canonical form as raw text tables, and write one.

A dataset is a folder of CSV files, a folder of Parquet files, or one
``.xlsx`` workbook with a sheet per table (contract, section 1). Reading keeps
every cell as text (blank = ""), so that the validator sees exactly what the
person who made the file sees, and records where each row came from.

Reading is strict: the structure of each file is checked before any cell is
(header names, see :mod:`analysis.dataset.headers`; a CSV row with more or fewer
fields than its header, never padded; a folder where a file should be).
Every problem names the file, the row as a person sees it, and the column;
nothing is read from a dataset with any of them. A table with a header and
no rows is read as empty, and the validator decides whether that matters.
CSV files without quote characters are split by pyarrow (fast); files with
quotes by the csv module (exact). Workbooks are read by :mod:`analysis.dataset.workbook`.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
from datetime import date
from pathlib import Path

import pandas as pd

from analysis.dataset.headers import check_header
from analysis.dataset.rawtable import RawTable, column_text, finish_table, table_from_records
from analysis.errors import DatasetError, Problems
from analysis.limits import (CSV_FIELD_LIMIT, InputTooLarge, arrow_long_cell, cell_too_long, csv_field_limit,
                            csv_shape_problem, load_json, parquet_shape_problem)
from analysis.vocab import OPTIONAL_TABLES, TABLES

METADATA = "metadata.json"


def dataset_files(path: Path) -> list[Path]:
    """The input files a dataset is made of, for checksums in manifests."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.iterdir() if p.suffix.lower() in {".csv", ".parquet"} and p.is_file())


def read_raw(path: str | Path) -> dict[str, RawTable]:
    """Read every table of a dataset as text; raise DatasetError naming every unreadable part."""
    path = Path(path)
    problems = Problems()
    if not path.exists():
        raise DatasetError([_whole(problems, "dataset", str(path), "an existing folder or .xlsx file")], str(path))
    if path.is_file():
        if path.suffix.lower() not in {".xlsx", ".xlsm"}:
            raise DatasetError(
                [_whole(problems, "dataset", path.name, "a folder of CSV or Parquet files, or one .xlsx workbook")],
                str(path),
            )
        from analysis.dataset.workbook import read_workbook

        tables = read_workbook(path, problems)
        where = path.name
    elif path.is_dir():
        tables = _read_folder(path, problems)
        where = path.name
    else:
        raise DatasetError([_whole(problems, "dataset", str(path), "a folder or an .xlsx file")], str(path))
    unreadable = any(p.table == "dataset" for p in problems.items)
    for name in TABLES:
        if name not in tables and not unreadable and not any(p.table == name for p in problems.items):
            problems.add(name, f"{name} table", None, None, None,
                         f"a table named {name} ({name}.csv, {name}.parquet or a sheet {name}) in {where}"
                         + _lookalike(name, path))
    if problems:
        raise DatasetError(problems.items, str(path))
    return tables


def extract_date(path: str | Path) -> tuple[date, str]:
    """The day the extract was made and where that came from: the metadata's ``extracted_on``, else today.

    The metadata is ``metadata.json`` in a dataset folder, else where
    :func:`analysis.dataset.metadata.dataset_metadata` finds it (a workbook's
    ``metadata`` sheet, Parquet file metadata). Raises DatasetError when
    metadata.json cannot be read, or the date is not a date or is in the future.
    """
    from analysis.dataset.metadata import dataset_metadata

    path = Path(path)
    today = date.today()
    meta = path / METADATA
    problems = Problems()
    if path.is_dir() and meta.is_file():
        where = METADATA
        try:
            record = load_json(meta, "metadata file")  # at most 1 MiB
        except OSError as exc:
            problems.add("metadata", METADATA, None, None, None, f"a readable JSON file ({exc.strerror or exc})")
            raise DatasetError(problems.items, str(path)) from None
        except InputTooLarge as exc:
            problems.add("metadata", METADATA, None, None, None, f"a readable JSON file ({exc.reason})")
            raise DatasetError(problems.items, str(path)) from None
        value = record.get("extracted_on") if isinstance(record, dict) else None
    else:
        where = f"{path.name}, sheet metadata" if path.is_file() else "the Parquet files' metadata"
        value = dataset_metadata(path).get("extracted_on")
    if value in (None, ""):
        return today, "today; the metadata gives no extracted_on"
    try:
        day = value.date() if hasattr(value, "date") else date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        day = None
    if day is None or day > today:
        problems.add("metadata", where, None, None, str(value),
                     f"extracted_on to be the day the extract was made, as YYYY-MM-DD and not after today ({today})")
        raise DatasetError(problems.items, str(path))
    return day, f"the extract date, extracted_on in {where}"


def _whole(problems: Problems, table: str, source: str, expected: str):
    problems.add(table, source, None, None, None, expected)
    return problems.items[-1]


def _lookalike(name: str, path: Path) -> str:
    """A hint naming a file or sheet that is probably this table under another name."""
    if not path.is_dir():
        return ""
    stems = {p.stem: p.name for p in path.iterdir() if p.suffix.lower() in {".csv", ".parquet"}}
    close = difflib.get_close_matches(name, list(stems), n=1, cutoff=0.75)
    return f" (found {stems[close[0]]}: rename it to {name}{Path(stems[close[0]]).suffix})" if close else ""


def _read_folder(folder: Path, problems: Problems) -> dict[str, RawTable]:
    """Each table's file, matched by name ignoring case and spaces; one file per table."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        problems.add("dataset", folder.name, None, None, None, f"a readable folder ({exc.strerror or exc})")
        return {}
    found: dict[str, list[Path]] = {}
    for entry in entries:
        stem = entry.stem.strip().lower()
        if entry.suffix.lower() in {".csv", ".parquet"} and stem in TABLES + OPTIONAL_TABLES:
            found.setdefault(stem, []).append(entry)
    tables: dict[str, RawTable] = {}
    for name in TABLES + OPTIONAL_TABLES:
        paths = found.get(name, [])
        if len(paths) > 1:
            problems.add(name, folder.name, None, None, None,
                         f"one file for the table {name}, not {len(paths)} ({', '.join(p.name for p in paths)})")
            continue
        if not paths:
            continue
        file = paths[0]
        if not file.is_file():
            problems.add(name, file.name, None, None, None,
                         f"a file, but {file.name} is a folder (or not a regular file)")
            continue
        reader = _read_parquet if file.suffix.lower() == ".parquet" else _read_csv
        table = reader(name, file, problems)
        if table is not None:
            tables[name] = table
    return tables


def _read_csv(name: str, path: Path, problems: Problems) -> RawTable | None:
    """A CSV file read with the csv module, so that short and long rows are seen, not padded."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.add(name, path.name, None, None, None, f"a readable file ({exc.strerror or exc})")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        problems.add(name, path.name, row, None, None, "text encoded as UTF-8 (save the file as 'CSV UTF-8')")
        return None
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        problems.add(name, path.name, row, None, None,
                     "a text CSV file, but this one holds binary data (is it a spreadsheet renamed to .csv?)")
        return None
    if not text.strip():
        problems.add(name, path.name, 1, None, None, "a header row naming the columns (the file is empty)")
        return None
    beyond = csv_shape_problem(data)  # columns, rows and cells counted before parsing
    if beyond:
        problems.add(name, path.name, 1, None, None, beyond)
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        with csv_field_limit():
            header = next(reader)
    except csv.Error as exc:
        problems.add(name, path.name, 1, None, None, f"a well-formed header row ({exc})")
        return None
    if not any(cell.strip() for cell in header):
        problems.add(name, path.name, 1, None, None, "a header row naming the columns in row 1")
        return None
    labels = [f"field {i + 1}" for i in range(len(header))]
    if b'"' not in data:  # no quoting at all: read fast; otherwise the csv module reads it exactly
        fast = _arrow_rows(data[3:] if data.startswith(codecs.BOM_UTF8) else data, len(header))
        if fast is not None:
            frame, bad = fast
            return table_from_records(name, path.name, path, header, frame, problems, labels, bad)
    body, bad = [], {}
    try:
        with csv_field_limit():
            records = csv.reader(io.StringIO(text, newline=""), strict=True)
            next(records)
            for position, record in enumerate(records):
                if len(record) == len(header):
                    body.append(record)
                else:  # kept as its length only: a row of a million fields is not held
                    body.append(())
                    bad[position] = (len(record), "x" if any(f.strip() for f in record) else "")
    except csv.Error as exc:
        with csv_field_limit():
            row = _bad_record(text)
        if "field larger than field limit" in str(exc):
            expected = cell_too_long(CSV_FIELD_LIMIT, at_least=True)
        else:
            expected = f"well-formed CSV: fields separated by commas, quotes closed ({exc})"
        problems.add(name, path.name, row, None, None, expected)
        return None
    return table_from_records(name, path.name, path, header, body, problems, labels, bad)


def _arrow_rows(data: bytes, width: int):
    """Data rows of a CSV file without quote characters (so one line is one row), read by pyarrow.

    Returns (frame of text indexed by data position, {position: (fields, text)} of the rows of the
    wrong length), or None if pyarrow cannot read it (the csv module then reports the problem).
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    bad: dict[int, tuple[int, str]] = {}

    def invalid(row):  # pyarrow numbers lines from 1 (single-threaded), the header being line 1
        if row.number is None:
            raise ValueError("row number unknown")
        bad[row.number - 2] = (row.actual_columns, row.text)
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
            parse_options=pcsv.ParseOptions(quote_char=False, invalid_row_handler=invalid, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    positions = [p for p in range(table.num_rows + len(bad)) if p not in bad]
    frame = table.to_pandas()
    frame.index = pd.Index(positions, dtype="int64")
    return frame, bad


def _bad_record(text: str) -> int:
    """The row number (header = 1) of the record the csv module cannot read."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    count = 0
    try:
        for count, _ in enumerate(reader, start=1):
            pass
    except csv.Error:
        return count + 1
    return count


def _read_parquet(name: str, path: Path, problems: Problems) -> RawTable | None:
    """A Parquet file; typed columns become the text a CSV would hold. Rows are numbered from 1."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as parquet:  # not read_table: it refuses duplicate names without naming them
            beyond = parquet_shape_problem(parquet.metadata)
            if beyond:
                problems.add(name, path.name, None, None, None, beyond)
                return None
            # Text columns come back dictionary-encoded, as most are stored: a value repeated on many rows is
            # held once, so a file cannot make a long value take memory once per row before its length is seen.
            text = [parquet.schema_arrow.field(i).name for i, column in enumerate(parquet.schema)
                    if column.physical_type == "BYTE_ARRAY"
                    and not pa.types.is_nested(parquet.schema_arrow.field(i).type)]
            table = parquet.read() if not text else pq.ParquetFile(path, read_dictionary=text).read()
    except Exception as exc:  # pyarrow raises many types for a damaged file
        problems.add(name, path.name, None, None, None, f"a readable Parquet file ({type(exc).__name__})")
        return None
    before = len(problems)
    for position, field in enumerate(table.schema):
        row, length, preview = arrow_long_cell(table.column(position))
        if row is not None:
            problems.add(name, path.name, row + 1, field.name, preview, cell_too_long(length))
    if len(problems) > before:
        return None
    columns = check_header(name, path.name, None, table.schema.names, problems,
                           [f"column {i + 1}" for i in range(table.num_columns)])
    data = {}
    for position, (column, field) in enumerate(zip(columns, table.schema)):
        values = table.column(position)
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            try:
                values = values.cast(pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                problems.add(name, path.name, None, field.name, None, "text in UTF-8, not binary data")
                continue
        elif pa.types.is_nested(field.type):
            problems.add(name, path.name, None, field.name, None,
                         f"one plain value per cell (text, number, date or true/false), not {field.type}")
            continue
        data[position] = column_text(values.to_pandas())
    if len(problems) > before:
        return None
    frame = pd.DataFrame(data, index=pd.RangeIndex(table.num_rows))
    frame.columns = columns
    return finish_table(name, path.name, path, frame, first_row=1, problems=problems)


def write_dataset(tables: dict[str, pd.DataFrame], out: str | Path, fmt: str = "csv",
                  metadata: dict | None = None) -> Path:
    """Write canonical tables as a folder of CSV or Parquet files, or one workbook, with their metadata.

    Deterministic in every format: the same tables give byte-identical files. The
    metadata (if any) travels with the data (:mod:`analysis.dataset.metadata`): ``metadata.json``
    beside CSV and Parquet files and inside each Parquet file, a ``metadata`` sheet in a
    workbook. Nothing is written outside ``out``.
    """
    from analysis.dataset import metadata as meta

    out = Path(out)
    if fmt == "xlsx":
        out.parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            for name, frame in tables.items():
                frame.to_excel(writer, sheet_name=name, index=False)
            if metadata is not None:
                meta.write_sheet(writer, metadata)
        meta.make_workbook_deterministic(out)
        return out
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if metadata is not None:
                table = meta.add_to_parquet_table(table, metadata)
            pq.write_table(table, out / f"{name}.parquet")
        else:
            frame.to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
    if metadata is not None:
        (out / meta.METADATA_FILE).write_text(meta.metadata_json(metadata), encoding="utf-8")
    return out
