"""Executed notebooks to one self-contained HTML report that opens offline.

Council networks often block CDNs, so a report loads nothing from the
internet: nbconvert's ``basic`` template (no require.js, no MathJax, no web
fonts), our own inline CSS, code cells hidden, images embedded as data URIs.
``external_loads`` finds any resource a page would fetch from the network;
the tests run it on every report.
"""

from __future__ import annotations

import base64
import csv
import json
import copy
import html
import re
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis.disclosure import NOT_AVAILABLE

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Things a browser fetches by itself: src=, <link href>, CSS url() and @import, srcset, object data.
_LOADS = [
    re.compile(r"""\b(?:src|srcset|data|poster|background)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.I),
    re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.I),
    re.compile(r"""url\(\s*["']?\s*((?:https?:)?//[^"')\s]+)""", re.I),
    re.compile(r"""@import\s+["']?\s*((?:https?:)?//[^"';\s]+)""", re.I),
]


def external_loads(text: str) -> list[str]:
    """Every URL the page would load from the network (links a reader may click are not loads)."""
    found = []
    for pattern in _LOADS:
        found += pattern.findall(text)
    return found


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["j2", "html"]))


@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    # optimistic_validation: the notebook is validated once, after its preprocessors, not after each of them (a dozen,
    # nearly all disabled): the same page
    return HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True, optimistic_validation=True)


@lru_cache(maxsize=1)
def _coalesce():
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    return CoalesceStreamsPreprocessor()


def clean_text(text: str) -> str:
    return _ANSI.sub("", text or "")


def notebook_body(nb) -> tuple[str, int]:
    """HTML of one executed notebook without code, warnings or tracebacks; and how many images it shows."""
    nb = copy.deepcopy(nb)
    images = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                continue  # the failure is shown once, as a message, at the top of the report
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if "image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {}):
                images += 1
                out = _as_figure(out)
            elif "text/html" in out.get("data", {}) and _table_name(out):
                out = _named_table(out)
            kept.append(out)
        cell["outputs"] = kept
        # Printed text arrives in chunks, split differently from run to run around the stderr removed above:
        # one block per stream, as the reader would expect, and the same page every run.
        _coalesce().preprocess_cell(cell, {}, 0)
    stable = _stable_ids(nb)
    with _unparsed_export():
        body, _ = _exporter().from_notebook_node(nb)
    return (_STYLER_ID.sub(stable, body) if "T_" in body else body), images   # no Styler id: no scan


class _Unparsed:
    """Stands in for BeautifulSoup inside nbconvert's ``HTMLExporter.from_notebook_node``: the page is parsed once,
    by ``present``, not twice. nbconvert parses its own output only to give an ``img`` without ``alt`` a placeholder
    (``present`` does that) and to make JupyterLab's cell wrappers focusable (the basic template has none)."""

    def __init__(self, markup, *args, **kwargs):
        self.markup = markup

    def select(self, selector):
        return []

    def __str__(self):
        return self.markup


@contextmanager
def _unparsed_export():
    import nbconvert.exporters.html as exporter_module

    parser = exporter_module.BeautifulSoup
    exporter_module.BeautifulSoup = _Unparsed
    try:
        yield
    finally:
        exporter_module.BeautifulSoup = parser


def _meta(out, key: str):
    """A figure's ``alt`` or ``caption`` from the output's metadata, at the top or under its MIME type."""
    meta = out.get("metadata", {}) or {}
    for where in (meta, meta.get("image/png") or {}, meta.get("image/svg+xml") or {}):
        value = where.get(key) if isinstance(where, dict) else None
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return None


