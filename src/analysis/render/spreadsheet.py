"""Every table of a report in one spreadsheet, ``report.xlsx`` beside ``report.html``.

Laid out as the Government Analysis Function's guidance on releasing statistics
in spreadsheets asks: a cover sheet (title, source, period, disclosure control,
the symbols used, notes), a contents sheet linking every table, then one table
per sheet: its title in cell A1, a line saying what the sheet holds, then the
header row and the rows, marked as an Excel table; no merged cells, no blank
rows or cells inside a table (an empty cell is 'z'), numbers stored as numbers and symbols as text.

The tables are the report's published tables, the CSVs the notebooks saved in
``tables/`` (the run's publication: every value is as the report shows it,
suppressed cells as ``c``). The file is the same bytes for the same tables: its
internal dates are $SOURCE_DATE_EPOCH, or 1 January 1980 (the earliest date a
zip file can hold) when that is not set.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from analysis.render.words import SYMBOL_MEANINGS, header_text, plain_text, plain_value

NOT_APPLICABLE = "z"
SYMBOLS = [(symbol, meaning) for symbol, meaning in SYMBOL_MEANINGS.items()]   # the page's words (render.words)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE]-?\d+)?")
_FIXED = datetime(1980, 1, 1, tzinfo=timezone.utc)


def build_time() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), tz=timezone.utc) if epoch.isdigit() else _FIXED
    return max(when, _FIXED)


def table_title(name: str) -> str:
    """A title for a table the page did not caption: its name in words ('delivery_monthly' -> 'Delivery monthly')."""
    words = plain_text(name.replace("-", "_")).replace("_", " ").split()
    words = ["RHIs" if w.lower() == "rhis" else w.upper() if w.lower() in {"rhi", "cse", "cce", "dfe", "la", "ci"}
             else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def header_label(column: str) -> str:
    """A column's header, as the page shows it."""
    return header_text(column).strip() or "column"


class Decimal(float):
    """A number read from a CSV with the decimal places it was printed with (shown with as many in the sheet)."""

    places: int = 0


def cell_value(text: str, column: str = ""):
    """A CSV value for the sheet: a number as a number (with its printed decimal places), 'c', '<0.001' and
    other words as text (codes in words, as the page shows them), a blank as 'z'."""
    value = text.strip()
    if value == "" or value.lower() in {"nan", "<na>", "nat"}:
        return NOT_APPLICABLE
    if _NUMBER.fullmatch(value):
        number = float(value)
        if "." not in value and "e" not in value.lower() and abs(number) < 2 ** 53:
            return int(value)
        out = Decimal(number)
        out.places = len(value.split(".")[1]) if "." in value and "e" not in value.lower() else 0
        return out
    return plain_value(column, value)


