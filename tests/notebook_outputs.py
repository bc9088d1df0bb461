"""What every notebook cell run by the suite must show, checked on its outputs (not only that it ran).

The notebooks are committed without outputs, so nbval has nothing stored to compare a cell with
(``# NBVAL_CHECK_OUTPUT`` would compare with an empty list). Instead, after nbval runs a cell,
:func:`problems` checks what the cell displayed against properties every output must have:

- no error, and nothing written to stderr (a warning there is a computation that went wrong quietly);
- a cell that shows something (``ctx.show_table``, ``ctx.show_figure``, ``ctx.say``, ``display``) displays
  at least one output, and every HTML table it displays has a body row;
- no missing value printed as ``nan``, ``NaN``, ``<NA>`` or ``None``;
- every chart is a PNG that decodes and is not a blank image;
- no child id of the dataset anywhere in any output.

The root ``conftest.py`` calls it for every notebook cell item.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

SHOWS = re.compile(r"\bctx\.(show_table|show_figure|say)\(|\bdisplay\(")
MISSING = re.compile(r"(?<![\w.-])(nan|NaN|<NA>|&lt;NA&gt;|None)(?![\w.-])")


def child_ids(data_path) -> set[str]:
    """The child ids of the dataset the notebooks read (a folder of CSV files), or none if it is not one."""
    import csv

    if not data_path:
        return set()
    path = Path(data_path) / "children.csv"
    if not path.is_file():
        return set()
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return {row["child_id"].strip() for row in csv.DictReader(handle) if row.get("child_id", "").strip()}


def problems(source: str, outputs: list, ids: set[str]) -> list[str]:
    """What is wrong with one cell's outputs (empty if nothing)."""
    found = []
    shown = 0
    for out in outputs:
        kind = out.get("output_type")
        if kind == "error":
            found.append(f"an error: {out.get('ename')}: {out.get('evalue')}")
        if kind == "stream" and out.get("name") == "stderr":
            found.append(f"stderr: {str(out.get('text', '')).strip()[:200]}")
        if kind in ("display_data", "execute_result"):
            shown += 1
        for mime, value in (out.get("data") or {}).items():
            text = "".join(value) if isinstance(value, list) else str(value)
            if mime == "image/png":
                found += _image_problems(text)
                continue
            if mime == "text/html":
                found += _table_problems(text)
            if mime in ("text/html", "text/plain", "text/markdown"):
                match = MISSING.search(_visible(text) if mime == "text/html" else text)
                if match:
                    found.append(f"a missing value shown as {match.group(1)!r} ({mime})")
                leaked = _ids_in(text, ids)
                if leaked:
                    found.append(f"a child id in the output ({mime}): {sorted(leaked)[:1]}")
        if kind == "stream":
            leaked = _ids_in(str(out.get("text", "")), ids)
            if leaked:
                found.append("a child id in printed text")
    if SHOWS.search(source) and not shown:
        found.append("the cell shows a table, chart or text, but displayed nothing")
    return found


def _visible(html: str) -> str:
    """The text a reader sees: tags, scripts and styles removed (an attribute value is not shown)."""
    html = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]+>", " ", html)


def _table_problems(html: str) -> list[str]:
    out = []
    for table in re.findall(r"<table\b.*?</table\s*>", html, flags=re.S | re.I):
        body = re.search(r"<tbody\b.*?</tbody\s*>", table, flags=re.S | re.I)
        rows = re.findall(r"<tr\b", body.group(0) if body else table, flags=re.I)
        if len(rows) < (1 if body else 2):
            out.append("a table without any row of data")
    return out


def _image_problems(data: str) -> list[str]:
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        image.load()
    except Exception as exc:  # any decoding failure is the finding
        return [f"a chart that is not a readable PNG ({type(exc).__name__})"]
    extrema = image.convert("L").getextrema()
    return ["a blank chart (one colour only)"] if extrema[0] == extrema[1] else []


def _ids_in(text: str, ids: set[str]) -> set[str]:
    if not ids or not text:
        return set()
    tokens = set(re.findall(r"[A-Za-z0-9_\-]+", text))
    return tokens & ids