def _as_figure(out):
    """An image output as a ``text/html`` output: ``<figure>`` with its alt text and caption.

    The alt text is the notebook's (written from the chart's data); without one, the caption; without
    either, a placeholder marked ``missing-alt`` that the tests refuse. A blank image (one colour) is
    not shown: a note says the chart had nothing to draw.
    """
    data = out["data"]
    alt, caption = _meta(out, "alt"), _meta(out, "caption")
    if "image/png" in data:
        payload = "".join(data["image/png"].split()) if isinstance(data["image/png"], str) else data["image/png"]
        src = "data:image/png;base64," + payload
        blank = blank_png(base64.b64decode(payload))
    else:
        svg = data["image/svg+xml"]
        svg = "".join(svg) if isinstance(svg, list) else svg
        src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
        blank = False
    if blank:
        body = '<p class="no-chart">A chart was left out here: it had nothing to draw.</p>'
    else:
        klass = ""
        if not alt:
            alt = f"Chart: {caption}" if caption else "Chart without a description"
            klass = "" if caption else ' class="missing-alt"'
        alt = short_alt(alt)
        figcaption = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
        body = f'<figure><img{klass} src="{src}" alt="{escape(alt)}">{figcaption}</figure>'
    new = copy.deepcopy(out)
    new["data"] = {"text/html": body}
    new["metadata"] = {}
    return new


ALT_LIMIT = 300   # characters: alt text is a short summary; the chart's numbers are in the table under it


def short_alt(alt: str, limit: int = ALT_LIMIT) -> str:
    """A chart's alternative text as a short summary: its first sentence (what the chart shows), cut at a word
    under ``limit`` characters. The values themselves are in the table under the chart, which a screen reader
    reads as a table, and the caption links it."""
    alt = " ".join(str(alt).split())
    if len(alt) <= limit:
        return alt
    first = re.split(r"(?<=[.:])\s", alt, maxsplit=1)[0].rstrip(":")
    if len(first) > limit - 2:
        first = first[: limit - 2].rsplit(" ", 1)[0]
    return first.rstrip(".,;: ") + "."


def blank_png(raw: bytes) -> bool:
    """Whether a PNG is one colour all over (a chart with nothing drawn, or an empty canvas).

    Its top rows are looked at first (a chart's title and top line are there): where they already hold two
    colours, so does the image, without decoding the rest. Otherwise the whole image is looked at.
    """
    top = png_top_rows(raw, TOP_ROWS)
    if top is not None and _colours_in(top) == "several":
        return False
    return _colours_in(raw) == "one"


TOP_ROWS = 64   # rows of a chart decoded first by blank_png: at 120 dpi, its top half inch


def _colours_in(raw: bytes) -> str:
    """"one" or "several" colours in a PNG's pixels, or "unreadable" (not an image Pillow reads)."""
    import io

    from PIL import Image

    try:
        image = Image.open(io.BytesIO(raw))
        if image.mode not in ("RGB", "RGBA"):   # RGB(A) is judged on its colour bands as is: no converted copy
            image = image.convert("RGB")
        extrema = image.getextrema()[:3]
    except Exception:
        return "unreadable"
    return "one" if all(low == high for low, high in extrema) else "several"


def png_top_rows(raw: bytes, rows: int) -> bytes | None:
    """The PNG ``raw`` cut to its first ``rows`` rows: its header says fewer rows (its checksum made again) and
    the image data is left whole, so a decoder stops after those rows, which are the image's own (PNG filters
    look only at the row above). None where that does not hold: not a PNG, interlaced, or no taller than
    ``rows``."""
    import struct
    import zlib

    signature = b"\x89PNG\r\n\x1a\n"
    if len(raw) < 33 or not raw.startswith(signature) or raw[12:16] != b"IHDR":
        return None
    header = bytearray(raw[16:29])   # width, height, bit depth, colour type, compression, filter, interlace
    if struct.unpack(">I", raw[8:12])[0] != 13 or header[12] != 0 or struct.unpack(">I", header[4:8])[0] <= rows:
        return None
    header[4:8] = struct.pack(">I", rows)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(header)))
    return raw[:16] + bytes(header) + crc + raw[33:]


