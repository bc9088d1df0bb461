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

    return HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True)


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
    return _STYLER_ID.sub(stable, body), images


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
        figcaption = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
        body = f'<figure><img{klass} src="{src}" alt="{escape(alt)}">{figcaption}</figure>'
    new = copy.deepcopy(out)
    new["data"] = {"text/html": body}
    new["metadata"] = {}
    return new


def blank_png(raw: bytes) -> bool:
    """Whether a PNG is one colour all over (a chart with nothing drawn, or an empty canvas)."""
    import io

    from PIL import Image

    try:
        image = Image.open(io.BytesIO(raw))
        if image.mode not in ("RGB", "RGBA"):   # RGB(A) is judged on its colour bands as is: no converted copy
            image = image.convert("RGB")
        extrema = image.getextrema()[:3]
    except Exception:  # not an image Pillow reads: not judged blank
        return False
    return all(low == high for low, high in extrema)


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
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return datetime.now().strftime("%Y-%m-%d %H:%M")


LONG_TABLE = 25           # rows: a longer table is shown in full behind a details toggle
MISSING = {"nan", "<na>", "nat", "none"}   # how pandas prints a missing value: shown as an empty cell


def present(body: str, folder: Path | None = None, numbers: list | None = None) -> str:
    """Notebook HTML made readable and accessible, whatever the notebook printed.

    - headings one level down (the page's title is the only ``h1``);
    - tables: a pandas row-number index column dropped, ``scope`` on every header cell, empty header cells
      made data cells, missing values (NaN, <NA>) shown empty; each table in its own scrolling region
      (labelled by its caption, reachable by keyboard), a long one behind a ``<details>`` toggle, and a
      link to its CSV when the notebook saved one (``data-table`` names it; ``folder/tables/NAME.csv``).
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
        if not label:
            heading = table.find_previous(re.compile(r"^h[1-6]$"))
            where = " ".join(heading.get_text(" ").split()).rstrip("¶ ") if heading else ""
            label = f"Table {len(numbers) if numbers is not None else number + 1}" + (f": {where}" if where else "")
        rows = len(table.find("tbody").find_all("tr", recursive=False)) if table.find("tbody") else \
            len(table.find_all("tr")) - 1
        wrap = soup.new_tag("div", attrs={"class": "table-wrap", "role": "region", "tabindex": "0",
                                          "aria-label": label or "Table"})
        table.wrap(wrap)
        outer = table.find_parent("details") or wrap
        if rows > LONG_TABLE and table.find_parent("details") is None:   # the notebook may have folded it
            details = soup.new_tag("details", attrs={"class": "long-table"})
            summary = soup.new_tag("summary")
            summary.string = f"{label or 'Table'}: show all {rows:,} rows"
            wrap.wrap(details)
            details.insert(0, summary)
            outer = details
        name = table.get("data-table")
        if name and folder is not None and (Path(folder) / "tables" / f"{name}.csv").exists():
            link = soup.new_tag("p", attrs={"class": "table-csv"})
            anchor = soup.new_tag("a", href=f"tables/{name}.csv")
            anchor.string = f"Download this table (CSV, {name}.csv)"
            link.append(anchor)
            outer.insert_after(link)
    for figure in soup.find_all("figure"):   # a chart keeps a readable size on a phone and scrolls in its own region
        img = figure.find("img")
        if img is None:
            continue
        cap = figure.find("figcaption")
        label = "Chart: " + (" ".join(cap.get_text(" ").split()) if cap else " ".join(str(img.get("alt", "")).split())[:120])
        if numbers is not None:
            seen = numbers.count(label)
            numbers.append(label)
            label += f" ({seen + 1})" if seen else ""
        img.wrap(soup.new_tag("div", attrs={"class": "chart-wrap", "role": "region", "tabindex": "0",
                                            "aria-label": label}))
    return str(soup)


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


_NUMERIC = re.compile(r"[-+]?[\d,]*\.?\d+%?|c|x|z|n/a|-|\u2013|")


def _align_text_columns(table) -> None:
    """Words to the left, numbers to the right (GSS tables guidance): a column none of whose body cells
    holds a number (or a symbol) is marked ``text``. Tables with merged cells are left as they are."""
    trs = _tags(table, ("tr",))
    rows = [_child_cells(tr) for tr in trs]
    if not rows or any(c.get("colspan") or c.get("rowspan") for row in rows for c in row):
        return
    body = [row for tr, row in zip(trs, rows) if _ancestor(tr, "thead") is None
            and not all(c.name == "th" for c in row)]
    width = max(len(row) for row in rows)
    for col in range(width):
        values = [" ".join(row[col].get_text(" ").split()) for row in body if col < len(row)]
        if values and not any(v and _NUMERIC.fullmatch(v.split(" ")[0]) for v in values):
            for row in rows:
                if col < len(row):
                    row[col]["class"] = (row[col].get("class") or []) + ["text"]


def _statement_parts(statement: str) -> tuple[str, int | None]:
    match = re.search(r"from 1 to (\d+)", statement or "")
    return statement, (int(match.group(1)) + 1 if match else None)


def render_report(out: Path, *, title: str, sections: list[dict], headlines: list[str], synthetic: bool,
                  statement: str, suppressed: bool, params_text: str, error: str | None = None) -> Path:
    """Write one report page. ``sections``: dicts with title, anchor, html and optional figures (PNG paths).

    Figures a notebook saved but did not show are listed as links to their files (no alt text can be
    written for them here). The page links the report's spreadsheet and PDF (``analysis.render.spreadsheet``).
    """
    from analysis import __version__

    folder = Path(out).parent
    numbers: list = []
    for s in sections:
        s["html"] = present(s["html"], folder, numbers)
        s["figures"] = [{"name": p.stem.replace("_", " "), "png": f"figures/{p.name}",
                         "svg": f"figures/{p.stem}.svg" if p.with_suffix(".svg").exists() else None}
                        for p in s.get("figures", [])]
    _, min_cell = _statement_parts(statement)
    page = _env().get_template("report.html.j2").render(
        title=title, sections=sections, headlines=headlines, synthetic=synthetic, statement=statement,
        suppressed=suppressed, params_text=params_text, error=error, css=_css(), version=__version__,
        generated=generated_stamp(), min_cell=min_cell, downloads=report_downloads(folder.name))
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
    ("In-scope episodes", ("replication", "populations", "medium_low_episodes", "n")),
    ("RHI children", ("replication", "populations", "rhi_children", "n")),
    ("CSE victim", ("replication", "figures", "cse_victim")),
    ("Any CSE red flag", ("replication", "figures", "cse_red_flag_any")),
    ("CCE victim", ("replication", "figures", "cce_victim")),
    ("Mental health", ("replication", "figures", "mental_health")),
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
    """index.html of a run: every report with its status and key figures from its figures.json."""
    from analysis.reference.dfe import la_names

    names = la_names()
    rows, compare = [], None
    for key in keys:
        rep = record["reports"][key]
        error = rep.get("error") or ""
        if key == "compare":
            compare = {"href": "compare/report.html", "label": "funnel plots (RHI data and published DfE figures)",
                       "status": rep["status"], "error": error, "downloads": _downloads_of(run / key)}
            continue
        try:
            payload = json.loads((run / key / "figures.json").read_text())
        except (OSError, ValueError):
            payload = {}
        label = "All local authorities" if key == "all" else f"{key} {names.get(key, '')}".strip()
        rows.append({"href": f"{key}/report.html", "label": label, "status": rep["status"], "error": error,
                     "downloads": _downloads_of(run / key),
                     "cells": [figure_cell(_dig(payload, path)) for _, path in INDEX_COLUMNS]})
    control = record["disclosure_control"]
    params = record["parameters"]
    period = f"{params.get('period_start') or 'start of data'} to {params.get('period_end') or 'end of data'}"
    failed = sum(r["status"] != "ok" for r in rows)
    return render_index(
        run / "index.html", title="Return home interview reports", rows=rows, compare=compare,
        columns=[{"label": label} for label, _ in INDEX_COLUMNS], started=record["started"],
        finished=record["finished"], commit=str(record["git"]["commit"])[:12], dirty=record["git"]["dirty"] is True,
        synthetic=synthetic, suppressed=control["suppressed"], statement=control["statement"],
        params_text=f"Period {period}; police risk in scope: {params['risk_levels'].replace(',', ', ')}",
        n_ok=len(rows) - failed, n_total=len(rows), n_failed=failed, min_cell=control.get("min_cell"),
        figures_note="Percentages are of RHI children (children with a completed RHI for an in-scope episode), "
                     "with the count and denominator; 'c' marks a value suppressed by disclosure control; a blank "
                     "cell means the report did not record the figure. Authority names come from the DfE list.")


# --- the files beside a report: its spreadsheet and its PDF ---------------------------------------

def write_downloads(folder: Path, *, key: str, params: dict, title: str, statement: str, synthetic: bool) -> dict:
    """After ``report.html``: ``report.xlsx`` (every table, ``analysis.render.spreadsheet``) and, for the run-level
    reports, ``report.pdf`` (the page printed by headless Chromium, when it is installed; ``prints_pdf``). Returns what was written and how long
    each took; a PDF that cannot be printed is reported there, not raised (the report itself is complete).
    """
    import time

    from analysis.render import browser
    from analysis.render.spreadsheet import write_report_workbook

    folder = Path(folder)
    done: dict = {}
    t0 = time.perf_counter()
    _, min_cell = _statement_parts(statement)
    secondary = (f"So that a hidden count cannot be worked out from totals and other tables, some counts of "
                 f"{min_cell} or more are shown as 'c' too (secondary suppression).") if min_cell else None
    notes = [f"Police risk grades in scope: {str(params.get('risk_levels', '')).replace(',', ', ')}.",
             "Every percentage is shown with its count and denominator where the report shows them.",
             "The tables are those of the report page report.html; the CSV files in tables/ hold the same values."]
    if synthetic:
        notes.insert(0, "SYNTHETIC DATA: every record behind these tables was generated by a program; "
                        "no real child is described.")
    book = write_report_workbook(folder, title=title, source=_source(synthetic), period=_period(folder, params),
                                 statement=statement, secondary=secondary, notes=notes,
                                 titles=table_titles(folder / "report.html"))
    done["xlsx"] = {"file": book.name if book else None, "seconds": round(time.perf_counter() - t0, 2)}
    if prints_pdf(key):
        t0 = time.perf_counter()
        try:
            browser.print_pdf(folder / "report.html", folder / "report.pdf")
            done["pdf"] = {"file": "report.pdf", "seconds": round(time.perf_counter() - t0, 2)}
        except RuntimeError as err:
            done["pdf"] = {"file": None, "error": str(err)}
    return done


_TABLE_WITH_NAME = re.compile(r"<table\b[^>]*\bdata-table\b.*?</table\s*>", re.I | re.S)


def table_titles(page: Path) -> dict:
    """{CSV name: the table's caption on the page} for the tables a notebook named, without the symbols note."""
    from bs4 import BeautifulSoup

    try:
        text = Path(page).read_text(encoding="utf-8")
    except OSError:
        return {}
    # Only the tables are parsed, not the whole page (its charts are long data URIs): each from its <table to its
    # </table> (the report's tables hold no table), which is what the whole page's parse gave for them.
    fragments = [m.group(0) for m in _TABLE_WITH_NAME.finditer(text)]
    soup = BeautifulSoup("".join(fragments), "html.parser")
    titles = {}
    for table in soup.find_all("table", attrs={"data-table": True}):
        if table.caption is not None:
            text = " ".join(table.caption.get_text(" ").split())
            titles[table["data-table"]] = re.split(r"\s+[cxz]: ", text)[0].rstrip(" .")
    return titles


def _source(synthetic: bool) -> str:
    if synthetic:
        return "Synthetic records of missing episodes and return home interviews, made by rhi synth"
    return ("Local authority records of missing episodes and return home interviews, in the format of the "
            "project's data contract, analysed with rhi-analysis")


def _period(folder: Path, params: dict) -> str:
    """The period analysed, as the run's publication dates it (financial year) and as the options set it."""
    start, end = params.get("period_start"), params.get("period_end")
    text = f"{start or 'start of the data'} to {end or 'end of the data'}"
    cells = Path(folder).parent / "publication" / "rhi_publication.csv"
    try:
        with cells.open(newline="") as handle:
            first = next(csv.DictReader(handle), None)
    except OSError:
        first = None
    period = (first or {}).get("time_period", "")
    if re.fullmatch(r"\d{6}", period or ""):
        text += f" (starting in the financial year {period[:4]}-{period[4:]})"
    return text
