"""Bounds on what any input may make the tool read or hold (docs/data-contract.md, "Limits").

A hostile or broken file must never make the tool use memory or time out of
proportion to the data it holds: every file a user gives is checked against
these bounds before the costly step (parsing, decompressing, expanding), and a
file beyond them is refused with a located message, never a traceback.

The bounds are well above a real extract (the national synthetic dataset of
``rhi synth --scale national``, about 200,000 episodes a year, uses a tenth of
each table bound or less, and as one workbook unpacks to 300 MB; sixteen
national years, the largest size the benchmarks measure, use under half):

- a cell holds at most 32,767 characters (Excel's own limit for a cell);
- a table has at most 1,000 columns, 10,000,000 rows and 100,000,000 cells
  (rows times columns);
- a workbook (.xlsx) unpacks to at most 1 GiB (an Ofsted Annex A workbook, which is read
  whole, to 200 MiB), a Parquet file to at most 1 GiB;
- a YAML file (provider mapping, published figures) is at most 1 MiB, refuses
  aliases (``*name``, which can expand a small file without bound: the "billion
  laughs") and nests at most 20 levels deep;
- a JSON metadata file is at most 1 MiB;
- a key file is at most 1 KiB (a key is 64 hexadecimal digits).

YAML, JSON and key files are read here; the table readers
(:mod:`analysis.dataset.io`, :mod:`analysis.dataset.workbook`,
:mod:`analysis.importers.common`) check the other bounds with these numbers.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import zipfile
from pathlib import Path

import yaml

MAX_CELL_CHARS = 32_767
MAX_COLUMNS = 1_000
MAX_ROWS = 10_000_000
MAX_CELLS = 100_000_000   # sixteen national years of episodes (the benchmark's largest size) hold 39 million
MAX_UNPACKED_BYTES = 1 << 30          # a workbook's parts, or a Parquet file's columns, once decompressed
MAX_ANNEX_A_BYTES = 200 << 20        # an Ofsted Annex A workbook, read whole (its merged cells need it)
MAX_YAML_BYTES = 1 << 20
MAX_JSON_BYTES = 1 << 20
MAX_DEPTH = 20
MAX_KEY_BYTES = 1 << 10


class InputTooLarge(ValueError):
    """An input beyond a bound, or a YAML/JSON file that cannot be read safely: the message says where and why.

    ``reason`` is the why alone, for a message that names the file itself.
    """

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message


def cell_too_long(length: int, at_least: bool = False) -> str:
    """What a Problem expects of a cell longer than the bound (``at_least``: longer than ``length``)."""
    has = f"a cell in this row has more than {length:,}" if at_least else f"this one has {length:,}"
    return (f"a cell of at most {MAX_CELL_CHARS:,} characters (Excel's own limit); {has}: "
            "is a file or a whole column pasted into one cell?")


def too_many(what: str, found: int, limit: int) -> str:
    """What a Problem expects of a table beyond a bound (``found`` may be a lower estimate)."""
    return f"at most {limit:,} {what} in one table; this one has {found:,}"


def read_bytes_bounded(path: Path, limit: int, what: str) -> bytes:
    """The file's bytes, or InputTooLarge if it holds more than ``limit`` (never reads more than limit + 1)."""
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLarge(f"{path.name}: a {what} of at most {limit:,} bytes; this file is larger",
                            f"at most {limit:,} bytes; this file is larger")
    return data


# --- tables: CSV shape counted before parsing, cells after -----------------------------------------

def csv_shape_problem(data: bytes) -> str | None:
    """What CSV bytes would need to be within the column, row and cell bounds, or None if they are.

    Counted on the bytes, before any parsing: the header's fields (commas outside quotes on the
    first line) and the lines (an upper bound of the rows: a quoted line break makes two lines of
    one row), so that a file of a million commas or of blank lines is refused before it is parsed.
    """
    end = data.find(b"\n")
    first = data if end < 0 else data[:end]
    width = first.count(b",") + 1
    if width > MAX_COLUMNS:
        width = re.sub(rb'"[^"]*"', b"", first).count(b",") + 1
    if width > MAX_COLUMNS:
        return too_many("columns", width, MAX_COLUMNS) + " (fields in the header row)"
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1) - 1
    if lines > MAX_ROWS:
        return too_many("rows", lines, MAX_ROWS) + " (lines below the header)"
    if lines * width > MAX_CELLS:
        return (too_many("cells", lines * width, MAX_CELLS)
                + f" ({lines:,} lines below the header times {width:,} columns)")
    return None


CSV_FIELD_LIMIT = 1 << 26   # characters the csv module parses in one field (see csv_field_limit)


@contextlib.contextmanager
def csv_field_limit(limit: int | None = None):
    """The csv module's limit on one field raised for a read, then put back.

    Cells up to this many characters (64 Mi) are parsed, so that one longer than MAX_CELL_CHARS is
    reported with its row and column; a longer one stops the csv module at its row.
    """
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, CSV_FIELD_LIMIT if limit is None else limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def long_cells(frame) -> list[tuple[object, str, int]]:
    """(index label, column, length) of the first cell longer than MAX_CELL_CHARS in each column of a text frame."""
    out = []
    for column in frame.columns:
        lengths = frame[column].str.len()
        if len(lengths) and lengths.max() > MAX_CELL_CHARS:
            first = lengths.index[lengths > MAX_CELL_CHARS][0]
            out.append((first, column, int(lengths[first])))
    return out