def _table_name(out) -> str | None:
    """The name of the CSV a table output was saved as (output metadata ``table``), if any."""
    name = (out.get("metadata") or {}).get("table")
    return name if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_.-]+", name) else None


def _named_table(out):
    new = copy.deepcopy(out)
    html_text = new["data"]["text/html"]
    html_text = "".join(html_text) if isinstance(html_text, list) else html_text
    new["data"]["text/html"] = re.sub(r"<table\b", f'<table data-table="{_table_name(out)}"', html_text, count=1)
    return new


# pandas Styler tables carry a random id (``T_`` + 5 hex digits) in their HTML and CSS.
_STYLER_ID = re.compile(r"\bT_[0-9a-f]{5}(?=[_\"'\s{,.:#>]|$)")


def _stable_ids(nb):
    """Give the notebook's cells and Styler tables ids that depend only on its content.

    papermill's injected-parameters cell gets a random cell id, and pandas Styler a
    random table id: both made identical runs give different pages. The ids are a
    digest of the notebook's own sources (unique between the notebooks of one page;
    the injected parameters, which name the run's folders, are left out) and a position. Returns the replacement function for Styler ids (numbered in order).
    """
    import hashlib

    sources = [c.get("source", "") for c in nb.cells
               if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]  # holds run paths
    digest = hashlib.sha256("\x1f".join(sources).encode()).hexdigest()[:6]
    for position, cell in enumerate(nb.cells):
        if "id" in cell:
            cell["id"] = f"{digest}-{position}"
    numbers: dict[str, str] = {}

    def styler_id(match) -> str:
        return numbers.setdefault(match.group(0), f"T_{digest}s{len(numbers)}")
    return styler_id


