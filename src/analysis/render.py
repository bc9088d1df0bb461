"""Executed notebooks to one self-contained HTML report that opens offline.

Council networks often block CDNs, so a report loads nothing from the
internet: nbconvert's ``basic`` template (no require.js, no MathJax, no web
fonts), our own inline CSS, code cells hidden, images embedded as data URIs.
``external_loads`` finds any resource a page would fetch from the network;
the tests run it on every report.
"""

from __future__ import annotations

import base64
import json
import copy
import html
import re
import os
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
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
            kept.append(out)
        cell["outputs"] = kept
        # Printed text arrives in chunks, split differently from run to run around the stderr removed above:
        # one block per stream, as the reader would expect, and the same page every run.
        _coalesce().preprocess_cell(cell, {}, 0)
    stable = _stable_ids(nb)
    body, _ = _exporter().from_notebook_node(nb)
    return _STYLER_ID.sub(stable, body), images


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


def render_report(out: Path, *, title: str, sections: list[dict], headlines: list[str], synthetic: bool,
                  statement: str, suppressed: bool, params_text: str, error: str | None = None) -> Path:
    """Write one report page. ``sections``: dicts with title, anchor, html and optional figures (PNG paths)."""
    from . import __version__

    for s in sections:
        s["figures"] = [{"name": p.stem.replace("_", " "), "uri": data_uri(p)} for p in s.get("figures", [])]
    page = _env().get_template("report.html.j2").render(
        title=title, sections=sections, headlines=headlines, synthetic=synthetic, statement=statement,
        suppressed=suppressed, params_text=params_text, error=error, css=_css(), version=__version__,
        generated=generated_stamp())
    out.write_text(page, encoding="utf-8")
    return out


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
    if "c" in (count, pct):
        return "c" if den in (None, "c") else f"c (of {den:,})" if isinstance(den, int) else "c"
    if pct is None:
        return f"no estimate ({count} of {den})"
    return f"{pct:.1f}% ({count:,} of {den:,})"


def write_index(run: Path, record: dict, keys: list[str], synthetic: bool) -> Path:
    """index.html of a run: every report with its status and key figures from its figures.json."""
    from .dfe import la_names

    names = la_names()
    rows, compare = [], None
    for key in keys:
        rep = record["reports"][key]
        error = rep.get("error") or ""
        if key == "compare":
            compare = {"href": "compare/report.html", "label": "funnel plots (RHI data and published DfE figures)",
                       "status": rep["status"], "error": error}
            continue
        try:
            payload = json.loads((run / key / "figures.json").read_text())
        except (OSError, ValueError):
            payload = {}
        label = "All local authorities" if key == "all" else f"{key} {names.get(key, '')}".strip()
        rows.append({"href": f"{key}/report.html", "label": label, "status": rep["status"], "error": error,
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
        n_ok=len(rows) - failed, n_total=len(rows), n_failed=failed,
        figures_note="Percentages are of RHI children (children with a completed RHI for an in-scope episode), "
                     "with the count and denominator; 'c' marks a value suppressed by disclosure control; a blank "
                     "cell means the report did not record the figure. Authority names come from the DfE list.")