def read_tables(folder: Path) -> list[tuple[str, list[str], list[list]]]:
    """(name, header, rows) of every CSV in ``folder/tables``, in name order."""
    tables = []
    for path in sorted((Path(folder) / "tables").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if not rows or not any(h.strip() for h in rows[0]):
            continue
        header = rows[0]
        raw = [(r + [""] * len(header))[:len(header)] for r in rows[1:] if any(r)]
        keep = [i for i in range(len(header))   # a column blank in every row is left out, as on the page
                if not raw or any(r[i].strip() and r[i].strip().lower() not in {"nan", "<na>", "nat"} for r in raw)]
        header = [header[i] for i in keep]
        body = [[cell_value(r[i], header[k]) for k, i in enumerate(keep)] for r in raw]
        tables.append((path.stem, header, body))
    return tables


def write_report_workbook(folder: Path, *, title: str, source: str, period: str, statement: str,
                          secondary: str | None, notes: list[str], out: Path | None = None,
                          titles: dict | None = None, order: list | None = None,
                          verdict: str | None = None) -> Path | None:
    """Write ``folder/report.xlsx`` from ``folder/tables/*.csv``; None (and no file) when there is no table.

    ``titles``: a table's title by CSV name (its caption on the page); else a title made from the name.
    ``order``: the CSV names in the order the page shows them (the others follow, by name). ``verdict``: the
    disclosure audit's verdict, stated on the cover.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    folder = Path(folder)
    out = Path(out) if out else folder / "report.xlsx"
    tables = read_tables(folder)
    if order:
        place = {name: i for i, name in enumerate(order)}
        tables.sort(key=lambda t: (place.get(t[0], len(place)), t[0]))
    if not tables:
        out.unlink(missing_ok=True)
        return None
    book = Workbook()
    bold, heading = Font(bold=True), Font(bold=True, size=14)

    cover = book.active
    cover.title = "Cover"
    lines = [(title, heading)]
    if verdict:
        lines.append((verdict, bold))
    lines += [("This spreadsheet holds every table of the report of the same name, one table per sheet, in the "
               "order the report shows them.", None),
             ("Source", bold), (source, None),
             ("Period", bold), (period, None),
             ("Disclosure control", bold), (statement, None)]
    if secondary:
        lines.append((secondary, None))
    lines.append(("Symbols used in the tables", bold))
    lines += [(f"{symbol}: {meaning}", None) for symbol, meaning in SYMBOLS]
    lines.append(("Numbers are stored as numbers; symbols are stored as text.", None))
    if notes:
        lines.append(("Notes", bold))
        lines += [(note, None) for note in notes]
    lines.append(("Contents: see the Contents sheet for the list of tables.", None))
    for row, (text, font) in enumerate(lines, start=1):
        cell = cover.cell(row=row, column=1, value=text)
        cell.data_type = "s"
        if font is not None:
            cell.font = font
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    cover.column_dimensions["A"].width = 110

    contents = book.create_sheet("Contents")
    contents["A1"] = "Contents"
    contents["A1"].font = heading
    contents["A2"] = "This worksheet contains one table. Each sheet name links to its table."
    for col, label in enumerate(("Sheet name", "Table title", "Number of rows"), start=1):
        contents.cell(row=3, column=col, value=label).font = bold

    for number, (name, header, body) in enumerate(tables, start=1):
        sheet_name = f"Table_{number}"
        sheet = book.create_sheet(sheet_name)
        title_text = (titles or {}).get(name) or table_title(name)
        caption = f"Table {number}: {title_text}"
        sheet["A1"] = caption
        sheet["A1"].font = heading
        sheet["A2"] = (f"This worksheet contains one table of {len(body):,} rows. Source: {source}. "
                       f"Period: {period}. The symbols c, x and z are explained on the Cover sheet.")
        sheet["A2"].data_type = "s"
        labels = _unique([header_label(h) for h in header])
        for col, label in enumerate(labels, start=1):
            sheet.cell(row=3, column=col, value=label).font = bold
        for r, values in enumerate(body, start=4):
            for col, value in enumerate(values, start=1):
                cell = sheet.cell(row=r, column=col, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"   # text is text, never a formula
                elif isinstance(value, Decimal) and value.places:
                    cell.number_format = "#,##0." + "0" * value.places   # as printed: 27.6, 0.123
                elif isinstance(value, float):
                    cell.number_format = "#,##0.0##"
                elif isinstance(value, int):
                    cell.number_format = "#,##0"
        last = get_column_letter(len(labels))
        ref = f"A3:{last}{3 + max(len(body), 1)}"
        if not body:   # an Excel table needs a row: one row of 'z'
            for col in range(1, len(labels) + 1):
                sheet.cell(row=4, column=col, value=NOT_APPLICABLE)
        table = Table(displayName=f"table_{number}", ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
        sheet.add_table(table)
        for col, label in enumerate(labels, start=1):
            longest = max([len(label)] + [len(f"{v:,}" if isinstance(v, int) else str(v)) for v in
                                          (row[col - 1] for row in body)])
            sheet.column_dimensions[get_column_letter(col)].width = min(max(10, longest + 2), 60)
        sheet.freeze_panes = "A4"

        row = 3 + number
        link = contents.cell(row=row, column=1, value=sheet_name)
        link.hyperlink = f"#'{sheet_name}'!A1"
        link.style = "Hyperlink"
        contents.cell(row=row, column=2, value=title_text)
        contents.cell(row=row, column=3, value=len(body)).number_format = "#,##0"
    contents_ref = f"A3:C{3 + len(tables)}"
    contents_table = Table(displayName="contents", ref=contents_ref)
    contents_table.tableStyleInfo = TableStyleInfo(name="TableStyleLight1", showRowStripes=False)
    contents.add_table(contents_table)
    for col, width in zip("ABC", (14, 80, 16)):
        contents.column_dimensions[col].width = width

    when = build_time().replace(tzinfo=None)
    book.properties.title = title
    book.properties.creator = "rhi-analysis"
    book.properties.lastModifiedBy = "rhi-analysis"
    book.properties.created = when
    book.properties.modified = when
    buffer = io.BytesIO()
    book.save(buffer)
    out.write_bytes(_deterministic_zip(buffer.getvalue(), when))
    return out


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for label in labels:
        n = seen.get(label.lower(), 0)
        seen[label.lower()] = n + 1
        result.append(label if n == 0 else f"{label} ({n + 1})")
    return result


def _deterministic_zip(data: bytes, when: datetime) -> bytes:
    """The same workbook as the same bytes: fixed entry dates, and the document dates set to ``when``."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            payload = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                payload = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", payload)
            entry = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, payload)
    return out.getvalue()