def data_uri(path: Path) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml"}[path.suffix.lower()]
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def generated_stamp() -> str:
    """The one time stamp in a report page: $SOURCE_DATE_EPOCH (UTC) if set, else now (local time).

    Everything else on the page depends only on the inputs, so two runs on the same
    inputs give pages that differ in this stamp alone (none with SOURCE_DATE_EPOCH).
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        when = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        return f"{when.day} {when:%B %Y} at {when:%H:%M} UTC"
    when = datetime.now()
    return f"{when.day} {when:%B %Y} at {when:%H:%M}"


LONG_TABLE = 25           # rows: a longer table is shown in full behind a details toggle
MISSING = {"nan", "<na>", "nat"}   # how pandas prints a missing value: shown as an empty cell ("none" is a word)


def present(body: str, folder: Path | None = None, numbers: list | None = None,
            titles: dict | None = None) -> str:
    """Notebook HTML made readable and accessible, whatever the notebook printed.

    - headings one level down (the page's title is the only ``h1``);
    - tables: a pandas row-number index column dropped, ``scope`` on every header cell, empty header cells
      made data cells, missing values (NaN, <NA>) shown empty; each table in its own scrolling region
      (labelled by its caption, reachable by keyboard), a long one behind a ``<details>`` toggle, and a
      link to its CSV when the notebook saved one (``data-table`` names it; ``folder/tables/NAME.csv``).

    ``titles``, when given, gets {CSV name: title} of the tables a notebook named (their captions without the
    symbols note), for the spreadsheet, which so need not parse the page again.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    for img in soup.find_all("img"):   # as nbconvert does (notebook_body leaves it to this parse)
        if not img.has_attr("alt"):
            img["alt"] = "No description has been provided for this image"
    for level in range(5, 0, -1):
        for heading in soup.find_all(f"h{level}"):
            heading.name = f"h{level + 1}"
    for number, table in enumerate(soup.find_all("table")):
        _tidy_table(table)
        caption = table.find("caption")
        label = " ".join(caption.get_text(" ").split()) if caption else ""
        if numbers is not None:   # tables numbered across the page, so that every region's name is unique
            numbers.append(label)
        if titles is not None and table.has_attr("data-table") and caption is not None:
            titles[table["data-table"]] = _caption_title(caption)
        if not table.get("id"):   # a chart above the table links it by this id
            table["id"] = f"table-{len(numbers) if numbers is not None else number + 1}"
        if not label:
            heading = table.find_previous(re.compile(r"^h[1-6]$"))
            where = " ".join(heading.get_text(" ").split()).rstrip("¶ ") if heading else ""
            label = f"Table {len(numbers) if numbers is not None else number + 1}" + (f": {where}" if where else "")
        rows = len(table.find("tbody").find_all("tr", recursive=False)) if table.find("tbody") else \
            len(table.find_all("tr")) - 1
        attrs = {"class": "table-wrap", "role": "region", "aria-label": label or "Table"}
        if may_scroll(table):   # a keyboard reaches a region only where it can scroll (WCAG 2.1.1)
            attrs["tabindex"] = "0"
        wrap = soup.new_tag("div", attrs=attrs)
        table.wrap(wrap)
        outer = table.find_parent("details") or wrap
        if rows > LONG_TABLE and table.find_parent("details") is None:   # the notebook may have folded it
            details = soup.new_tag("details", attrs={"class": "long-table"})
            summary = soup.new_tag("summary")
            summary.string = f"Show all {rows:,} rows: {label or 'the table'}"
            wrap.wrap(details)
            details.insert(0, summary)
            outer = details
        name = table.get("data-table")
        if name and folder is not None and (Path(folder) / "tables" / f"{name}.csv").exists():
            link = soup.new_tag("p", attrs={"class": "table-csv"})
            anchor = soup.new_tag("a", href=f"tables/{name}.csv")
            anchor.string = "Download this table (CSV)"
            link.append(anchor)
            outer.insert_after(link)
    for figure in soup.find_all("figure"):   # a chart with its table: the caption links the table of its numbers
        nxt = figure.find_next(["figure", "table", "h2", "h3", "h4"])
        cap = figure.find("figcaption")
        if nxt is not None and nxt.name == "table" and cap is not None and nxt.get("id"):
            cap.append(" ")
            link = soup.new_tag("a", href=f"#{nxt['id']}", attrs={"class": "screen-only"})
            link.string = "The chart's numbers are in the table below."
            cap.append(link)
    return str(soup)


def may_scroll(table) -> bool:
    """Whether a table could be wider than a phone's page (about 290 CSS pixels of text at 320 pixels wide): the
    widest word of each column, at about 8 pixels a character, plus the cell's padding. A table that may scroll is a
    focusable region (so a keyboard can scroll it, WCAG 2.1.1); one that cannot is not a tab stop."""
    widths: dict[int, int] = {}
    for tr in _tags(table, ("tr",)):
        for i, cell in enumerate(_child_cells(tr)):
            longest = max((len(word) for word in cell.get_text(" ").split()), default=0)
            widths[i] = max(widths.get(i, 0), longest)
    return sum(8 * w + 18 for w in widths.values()) > 260


def _tags(node, names) -> list:
    """``node.find_all(names)``: the descendant tags of those names, in document order (without building the
    search filter bs4 makes per call, the main cost when it is called for every row and cell)."""
    from bs4 import Tag

    return [d for d in node.descendants if isinstance(d, Tag) and d.name in names]


def _first_tag(node, names):
    """``node.find(names)``."""
    from bs4 import Tag

    return next((d for d in node.descendants if isinstance(d, Tag) and d.name in names), None)


def _child_cells(row) -> list:
    """``row.find_all(["td", "th"], recursive=False)``."""
    from bs4 import Tag

    return [c for c in row.children if isinstance(c, Tag) and c.name in _CELLS]


def _ancestor(tag, name):
    """``tag.find_parent(name)``."""
    return next((p for p in tag.parents if p.name == name), None)


_CELLS = ("td", "th")


def _tidy_table(table) -> None:
    from bs4 import Tag

    rows = _tags(table, ("tr",))
    body_rows = [tr for tr in rows if _ancestor(tr, "thead") is None]
    firsts = [_first_tag(tr, _CELLS) for tr in body_rows]
    # pandas' default index: 0, 1, 2... in a first header column, under an empty corner: not data, dropped
    if firsts and all(c is not None and c.name == "th" and c.get_text().strip() == str(i)
                      for i, c in enumerate(firsts)):
        head_firsts = [_first_tag(tr, _CELLS) for tr in rows if _ancestor(tr, "thead") is not None]
        if all(c is not None and not c.get_text().strip() for c in head_firsts):
            for cell in firsts + head_firsts:
                cell.decompose()
    for cell in _tags(table, ("th",)):
        if not cell.get_text().strip():
            cell.name = "td"
            cell.attrs.pop("scope", None)
        elif not cell.get("scope"):
            row = _ancestor(cell, "tr")
            header_row = _ancestor(cell, "thead") is not None or (
                row is not None and all(c.name == "th" for c in _child_cells(row)))
            cell["scope"] = "col" if header_row else "row"
    for cell in _tags(table, ("td",)):
        if cell.get_text().strip().lower() in MISSING and not any(isinstance(d, Tag) for d in cell.descendants):
            cell.string = ""
    _align_text_columns(table)


_NUMERIC = re.compile(r"[<>]?[-+]?[\d,]*\.?\d+%?|c|x|z|n/a|-|\u2013|")


def _align_text_columns(table) -> None:
    """Words to the left, numbers to the right (GSS tables guidance): a column every body cell of which is a number
    (or a symbol) is marked ``num``, any other ``text``. Tables with merged cells are left as they are."""
    trs = _tags(table, ("tr",))
    rows = [_child_cells(tr) for tr in trs]
    if not rows or any(c.get("colspan") or c.get("rowspan") for row in rows for c in row):
        return
    body = [row for tr, row in zip(trs, rows) if _ancestor(tr, "thead") is None
            and not all(c.name == "th" for c in row)]
    width = max(len(row) for row in rows)
    for col in range(width):
        values = [" ".join(row[col].get_text(" ").split()) for row in body if col < len(row)]
        numeric = bool(values) and all(_NUMERIC.fullmatch(v) for v in values) and any(values)
        for row in rows:
            if col < len(row) and not ({"num", "text"} & set(row[col].get("class") or [])):
                row[col]["class"] = (row[col].get("class") or []) + ["num" if numeric else "text"]


def _statement_parts(statement: str) -> tuple[str, int | None]:
    match = re.search(r"from 1 to (\d+)", statement or "")
    return statement, (int(match.group(1)) + 1 if match else None)


def report_heading(key: str, params: dict, told: dict) -> tuple[str, str]:
    """A report's title and the line under it: the authority's name (from the shipped DfE list) and the period as
    dates. ``told``: what the batch wrote for every report (``analysis.render.report.run_context``)."""
    from analysis.render import words

    start = params.get("period_start") or told.get("data_start")
    end = params.get("period_end") or told.get("data_end")
    when = words.period(start, end)
    code = params.get("la_code")
    if key == "compare":
        title = f"Local authorities compared, {when}"
        marked = [words.place(c) for c in str(code or "").split(",") if c.strip()]
        where = "All local authorities, each against the others" + (f"; highlighted: {', '.join(marked)}" if marked else "")
    elif key == "all":
        title = f"Return home interviews: all local authorities, {when}"
        where = "All local authorities together"
    else:
        title = f"Return home interviews: {words.place_title(key)}, {when}"
        where = words.capital(words.place(key))
    levels = [s.strip() for s in str(params.get("risk_levels", "")).split(",") if s.strip()]
    grades = " and ".join(levels) if len(levels) < 3 else ", ".join(levels[:-1]) + " and " + levels[-1]
    return title, f"{where}. Records from {when}. Police risk grades in scope: {grades}"


def _section_title(section: dict) -> str:
    """A section's name on the page: its notebook's own title, without its number."""
    match = re.search(r"<h1[^>]*>(.*?)</h1>", section.get("html", ""), re.S)
    if match:
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).replace("\u00b6", "").split())
        text = re.sub(r"^\d+\s+", "", text).strip()
        if text:
            return text
    return section["title"]


