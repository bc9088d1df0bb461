"""A dataset's metadata (above all: is it synthetic?), carried with the data in every format.

- a folder of CSV or Parquet files: ``metadata.json`` beside the tables;
- Parquet files also carry it in their own file metadata (key ``rhi_metadata``),
  so a table copied out of its folder still says what it is;
- an ``.xlsx`` workbook: a ``metadata`` sheet of key/value rows (never read as
  a data table: it is not a table of the contract).

:func:`dataset_metadata` finds it in any of these forms; :func:`is_synthetic`
is the one test every report uses. Metadata that cannot be read counts as no
metadata (the data are then treated as real: the banner is never shown by
mistake on real data, and damaged data files are reported by the reader).
"""

from __future__ import annotations

import json
import re
import zipfile
from itertools import islice
from pathlib import Path

from analysis.limits import load_json, workbook_too_large

METADATA_FILE = "metadata.json"
PARQUET_KEY = b"rhi_metadata"
SHEET = "metadata"
HEADER = ("key", "value")
# Fixed stamps so that the same tables give the same workbook bytes (zip dates start in 1980).
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = "1980-01-01T00:00:00Z"
_DOC_TIMES = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")


def dataset_metadata(path: str | Path) -> dict:
    """The metadata of a dataset (folder, workbook or Parquet file), or {} if it has none."""
    path = Path(path)
    try:
        if path.is_dir():
            meta = path / METADATA_FILE
            if meta.is_file():
                return _as_dict(load_json(meta, "metadata file"))  # at most 1 MiB; InputTooLarge is a ValueError
            for table in sorted(path.glob("*.parquet")):
                found = parquet_metadata(table)
                if found:
                    return found
            return {}
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _workbook_metadata(path)
        if path.suffix.lower() == ".parquet":
            return parquet_metadata(path)
    except (OSError, ValueError, zipfile.BadZipFile, KeyError):
        return {}
    return {}


def is_synthetic(path: str | Path) -> bool:
    """True when the dataset's metadata says ``synthetic`` (true, or "true"/"yes"/1 typed in a sheet)."""
    value = dataset_metadata(path).get("synthetic")
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return value is True or (isinstance(value, (int, float)) and value == 1)


def parquet_metadata(path: Path) -> dict:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except Exception:  # pyarrow raises many types for a damaged file; the reader reports it
        return {}
    return _as_dict(json.loads(meta[PARQUET_KEY])) if PARQUET_KEY in meta else {}


def _workbook_metadata(path: Path) -> dict:
    from openpyxl import load_workbook

    if workbook_too_large(path):  # the reader reports it
        return {}
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises several types for damaged files; the reader reports it
        return {}
    try:
        if SHEET not in book.sheetnames:
            return {}
        rows = list(islice(book[SHEET].iter_rows(values_only=True), 1000))  # a few keys; never a whole sheet
    finally:
        book.close()
    out = {}
    for row in rows:
        if not row or row[0] is None or tuple(row[:2]) == HEADER:
            continue
        out[str(row[0]).strip()] = row[1] if len(row) > 1 else None
    return out


def _as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


# --- writing --------------------------------------------------------------------------------------

def metadata_json(metadata: dict) -> str:
    return json.dumps(metadata, indent=2) + "\n"


def add_to_parquet_table(table, metadata: dict):
    """A pyarrow Table whose schema metadata also carries ours (under ``rhi_metadata``)."""
    merged = dict(table.schema.metadata or {})
    merged[PARQUET_KEY] = json.dumps(metadata, sort_keys=True).encode("utf-8")
    return table.replace_schema_metadata(merged)


def write_sheet(writer, metadata: dict) -> None:
    """Add the ``metadata`` sheet (key, value rows) to an open pandas ExcelWriter (openpyxl)."""
    sheet = writer.book.create_sheet(SHEET)
    sheet.append(list(HEADER))
    for key, value in metadata.items():
        sheet.append([key, value if value is None or isinstance(value, (bool, int, float, str))
                      else json.dumps(value)])


def make_workbook_deterministic(path: Path) -> None:
    """Rewrite a workbook with fixed zip dates and fixed created/modified document times.

    openpyxl stamps the time of saving into docProps/core.xml and every zip entry;
    nothing else in the file depends on when it was written.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as old:
        entries = [(info, old.read(info.filename)) for info in old.infolist()]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as new:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _DOC_TIMES.sub(rb"\g<1>" + FIXED_DOC_TIME.encode() + rb"\g<3>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            new.writestr(fixed, data)
    tmp.replace(path)