def parquet_shape_problem(metadata) -> str | None:
    """What a Parquet file (its footer's metadata) would need to be within the bounds, or None if it is.

    Rows, columns and cells as the footer declares them, and the bytes its columns take once
    decompressed (before dictionary values are expanded, which the reader avoids).
    """
    rows, columns = metadata.num_rows, metadata.num_columns
    if columns > MAX_COLUMNS:
        return too_many("columns", columns, MAX_COLUMNS)
    if rows > MAX_ROWS:
        return too_many("rows", rows, MAX_ROWS)
    if rows * columns > MAX_CELLS:
        return too_many("cells", rows * columns, MAX_CELLS) + f" ({rows:,} rows times {columns:,} columns)"
    unpacked = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if unpacked > MAX_UNPACKED_BYTES:
        return (f"a Parquet file whose columns take at most {MAX_UNPACKED_BYTES:,} bytes once decompressed; "
                f"this one's take {unpacked:,}")
    return None


def arrow_long_cell(column) -> tuple[int | None, int, str]:
    """(position, length, first 40 characters) of the first text value longer than MAX_CELL_CHARS in a pyarrow
    column, else (None, 0, "").

    A dictionary-encoded column is measured on its dictionary, so a long value repeated on every
    row is measured once.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    offset = 0
    for chunk in column.chunks:
        values, indices = chunk, None
        if pa.types.is_dictionary(chunk.type):
            values, indices = chunk.dictionary, chunk.indices
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
                or pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type)):
            offset += len(chunk)
            continue
        lengths = pc.binary_length(values) if not pa.types.is_string(values.type) \
            and not pa.types.is_large_string(values.type) else pc.utf8_length(values)
        longest = pc.max(lengths).as_py() or 0
        if longest > MAX_CELL_CHARS:
            too_long = pc.greater(lengths, MAX_CELL_CHARS)
            if indices is not None:  # the rows whose dictionary value is too long
                too_long = pc.fill_null(pc.take(too_long, indices), False)
            first = pc.index(too_long, True).as_py()
            if first is not None and first >= 0:
                at = first if indices is None else indices[first].as_py()
                value = values[at].as_py()
                preview = value[:40] if isinstance(value, str) else value[:40].decode("utf-8", "replace")
                return offset + first, int(lengths[at].as_py()), preview
        offset += len(chunk)
    return None, 0, ""


def workbook_too_large(path: Path, limit: int | None = None) -> str | None:
    """Why an .xlsx workbook cannot be read within bounds (it unpacks to more than ``limit`` bytes, by default
    MAX_UNPACKED_BYTES), or None.

    The sizes are those its zip directory declares: Python's zipfile never unpacks a part beyond its
    declared size (it stops there and fails the part's checksum), so they bound what reading can
    unpack. A file that is not a zip is left to the reader, which names the fault.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    limit = MAX_UNPACKED_BYTES if limit is None else limit
    if total > limit:
        return f"an .xlsx workbook that unpacks to at most {limit:,} bytes; this one unpacks to {total:,}"
    return None


# --- YAML: a safe loader without aliases and with a depth bound ----------------------------------

class _Refused(yaml.composer.ComposerError):
    """Valid YAML that is not accepted (an alias, too deep)."""


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases and nesting deeper than MAX_DEPTH, each at its line."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise _Refused(None, None, "an alias (*name), which repeats an anchored value, is not accepted "
                           "(aliases can make a small file expand without bound); write the value out", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(None, None, f"nesting deeper than {MAX_DEPTH} levels is not accepted", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(path: Path, what: str = "YAML file") -> object:
    """A YAML file read safely: at most MAX_YAML_BYTES, no aliases, at most MAX_DEPTH levels.

    Raises InputTooLarge whose message names the file and, where known, the line and column.
    """
    path = Path(path)
    data = read_bytes_bounded(path, MAX_YAML_BYTES, what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputTooLarge(f"{path.name}, line {line}: not valid YAML (text encoded as UTF-8 expected)") from None
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        why = getattr(exc, "problem", None) or exc
        raise InputTooLarge(f"{path.name}{where}: " + (why if isinstance(exc, _Refused) else f"not valid YAML ({why})")) from None
    except (ValueError, RecursionError, OverflowError) as exc:  # e.g. an integer of 10,000 digits
        raise InputTooLarge(f"{path.name}: not valid YAML ({exc})") from None


# --- JSON -----------------------------------------------------------------------------------------

def load_json(path: Path, what: str = "JSON file") -> object:
    """A JSON file of at most MAX_JSON_BYTES; InputTooLarge (with the reason) if larger, not UTF-8, not JSON,
    or nested too deeply for the parser, so that one except clause covers every way it can be unreadable."""
    path = Path(path)
    data = read_bytes_bounded(path, MAX_JSON_BYTES, what)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputTooLarge(f"{path.name}: not a readable {what} ({exc})", str(exc)) from None
    except RecursionError:
        raise InputTooLarge(f"{path.name}: not a readable {what} (nested too deeply)", "nested too deeply") from None