def render_report(out: Path, *, title: str, sections: list[dict], headlines: list[str], synthetic: bool,
                  statement: str, suppressed: bool, params_text: str, error: str | None = None,
                  verdict: dict | None = None, titles: dict | None = None) -> Path:
    """Write one report page. ``sections``: dicts with title, anchor, html, optional figures (PNG paths) and
    optional rank (the page shows the sections by rank: the police grade first, then delivery, the years, the
    replication; equal ranks keep their order). ``verdict``: the disclosure audit's, as the batch worded it
    (``analysis.render.words.verdict``): a run that must not be published says so at the top.

    Figures a notebook saved but did not show are listed as links to their files (no alt text can be
    written for them here). The page links the report's spreadsheet and PDF (``analysis.render.spreadsheet``).
    ``titles``, when given, gets the page's table titles in page order (``present``), for ``write_downloads``.
    """
    from analysis import __version__
    from analysis.render.words import GLOSSARY

    folder = Path(out).parent
    numbers: list = []
    sections = sorted(sections, key=lambda s: s.get("rank", 99))
    for s in sections:
        s["title"] = _section_title(s)
        s["html"] = present(s["html"], folder, numbers, titles)
        s["figures"] = [{"name": p.stem.replace("_", " "), "png": f"figures/{p.name}",
                         "svg": f"figures/{p.stem}.svg" if p.with_suffix(".svg").exists() else None}
                        for p in s.get("figures", [])]
    _, min_cell = _statement_parts(statement)
    page = _env().get_template("report.html.j2").render(
        title=title, sections=sections, headlines=headlines, synthetic=synthetic, statement=statement,
        suppressed=suppressed, params_text=params_text, error=error, css=_css(), version=__version__,
        generated=generated_stamp(), min_cell=min_cell, downloads=report_downloads(folder.name),
        verdict=verdict, glossary=GLOSSARY)
    out.write_text(page, encoding="utf-8")
    return out


