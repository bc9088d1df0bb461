"""What every analysis notebook does around its analysis: load, parameters, and saving outputs.

A notebook calls ``setup(...)`` with its papermill parameters and gets a
:class:`ReportContext`: the validated dataset, the analysis parameters, the
disclosure control in force, and helpers that write figures (PNG and SVG),
tidy CSV tables and ``figures.json`` into the output folder. Notebooks hold
no analysis logic of their own.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.disclosure import Disclosure, is_symbol
from analysis.render.words import SYMBOL_MEANINGS, header_text, plain_value
from analysis.errors import DatasetError
from analysis.dataset.metadata import is_synthetic
from analysis.definitions.populations import Params
from analysis.dataset.validate import Dataset, load_dataset

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "data" / "processed" / "synthetic"
SVG_HASH_SALT = "rhi-analysis"  # any fixed value: SVG ids then depend only on the figure
SVG_ENV = "RHI_SVG"             # "1": save every chart as SVG too, beside its PNG (``rhi batch --svg``)


def resolve_data_path(data_path) -> Path:
    """data_path if given, else $RHI_DATA, else the default synthetic dataset of the project."""
    if data_path:
        return Path(data_path)
    if os.environ.get("RHI_DATA"):
        return Path(os.environ["RHI_DATA"])
    return DEFAULT_DATA


class NotebookDataError(RuntimeError):
    """Raised in a notebook when its dataset is invalid; the message lists the problems."""


class _Deferred:
    """A dataset not loaded yet: ``load()`` loads it (``ReportContext.ds`` calls it the first time it is used)."""

    def __init__(self, load):
        self.load = load


class _DatasetAttribute:
    """``ReportContext.ds``: the dataset, or a :class:`_Deferred` loaded the first time a notebook reads ``ds``
    and kept by the context from then on. In a batch most notebooks read only the published tables, so their
    kernels need not load (and keep) the dataset at all."""

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:   # on the class: no default value for the dataclass field
            raise AttributeError(self.slot[1:])
        value = obj.__dict__[self.slot]
        if isinstance(value, _Deferred):
            value = value.load()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@dataclass
class ReportContext:
    ds: Dataset = _DatasetAttribute()   # loaded when first used (see ``setup``)
    params: Params
    control: Disclosure
    out: Path | None
    data_path: Path
    synthetic: bool = False
    records: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)    # name -> table as published (suppressed, rounded)
    scope: str = "all"
    run: dict = field(default_factory=dict)       # what the batch tells every report (``RUN_FILE``); {} on its own
    data_period: tuple = (None, None)             # first and last day of the run's records

    def table(self, name: str) -> pd.DataFrame:
        """A table of this report as the run publishes it: every number shown comes from here (KeyError when the
        run does not publish it for this report: see :meth:`has_table`)."""
        return self.tables[name].copy()

    def has_table(self, name: str) -> bool:
        """Whether the run publishes table ``name`` for this report's level (``analysis.publish.plan``; some tables
        are published only in the report for all local authorities)."""
        return name in self.tables

    def reporting_years(self) -> list[str]:
        """This report's reporting years (DfE years, labels such as '2017-18'), from the first to the last episode
        of its records: as the batch worked them out when it published the run (``RUN_FILE``), else from the
        dataset (a notebook on its own). A batch's kernel thus never loads the dataset for them."""
        told = self.run.get("reporting_years") or {}
        if self.scope in told:
            return list(told[self.scope])
        from analysis.publish.years import scope_years

        return [y.label for y in scope_years(self.ds, self.params)]

    def optional_table(self, name: str) -> pd.DataFrame | None:
        """The table, or None where the run does not publish it for this report."""
        return self.table(name) if self.has_table(name) else None

    def not_here(self, name: str) -> None:
        """One line where a table is not published at this report's level, saying what it shows and where it is."""
        from analysis.publish.plan import level_label, where_shown
        from analysis.render.words import capital

        self.say(f"{capital(where_shown(name))}: not shown for {level_label(self.scope)}, so that fewer numbers "
                 "need to be hidden; shown in the report for all local authorities together.")

    @property
    def place(self) -> str:
        """'Kent (E10000016)', 'local authority E08999901' or 'all local authorities'."""
        from analysis.render.words import place

        return place(self.params.la_code)

    def describe(self) -> str:
        """What was analysed, in words: the place, the period as dates and the police grades in scope."""
        levels = list(self.params.risk_levels)
        grades = " and ".join(levels) if len(levels) < 3 else ", ".join(levels[:-1]) + " and " + levels[-1]
        return f"{self.place}, {self.period_text}; police risk grades in scope: {grades}"

    def figures(self) -> dict:
        """The replication figures and population sizes as published, in the form ``compute_figures`` returns."""
        from analysis.definitions.figures import FIGURES

        from analysis.stats.proportions import proportion

        figs = {}
        for row in self.table("replicated_figures").to_dict("records"):
            fig = FIGURES[row["id"]]
            count, den = _plain(row["count"]), _plain(row["denominator"])
            record = {"unit": fig.unit, "population": fig.population, "label": fig.label, "kind": fig.kind,
                      "count": count, "denominator": den, "pct": None, "ci_low": None, "ci_high": None}
            symbol = next((v for v in (count, den) if is_symbol(v)), None)
            if symbol:   # a percentage built on a suppressed (or unavailable) count is shown as that count is
                record.update(pct=symbol, ci_low=symbol, ci_high=symbol, suppressed=symbol == "c")
            elif fig.kind != "count" and den:   # from the published count and denominator: nothing new
                p = proportion(count, den)
                record.update(pct=p.pct, ci_low=p.ci_low, ci_high=p.ci_high)
            figs[row["id"]] = record
        from analysis.publish.plan import level_label
        from analysis.publish.tables import NOT_PUBLISHED

        elsewhere = f"not published for {level_label(self.scope)}: see the report on all authorities together"
        for fid, why in {**{f: elsewhere for f in FIGURES if f not in figs}, **NOT_PUBLISHED}.items():
            fig = FIGURES[fid]
            figs[fid] = {"unit": fig.unit, "population": fig.population, "label": fig.label, "kind": fig.kind,
                         "count": None, "denominator": None, "pct": None, "ci_low": None, "ci_high": None,
                         "not_published": why}
        pops = {}
        for row in self.table("population_sizes").to_dict("records"):
            pops[row["population"]] = {"unit": row["unit"], "n": _plain(row["n"])}
            if _plain(row["children"]) is not None:
                pops[row["population"]]["children"] = _plain(row["children"])
        p = self.params
        return {"params": {"period_start": None if p.period_start is None else f"{p.period_start:%Y-%m-%d}",
                           "period_end": None if p.period_end is None else f"{p.period_end:%Y-%m-%d}",
                           "risk_levels": list(p.risk_levels), "la_code": p.la_code},
                "interval": "Wilson score interval, 95%",
                "disclosure_control": {"suppressed": self.control.suppress, "min_cell": self.control.min_cell,
                                       "statement": self.control.statement},
                "populations": pops, "figures": figs}

    @property
    def title_suffix(self) -> str:
        """What every caption ends with, so that a chart or table copied on its own still says where and when:
        ', Kent, 1 April 2017 to 31 March 2018'."""
        from analysis.render.words import place_title

        where = "comparison of local authorities" if self.scope == "compare" else place_title(self.params.la_code)
        return f", {where}, {self.period_text}"

    def _folder(self, sub: str) -> Path | None:
        if self.out is None:
            return None
        folder = self.out / sub
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save_figure(self, fig, name: str) -> bytes | None:
        """Write a matplotlib figure as PNG (and SVG when the run asks: ``rhi batch --svg``), the same bytes every
        run; returns the PNG's bytes.

        PNG: no software or time stamp. SVG: no date or creator, and element ids
        hashed with a fixed salt (``svg.hashsalt``; matplotlib's default is a new
        random salt per file, which made every SVG differ between identical runs).
        The PNG is drawn once: the bytes written are the bytes returned (and shown by ``show_figure``).
        """
        folder = self._folder("figures")
        if folder is None:
            return None
        png = _png_bytes(fig)
        (folder / f"{name}.png").write_bytes(png)
        if self.svg:
            import matplotlib

            with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
                fig.savefig(folder / f"{name}.svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
        return png

    @property
    def svg(self) -> bool:
        """Whether charts are saved as SVG too: when $RHI_SVG is 1, as ``rhi batch --svg`` sets it in its kernels
        (any notebook, the project's or a user's; set it yourself for a notebook run on its own). Off by default:
        drawing the SVG cost about as much as the PNG, and the page shows the PNG."""
        return os.environ.get(SVG_ENV) == "1"

    def show_figure(self, fig, name: str, alt: str, caption: str) -> None:
        """Save and show a chart (:meth:`_show_figure`), timed as the stage "charts" (``analysis.timing``)."""
        from analysis.timing import stage

        with stage("charts"):
            self._show_figure(fig, name, alt, caption)

    def _show_figure(self, fig, name: str, alt: str, caption: str) -> None:
        """Save the figure (PNG and SVG, when there is an output folder) and show it: a PNG whose output
        metadata carries ``alt`` (written from the chart's data) and ``caption``.

        ``fig`` may be a :class:`analysis.render.plots.NotDrawn`: then one line says why there is no chart.
        Shown with or without an output folder, so charts appear inline in JupyterLab too.
        """
        from analysis.render.plots import NotDrawn

        if isinstance(fig, NotDrawn):
            _display_text(fig.reason)
            return
        import base64

        import matplotlib.pyplot as plt
        from IPython.display import display

        raw = self.save_figure(fig, name) or _png_bytes(fig)   # the file's bytes are shown: one drawing, not two
        plt.close(fig)   # else the inline backend would show it a second time
        png = base64.b64encode(raw).decode("ascii")
        display({"image/png": png, "text/plain": f"[Chart] {caption} {alt}"}, raw=True,
                metadata={"alt": alt, "caption": caption})

    def show_table(self, table: pd.DataFrame, name: str, caption: str, missing: dict | None = None,
                   save: bool = True, fold: str | None = None) -> None:
        """Save and show a table (:meth:`_show_table`), timed as the stage "tables"."""
        from analysis.timing import stage

        with stage("tables"):
            self._show_table(table, name, caption, missing, save, fold)

    def _show_table(self, table: pd.DataFrame, name: str, caption: str, missing: dict | None = None,
                    save: bool = True, fold: str | None = None) -> None:
        """Save the table as CSV and show it as an accessible HTML table (and plain text), in full.

        Numbers are formatted (thousands separators, one decimal for percentages), 'c' stays 'c',
        a blank is 'z' (not applicable) unless ``missing`` names another symbol for a column ('x', not
        available). Long tables are folded behind a details toggle; ``fold`` folds any table, behind a toggle of
        that name (detail a reader may want, not the answer).
        """
        from html import escape

        from IPython.display import display

        if save:
            self.save_table(table, name)
        table = shown_columns(table)   # a column with no value anywhere says nothing: left out (as in the spreadsheet)
        cells = _formatted(table, missing)   # formatted once for both forms
        html = table_html(table, caption, missing, cells, fold=fold is None)
        if fold:
            html = f'<details class="more"><summary>{escape(fold)}</summary>{html}</details>'
        display({"text/html": html, "text/plain": table_text(table, caption, missing, cells)},
                raw=True, metadata={"table": name} if save else None)

    def say(self, *lines: str, bullets: bool = False, fold: str | None = None) -> None:
        """Show sentences as paragraphs (or a list), escaped: no Markdown surprises, no preformatted text.
        ``fold``: behind a toggle of that name (detail, not the answer)."""
        from html import escape

        from IPython.display import display

        lines = [str(line) for line in lines if line]
        if not lines:
            return
        if bullets:
            body = "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"
        else:
            body = "".join(f"<p>{escape(line)}</p>" for line in lines)
        if fold:
            body = f'<details class="more"><summary>{escape(fold)}</summary>{body}</details>'
        display({"text/html": body, "text/plain": "\n".join(lines)}, raw=True)

    @property
    def period_dates(self) -> tuple:
        """The first and last day analysed: the parameters', else the records' own."""
        p = self.params
        return (p.period_start if p.period_start is not None else self.data_period[0],
                p.period_end if p.period_end is not None else self.data_period[1])

    @property
    def period_text(self) -> str:
        """The period analysed as dates: '1 April 2017 to 31 March 2018' (an open end is the records' first or
        last day)."""
        from analysis.render.words import period

        return period(*self.period_dates)

    def say_headlines(self) -> None:
        """This notebook's headlines, shown where it runs on its own; in a batch report the headline box at the
        top of the page shows them once."""
        if not self.run:
            self.say(*self.records.get("headlines", []))

    def record_headlines(self, lines: list[str], rank: int) -> None:
        """This notebook's headlines for the report's headline box; ``rank`` orders the notebooks' blocks
        (1: police grade and disclosure, 2: delivery, 3: context)."""
        self.records["headlines"] = list(lines)
        self.records["headline_rank"] = int(rank)

    def save_table(self, table: pd.DataFrame, name: str) -> None:
        """Write a tidy table as CSV (a published table), every number as the report prints it (``printed_table``);
        text a spreadsheet would run as a formula is neutralised."""
        from analysis.publish.files import neutralise

        folder = self._folder("tables")
        if folder is not None:
            safe = printed_table(table).map(neutralise)
            safe.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")

    def record(self, key: str, value) -> None:
        """Add a result to figures.json (written by ``finish``)."""
        self.records[key] = value

    def finish(self) -> None:
        if self.out is None:
            return
        from analysis.timing import write_kernel_stages

        write_kernel_stages(self.out)   # where this notebook's time went, for the batch's profile
        payload = {
            "params": {"la_code": self.params.la_code, "risk_levels": list(self.params.risk_levels),
                       "period_start": None if self.params.period_start is None else f"{self.params.period_start:%Y-%m-%d}",
                       "period_end": None if self.params.period_end is None else f"{self.params.period_end:%Y-%m-%d}"},
            "synthetic_data": self.synthetic,
            "disclosure_control": {"suppressed": self.control.suppress, "min_cell": self.control.min_cell,
                                   "statement": self.control.statement},
            **self.records,
        }
        existing = self.out / "figures.json"
        if existing.exists():  # several notebooks write into one report folder
            old = json.loads(existing.read_text())
            old.update(payload)
            payload = old
        existing.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


PNG_DPI = 120
LONG_TABLE = 25   # rows; longer tables are shown in full behind a details toggle
SYMBOLS = SYMBOL_MEANINGS   # c, z and x in words: explained once a page, in its glossary
_PCT = ("pct", "ci_low", "ci_high", "share", "percent")
_P = ("p_value", "q_value", "trend_p_value", "trend_q_value")


PNG_COMPRESSION = 3   # zlib level: the same pixels as matplotlib's default (6), a third faster and no larger


def _png_bytes(fig) -> bytes:
    """The figure as the report's PNG: 120 dpi, cropped to what is drawn, no software stamp.

    Cropped as ``savefig(bbox_inches="tight")`` crops (see :func:`_tight_box`), and drawn once. A chart laid
    out already (by ``tight_layout``) keeps a placeholder layout engine, and savefig draws a figure with any
    engine twice, the first time without pixels, only to place it; its "tight" crop asks for that draw as
    well. Here the crop is measured without it and handed to savefig, the placeholder set aside meanwhile:
    about a tenth of a report's time, the same bytes (tests/test_text_metrics.py). A figure with a live layout
    engine, or where matplotlib's settings would make one, is saved the usual way.
    """
    import io

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    buffer = io.BytesIO()
    options = {"format": "png", "dpi": PNG_DPI, "metadata": {"Software": None},
               "pil_kwargs": {"compress_level": PNG_COMPRESSION}}
    engine = fig.get_layout_engine()
    rc = matplotlib.rcParams
    if (engine is not None and type(engine) is not PlaceHolderLayoutEngine) or rc["figure.autolayout"] \
            or rc["figure.constrained_layout.use"] or not isinstance(fig.canvas, FigureCanvasAgg) \
            or fig.canvas.device_pixel_ratio != 1:
        fig.savefig(buffer, bbox_inches="tight", **options)
        return buffer.getvalue()
    fig.set_layout_engine(None)
    try:
        fig.savefig(buffer, bbox_inches=_tight_box(fig), **options)
    finally:
        fig.set_layout_engine(engine)
    return buffer.getvalue()


def _tight_box(fig):
    """The box ``savefig(bbox_inches="tight")`` crops a PNG to: the figure's tight box measured by the PNG's own
    renderer (at its dpi), padded by ``savefig.pad_inches``; in inches."""
    import matplotlib

    dpi = fig.dpi
    fig.dpi = PNG_DPI
    try:
        box = fig.get_tightbbox(fig.canvas.get_renderer())
    finally:
        fig.dpi = dpi
    return box.padded(matplotlib.rcParams["savefig.pad_inches"])


def records(table: pd.DataFrame) -> list[dict]:
    """A published table as JSON-ready records: blanks are None, 'c' stays 'c'."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def _display_text(line: str) -> None:
    from html import escape

    from IPython.display import display

    display({"text/html": f"<p>{escape(line)}</p>", "text/plain": line}, raw=True)


def _is_blank(value) -> bool:
    """A missing value (None, NaN, an empty string, pandas' 'nan' or '<NA>'). The word 'none' is not missing:
    it is a category of the data ("no follow-up"), shown in words."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and value.strip().lower() in ("", "nan", "<na>")


def shown_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The table without the columns that are blank in every row (a note column with no note)."""
    keep = [c for c in table.columns if not table[c].map(_is_blank).all()] if len(table) else list(table.columns)
    return table[keep] if len(keep) < len(table.columns) else table


def printed_value(column: str, value):
    """One value for a CSV as the report prints it, without thousands separators: a whole number as digits
    (1276, never 1276.0), a percentage to 1 decimal, a p-value to 3 or "<0.001", a ratio to 2; text and
    symbols as they are; a blank stays blank."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value is None or value is pd.NA or _is_blank(value):
        return ""
    if isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return format_cell(column, value).replace(",", "")
    return value


def printed_table(table: pd.DataFrame) -> pd.DataFrame:
    """A table with every number as printed (``printed_value``); each p-value column that holds numbers gets a
    ``<column>_exact`` column beside it with the unrounded value, as "<0.001" hides it."""
    columns: dict = {}   # built whole, then one frame: a column at a time cost a frame update per column
    for column in table.columns:
        values = table[column].astype(object)
        columns[column] = [printed_value(str(column), v) for v in values]
        if _float_format(str(column).lower())[1]:
            exact = [repr(float(v)) if isinstance(v, (float, int)) and not isinstance(v, bool) and v == v else ""
                     for v in values]
            if any(exact):
                columns[f"{column}_exact"] = exact
    return pd.DataFrame(columns, index=table.index)


def format_cell(column: str, value, missing: str = "z") -> str:
    """One published value as a reader sees it: '1,234', '31.2', 'c', 'z' (not applicable) or 'x'."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value is pd.NA or _is_blank(value):
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return plain_value(column, value)   # codes as words, the same as in the spreadsheet
    if isinstance(value, (int,)):
        return f"{value:,}"
    if isinstance(value, float):
        pct, p, whole, decimals = _float_format(str(column).lower())
        if pct:
            return f"{value:,.1f}"
        if p:
            if value < 0.001:
                return "<0.001"
            return f"{value:.3f}"
        if whole and value.is_integer():
            return f"{int(value):,}"
        if decimals:
            return f"{value:,.{decimals}f}"
        return f"{value:,.1f}"
    return str(value)


@lru_cache(maxsize=1024)
def _float_format(col: str) -> tuple[bool, bool, bool, int]:
    """How a column's floats are shown, decided once per column name (``format_cell``): a percentage; a p-value;
    whole numbers as integers; else the number of decimals of a ratio, log odds, standard error, median or hours."""
    pct = any(col == k or col.endswith("_" + k) or col.startswith(k) for k in _PCT) or col.endswith("pct")
    p = any(col.startswith(k) or col == k for k in _P) or col.endswith("p_value") or "q_value" in col
    whole = not any(k in col for k in ("odds", "ratio", "log", "se", "z"))
    decimals = 0
    if any(k in col for k in ("odds", "ratio", "log_odds", "se", "trend_z", "median", "hours")):
        decimals = 2 if "hours" not in col and "median" not in col else 1
    return pct, p, whole, decimals


def _formatted(table: pd.DataFrame, missing: dict | None) -> tuple[list[str], list[list[str]], list[bool]]:
    missing = missing or {}
    columns = [str(c) for c in table.columns]
    rows = [[format_cell(c, v, missing.get(c, "z")) for c, v in zip(columns, row)]
            for row in table.itertuples(index=False, name=None)]
    numeric = [all(_looks_numeric(r[i]) for r in rows) and bool(rows) for i in range(len(columns))]
    return columns, rows, numeric


_NUMERIC_CELL = re.compile(r"(<?-?[\d,]+(\.\d+)?|c|z|x)")


def _looks_numeric(text: str) -> bool:
    return bool(_NUMERIC_CELL.fullmatch(text))


def table_html(table: pd.DataFrame, caption: str, missing: dict | None = None, cells=None, fold: bool = True) -> str:
    """An accessible HTML table: caption, column headers with scope, the first column of words as row headers,
    no index, every row shown. The symbols are explained once a page (its glossary), not in every caption.
    ``cells``: the table's ``_formatted`` cells when the caller has them already."""
    from html import escape

    columns, rows, numeric = cells or _formatted(table, missing)
    label = next((i for i, n in enumerate(numeric) if not n), None)   # the first column of words names the row
    out = [f'<table class="rhi-table"><caption>{escape(caption)}</caption><thead><tr>']
    out += [f'<th scope="col"{" class=num" if n else ""}>{escape(header_text(c))}</th>' for c, n in zip(columns, numeric)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells_html = []
        for i, (v, n) in enumerate(zip(row, numeric)):
            if i == label:
                cells_html.append(f'<th scope="row">{escape(v)}</th>')
            else:
                cells_html.append(f'<td{" class=num" if n else ""}>{escape(v)}</td>')
        out.append("<tr>" + "".join(cells_html) + "</tr>")
    out.append("</tbody></table>")
    html = "".join(out)
    if len(rows) > LONG_TABLE and fold:
        html = (f'<details class="long-table"><summary>Show all {len(rows):,} rows: {escape(caption)}</summary>'
                f"{html}</details>")
    return html


def table_text(table: pd.DataFrame, caption: str, missing: dict | None = None, cells=None) -> str:
    """The same table as plain text (every row)."""
    columns, rows, _ = cells or _formatted(table, missing)
    heads = [header_text(c) for c in columns]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]
    lines = [caption, "  ".join(h.ljust(w) for h, w in zip(heads, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def _plain(value):
    """A published value as Python: int, float, 'c' or None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


_CACHE: dict = {}


def cached_dataset(path: Path, la_code: str | None = None) -> Dataset:
    """Load (and for one LA, subset) a dataset once per kernel; reloaded if any file changed.

    A batch run keeps kernels warm across authorities, so the national file is
    read and validated once per kernel, not once per report. Only the latest
    authority's subset is kept: a warm kernel goes from authority to authority,
    and keeping every subset made its memory grow with each report.
    """
    from analysis.dataset.io import dataset_files

    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in dataset_files(path))
    key = (str(Path(path).resolve()), stamp)
    if _CACHE.get("key") != key:
        _CACHE.clear()
        _CACHE.update(key=key, full=load_dataset(path), subset=None)
    if not la_code:
        return _CACHE["full"]
    subset = _CACHE.get("subset")
    if subset is None or subset[0] != la_code:
        _CACHE["subset"] = None   # the previous authority's subset goes before the next is made
        subset = _CACHE["subset"] = (la_code, _CACHE["full"].subset_la(la_code))
    return subset[1]


def _drop_other_subset(la_code: str | None) -> None:
    """Forget a cached subset of another authority (a batch kernel moving on to the next report)."""
    subset = _CACHE.get("subset")
    if subset is not None and subset[0] != la_code:
        _CACHE["subset"] = None


def _load_cached(path: Path, la_code: str | None) -> Dataset:
    """The dataset (the authority's subset when ``la_code``) from the kernel's cache, timed as "data load";
    NotebookDataError if it is invalid or has no such authority."""
    from analysis.timing import stage

    with stage("data load"):
        try:
            dataset = cached_dataset(path)
        except DatasetError as err:
            raise NotebookDataError(f"{path} is not a valid dataset; nothing was analysed:\n  "
                                    + "\n  ".join(err.summary_lines(10))) from None
        if not la_code:
            return dataset
        if la_code not in dataset.la_codes:
            raise NotebookDataError(f"la_code {la_code} has no episodes in {path}")
        return cached_dataset(path, la_code)


def setup(data_path=None, la_code=None, period_start=None, period_end=None,
          risk_levels=("medium", "low"), min_cell: int = 5, suppress: bool = True,
          output_dir=None, dataset: Dataset | None = None, publication_dir=None,
          scope: str | None = None) -> ReportContext:
    """Check the dataset and fix the parameters of a notebook run.

    On its own a notebook loads and validates the dataset here (it publishes its own tables from it). In a
    batch (``publication_dir``) the tables are the run's, already published from a dataset the batch
    validated, so ``ctx.ds`` is loaded only if the notebook uses it, the first time it does (from the
    kernel's cache, subset to the authority): a notebook that shows only published tables never loads it.
    """
    from analysis.timing import stage

    path = resolve_data_path(data_path)
    if dataset is None:
        if not path.exists():
            raise NotebookDataError(f"No dataset at {path}. Run `make data` (or `rhi synth --out {path}`) "
                                    "or set the data_path parameter.")
        if not publication_dir:
            dataset = _load_cached(path, None)
    if isinstance(risk_levels, str):
        risk_levels = tuple(s.strip() for s in risk_levels.split(",") if s.strip())
    params = Params(period_start=period_start, period_end=period_end, risk_levels=tuple(risk_levels),
                    la_code=la_code or None)
    if dataset is None:   # a batch: loaded when the notebook first uses ctx.ds, if it does
        dataset = _Deferred(lambda: _load_cached(path, params.la_code))
    elif params.la_code:
        if params.la_code not in dataset.la_codes:
            raise NotebookDataError(f"la_code {params.la_code} has no episodes in {path}")
        if dataset is _CACHE.get("full"):
            dataset = _load_cached(path, params.la_code)
        else:
            dataset = dataset.subset_la(params.la_code)
    synthetic = is_synthetic(path)  # metadata.json, Parquet file metadata or a workbook's metadata sheet
    out = Path(output_dir) if output_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    control = Disclosure(bool(suppress), int(min_cell))
    scope = scope or params.la_code or "all"
    if publication_dir:   # a batch: the run's tables, suppressed once for every report of the run
        _drop_other_subset(params.la_code)   # before the freeze: the last authority's subset is not kept
        _freeze_long_lived()
        with stage("reading the published tables"):
            tables = published_tables(publication_dir, scope)
        run = run_context(publication_dir)
        data_period = (run.get("data_start"), run.get("data_end"))
    else:                 # on its own: a publication of this report's tables alone
        tables = _own_publication(dataset, params, scope, control, path)
        run, data_period = {}, records_period(dataset)
        show_working_view_notice()
    return ReportContext(dataset, params, control, out, path, synthetic=synthetic, tables=tables, scope=scope,
                         run=run, data_period=data_period)


RUN_FILE = "run.json"   # beside the published tables: what the batch tells every report (period, audit verdict)


def run_context(publication_dir) -> dict:
    """What the batch wrote for every report of the run (``RUN_FILE``): the first and last day of the records
    and the disclosure audit's verdict; {} when there is no such file."""
    try:
        return json.loads((Path(publication_dir) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return {}


def records_period(dataset) -> tuple:
    """The first and last day on which an episode of the records (every authority's) started."""
    try:
        whole = getattr(dataset, "root", dataset)
        starts = pd.to_datetime(whole.episodes["missing_start"], errors="coerce").dropna()
    except (AttributeError, KeyError):
        return (None, None)
    if starts.empty:
        return (None, None)
    return (f"{starts.min():%Y-%m-%d}", f"{starts.max():%Y-%m-%d}")


WORKING_VIEW_TITLE = "Working view for the analyst, not the published report"
WORKING_VIEW = (
    "This notebook protected its numbers against each other only, not against everything a run publishes "
    "together, so it can show a number the published reports hide. Copying numbers from here into anything "
    "shared can undo the run's disclosure control. To make the protected publication, run make report (or "
    "rhi batch with your dataset) and take numbers only from the reports it writes.")


def show_working_view_notice() -> None:
    """At the top of a notebook run on its own (JupyterLab, papermill without a batch): what its numbers are."""
    from html import escape

    from IPython.display import display

    display({"text/html": '<div class="working-view" role="note" style="border:3px solid #b02a37;padding:.6rem 1rem;'
                          f'background:#fbe3e4;color:#1a1a1a"><p><strong>{escape(WORKING_VIEW_TITLE)}.</strong> '
                          f"{escape(WORKING_VIEW)}</p></div>",
             "text/plain": f"WORKING VIEW: {WORKING_VIEW_TITLE}. {WORKING_VIEW}"}, raw=True)


def _freeze_long_lived() -> None:
    """Leave what a warm batch kernel keeps from report to report (imported modules, the cached dataset) out of
    the garbage collector's full passes (``gc.freeze``).

    The batch resets the kernel before each notebook, and IPython's ``%reset`` runs two full collections, each
    walking every object in the kernel: about 0.2 s each with the modules and dataset loaded, so over 1.5 s of
    every report. Frozen objects are still freed when nothing refers to them; only cycles among them would
    stay, and what is alive here lives as long as the kernel anyway. The report's own objects, made after this
    call, are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()


def published_tables(folder, scope: str) -> dict:
    """The tables of one scope as a batch published them (written by ``batch`` before the notebooks run)."""
    import pickle

    file = Path(folder) / f"{scope}.pkl"
    with open(file, "rb") as handle:
        return pickle.load(handle)


def _own_publication(dataset, params: Params, scope: str, control: Disclosure, data_path=None) -> dict:
    """A notebook run outside a batch publishes its own scope (the comparison: every authority and all)."""
    from analysis.importers.report import unavailable_fields
    from analysis.publish.build import build_publication, tables_of

    scopes = ["all"] + list(dataset.la_codes) if scope == "compare" else [scope]
    pub = build_publication(dataset, params, scopes, control, compare=scope == "compare",
                            unavailable=unavailable_fields(data_path))
    return tables_of(pub, scope)