PDF_REPORTS = ("all", "compare")   # the run-level reports; see ``prints_pdf``


def prints_pdf(key: str) -> bool:
    """Whether a report gets a PDF: the all-authorities report and the comparison, when Chromium is installed.

    Printing takes 1.5 s a report on an idle machine and the PDF is about 2.5 MB (the default study), so
    per-authority PDFs would cost minutes and hundreds of MB on a national run: an authority's page prints
    from the browser (print styles included) when a reader wants one.
    """
    from analysis.render.browser import find_chromium

    return key in PDF_REPORTS and find_chromium() is not None


def report_downloads(key: str) -> list[dict]:
    """The files a report page links beside it (``write_downloads`` makes them after the page)."""
    files = [{"href": "report.xlsx", "label": "Spreadsheet of every table", "kind": "Excel, .xlsx"}]
    if prints_pdf(key):
        files.append({"href": "report.pdf", "label": "This report as a PDF", "kind": "PDF"})
    return files


def render_index(out: Path, **context) -> Path:
    page = _env().get_template("index.html.j2").render(css=_css(), **context)
    out.write_text(page, encoding="utf-8")
    return out


@lru_cache(maxsize=1)
def _css() -> str:
    return (TEMPLATES / "style.css").read_text(encoding="utf-8")


def escape(text: str) -> str:
    return html.escape(text or "")


# --- the run's index page -------------------------------------------------------------------------

INDEX_COLUMNS = [  # (label, where in figures.json)
    ("Notified episodes", ("replication", "populations", "notified_episodes", "n")),
    ("Episodes in scope", ("replication", "populations", "medium_low_episodes", "n")),
    ("Children with a completed RHI", ("replication", "populations", "rhi_children", "n")),
    ("Sexual exploitation", ("replication", "figures", "cse_victim")),
    ("Any CSE red flag", ("replication", "figures", "cse_red_flag_any")),
    ("Criminal exploitation", ("replication", "figures", "cce_victim")),
    ("Mental-health issue", ("replication", "figures", "mental_health")),
]


def _dig(payload, keys):
    for key in keys:
        if not isinstance(payload, dict) or key not in payload:
            return None
        payload = payload[key]
    return payload


def figure_cell(value) -> str:
    """One key figure as shown in the index: '12.5% (10 of 80)', 'c', a count, or blank if not recorded."""
    if value is None:
        return ""
    if not isinstance(value, dict):
        return f"{value:,}" if isinstance(value, int) else str(value)
    count, den, pct = value.get("count"), value.get("denominator"), value.get("pct")
    if NOT_AVAILABLE in (count, den, pct):
        return NOT_AVAILABLE   # not available in this dataset's source
    if "c" in (count, pct):
        return "c" if den in (None, "c") else f"c (of {den:,})" if isinstance(den, int) else "c"
    if pct is None:
        return f"no estimate ({count} of {den})"
    return f"{pct:.1f}% ({count:,} of {den:,})"


def _downloads_of(folder: Path) -> list[dict]:
    """The spreadsheet and PDF a report folder holds, as links from the run's index."""
    found = []
    for name, label in (("report.xlsx", "spreadsheet"), ("report.pdf", "PDF")):
        if (folder / name).exists():
            found.append({"href": f"{folder.name}/{name}", "label": label})
    return found


def write_index(run: Path, record: dict, keys: list[str], synthetic: bool) -> Path:
    """index.html of a run: the disclosure audit's verdict first, then every report (named, with its status), then
    the key figures of each from its figures.json."""
    from analysis.render import words

    rows, compare = [], None
    for key in keys:
        rep = record["reports"][key]
        error = rep.get("error") or ""
        if key == "compare":
            compare = {"href": "compare/report.html", "label": "funnel plots of the records and of DfE's published figures",
                       "status": rep["status"], "error": error, "downloads": _downloads_of(run / key)}
            continue
        try:
            payload = json.loads((run / key / "figures.json").read_text())
        except (OSError, ValueError):
            payload = {}
        label = "All local authorities" if key == "all" else words.capital(words.place(key))
        rows.append({"href": f"{key}/report.html", "label": label, "status": rep["status"], "error": error,
                     "status_text": "complete" if rep["status"] == "ok" else rep["status"],
                     "downloads": _downloads_of(run / key),
                     "cells": [figure_cell(_dig(payload, path)) for _, path in INDEX_COLUMNS]})
    control = record["disclosure_control"]
    params = record["parameters"]
    told = record.get("records_period") or {}
    period = words.period(params.get("period_start") or told.get("first_day"),
                          params.get("period_end") or told.get("last_day"))
    levels = [s.strip() for s in str(params["risk_levels"]).split(",") if s.strip()]
    reports = [r for r in rows] + ([compare] if compare else [])
    failed = sum(r["status"] != "ok" for r in reports)
    verdict = record.get("verdict") or words.verdict(record.get("disclosure_audit"), control["suppressed"])
    return render_index(
        run / "index.html", title=f"Return home interview reports, {period}", rows=rows, compare=compare,
        columns=[{"label": label} for label, _ in INDEX_COLUMNS], started=words.stamp(record["started"]),
        finished=words.stamp(record["finished"]), commit=str(record["git"]["commit"])[:12],
        dirty=record["git"]["dirty"] is True, synthetic=synthetic, suppressed=control["suppressed"],
        statement=control["statement"], verdict=verdict, period=period,
        params_text=f"Records from {period}; police risk grades in scope: {' and '.join(levels)}",
        n_ok=len(reports) - failed, n_total=len(reports), n_failed=failed, min_cell=control.get("min_cell"),
        figures_note="Percentages are of children with a completed RHI for an episode in scope, with the number and "
                     "what it is out of; c means not shown, so that a small number cannot be worked out; a blank "
                     "cell means the report did not record the figure. Authority names are from DfE's list of local "
                     "authorities.")


# --- the files beside a report: its spreadsheet and its PDF ---------------------------------------

def write_downloads(folder: Path, *, key: str, params: dict, title: str, statement: str, synthetic: bool,
                    titles: dict, told: dict | None = None) -> dict:
    """After ``report.html``: ``report.xlsx`` (every table, ``analysis.render.spreadsheet``, in the order the page
    shows them) and, for the run-level reports, ``report.pdf`` (the page printed by headless Chromium, when it is
    installed; ``prints_pdf``). ``told``: what the batch wrote for every report (the records' period, the audit's
    verdict). ``titles``: the page's table titles, in page order, as ``render_report`` collected them. Returns what
    was written and how long each took; a PDF that cannot be printed is reported there, not raised (the report
    itself is complete).
    """
    import time

    from analysis.render import browser, words
    from analysis.render.spreadsheet import write_report_workbook

    folder = Path(folder)
    told = told or {}
    done: dict = {}
    t0 = time.perf_counter()
    _, min_cell = _statement_parts(statement)
    secondary = (f"So that a hidden count cannot be worked out from totals and other tables, some counts of "
                 f"{min_cell} or more are shown as 'c' too (secondary suppression). Every c means the same: "
                 f"{words.HIDDEN}.") if min_cell else None
    levels = [s.strip() for s in str(params.get("risk_levels", "")).split(",") if s.strip()]
    notes = [f"Police risk grades in scope: {' and '.join(levels)}.",
             "Every percentage is shown with its number and what it is out of, where the report shows them.",
             "The tables are those of the report page, in the same order, with the same labels."]
    if synthetic:
        notes.insert(0, "Synthetic data: every record behind these tables was made by a program; no real child or "
                        "authority is described.")
    verdict = told.get("verdict")
    book = write_report_workbook(folder, title=title, source=_source(synthetic),
                                 period=_period(folder, params, told), statement=statement, secondary=secondary,
                                 notes=notes, titles=titles, order=list(titles),
                                 verdict=verdict["text"] if verdict else None)
    done["xlsx"] = {"file": book.name if book else None, "seconds": round(time.perf_counter() - t0, 2)}
    if prints_pdf(key):
        t0 = time.perf_counter()
        try:
            browser.print_pdf(folder / "report.html", folder / "report.pdf")
            done["pdf"] = {"file": "report.pdf", "seconds": round(time.perf_counter() - t0, 2)}
        except RuntimeError as err:
            done["pdf"] = {"file": None, "error": str(err)}
    return done


def _caption_title(caption) -> str:
    """A table's title: its caption's text without the symbols note ("c: ...; z: ...")."""
    text = " ".join(caption.get_text(" ").split())
    return re.split(r"\s+[cxz]: ", text)[0].rstrip(" .")


def _source(synthetic: bool) -> str:
    if synthetic:
        return "Synthetic records of missing episodes and return home interviews, made by a program (rhi-analysis)"
    return ("Local authority records of missing episodes and return home interviews, analysed with rhi-analysis")


def _period(folder: Path, params: dict, told: dict | None = None) -> str:
    """The period analysed as dates, and the financial year the run's publication dates it to."""
    from analysis.render import words

    told = told or {}
    text = words.period(params.get("period_start") or told.get("data_start"),
                        params.get("period_end") or told.get("data_end"))
    cells = Path(folder).parent / "publication" / "rhi_publication.csv"
    try:
        with cells.open(newline="") as handle:
            first = next(csv.DictReader(handle), None)
    except OSError:
        first = None
    period = (first or {}).get("time_period", "")
    if re.fullmatch(r"\d{6}", period or ""):
        text += f" (published as the financial year {period[:4]}-{period[4:]})"
    return text
