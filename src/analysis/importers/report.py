"""What an import did: mapped, derived and unavailable fields, written as import_report.json/.md.

``unavailable`` is machine-readable: the canonical fields (and whole tables)
the source cannot supply, so that reports can say which figures cannot be
computed. The report holds no child ids, no timestamp and nothing derived from
the key: not even a key fingerprint, since a value computed from the key alone
lets anyone holding the report check guessed keys offline (and a guessed key
turns every pseudonym back into a source id). The same source and key give a
byte-identical report.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from analysis.dataset.schema import COLUMNS


@dataclass
class ImportReport:
    format: str
    source_files: list[dict] = field(default_factory=list)   # file, sha256, rows
    la_code: str | None = None
    mapped: list[dict] = field(default_factory=list)         # field, source
    derived: list[dict] = field(default_factory=list)        # field, how
    unavailable_detail: list[dict] = field(default_factory=list)  # field, why
    dropped_columns: list[dict] = field(default_factory=list)     # file, column, why
    unknown_columns: list[dict] = field(default_factory=list)     # file, column
    warnings: list[str] = field(default_factory=list)
    identifiers: str = "dropped"
    tables: dict = field(default_factory=dict)
    set_aside: dict = field(default_factory=dict)

    def map(self, target: str, source: str) -> None:
        self.mapped.append({"field": target, "source": source})

    def derive(self, target: str, how: str) -> None:
        self.derived.append({"field": target, "how": how})

    def missing(self, target: str, why: str) -> None:
        self.unavailable_detail.append({"field": target, "why": why})

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    @property
    def unavailable(self) -> list[str]:
        """Short names: 'police_risk', 'disclosures', ... (table.column -> column; whole tables as named)."""
        out: list[str] = []
        for item in self.unavailable_detail:
            name = item["field"].split(".")[-1]
            if name not in out:
                out.append(name)
        return out

    def to_dict(self) -> dict:
        data = asdict(self)
        data["unavailable"] = self.unavailable
        order = ["format", "la_code", "source_files", "identifiers", "tables", "set_aside",
                 "mapped", "derived", "unavailable", "unavailable_detail", "dropped_columns", "unknown_columns",
                 "warnings"]
        return {k: data[k] for k in order}

    def count_tables(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = {name: int(len(frame)) for name, frame in tables.items()}

    # --- writing ---

    def write(self, folder: Path) -> None:
        folder = Path(folder)
        (folder / "import_report.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        (folder / "import_report.md").write_text(self.markdown(), encoding="utf-8")

    def markdown(self) -> str:
        lines = [f"# Import report ({self.format})", ""]
        if self.la_code:
            lines += [f"Local authority: {self.la_code}", ""]
        lines += ["Identifiers: child, episode and RHI ids are keyed pseudonyms "
                  "(the key is not recorded in any form); names, addresses and free text were "
                  f"{'KEPT (--keep-identifiers: internal use only)' if self.identifiers == 'kept' else 'dropped'}.", ""]
        lines += ["## Source files", "", "| file | rows | sha256 |", "|---|---|---|"]
        lines += [f"| {f['file']} | {f['rows']} | `{f['sha256'][:16]}…` |" for f in self.source_files]
        lines += ["", "## Rows written", "", "| table | rows |", "|---|---|"]
        lines += [f"| {t} | {n} |" for t, n in self.tables.items()]
        if self.set_aside:
            lines += ["", "Set aside by validation (kept, counted in the row accounting):"]
            lines += [f"- {k}: {v}" for k, v in self.set_aside.items()]
        lines += ["", "## Mapped", "", "| field | from |", "|---|---|"]
        lines += [f"| {m['field']} | {m['source']} |" for m in self.mapped]
        lines += ["", "## Derived", "", "| field | how |", "|---|---|"]
        lines += [f"| {d['field']} | {d['how']} |" for d in self.derived]
        lines += ["", "## Not available from this source", "",
                  "Figures that need these fields cannot be computed from this import.", "",
                  "| field | why |", "|---|---|"]
        lines += [f"| {u['field']} | {u['why']} |" for u in self.unavailable_detail]
        if self.dropped_columns:
            lines += ["", "## Columns dropped", ""]
            lines += [f"- {d['file']}: {d['column']} ({d['why']})" for d in self.dropped_columns]
        if self.unknown_columns:
            lines += ["", "## Columns not used (not named by the mapping)", ""]
            lines += [f"- {d['file']}: {d['column']}" for d in self.unknown_columns]
        if self.warnings:
            lines += ["", "## Warnings", ""] + [f"- {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"

    def terminal(self) -> str:
        """A short summary for the console."""
        lines = ["Rows written: " + ", ".join(f"{t} {n:,}" for t, n in self.tables.items())]
        lines.append("Mapped: " + ", ".join(m["field"] for m in self.mapped))
        if self.derived:
            lines.append("Derived: " + ", ".join(d["field"] for d in self.derived))
        if self.unavailable_detail:
            lines.append("NOT available (figures needing these cannot be computed): "
                         + ", ".join(u["field"] for u in self.unavailable_detail))
        if self.dropped_columns:
            lines.append(f"Dropped {len(self.dropped_columns)} identifying or unused column(s); "
                         "see import_report.md")
        if self.unknown_columns:
            lines.append("Columns the mapping does not name (not imported): "
                         + ", ".join(d["column"] for d in self.unknown_columns))
        for w in self.warnings:
            lines.append(f"Warning: {w}")
        return "\n".join(lines)


def canonical_columns(table: str) -> list[str]:
    return [c.name for c in COLUMNS[table]]


def read_import_report(data_path) -> dict | None:
    """The ``import_report.json`` beside a dataset, or None (not an imported dataset, or unreadable)."""
    if not data_path:
        return None
    path = Path(data_path) / "import_report.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def unavailable_fields(data_path) -> list[str]:
    """The contract fields (``table.column``, or whole tables) the dataset's source does not hold."""
    data = read_import_report(data_path) or {}
    items = data.get("unavailable_detail", [])
    return [str(d["field"]) for d in items if isinstance(d, dict) and d.get("field")] if isinstance(items, list) else []


def limits_section(data_path) -> dict | None:
    """A report section saying what the dataset's source could not supply, from its ``import_report.json``.

    ``rhi batch`` puts it first in every report of an imported dataset, so that a figure built on a field
    the source lacks (RHIs in an SSDA903 return, police risk in SSD) is read as not recorded, not as none.
    None for a dataset that was not imported (no import report) or lacks nothing.
    """
    from html import escape

    data = read_import_report(data_path)
    if data is None:
        return None
    items = [d for d in data.get("unavailable_detail", []) if isinstance(d, dict) and d.get("field")]
    if not items or data.get("format") == "annex-a":   # the Annex A report states its limits itself
        return None
    names = {"ssd": "a Standard Safeguarding Dataset extract", "ssda903": "an SSDA903 return",
             "provider": "an RHI provider's export", "annex-a": "an Ofsted Annex A workbook"}
    source = names.get(str(data.get("format")), "an extract")
    lines = "".join(f"<li><strong>{escape(str(d['field']))}</strong>: {escape(str(d.get('why', '')))}</li>"
                    for d in items)
    html = (f"<p>This dataset was imported from {escape(source)}. The source does not hold the fields below, so "
            "nothing in this report measures them: every count, percentage or test built on them (for example "
            "RHIs offered, police grades or disclosures) is shown as <strong>x</strong>, <em>not available in this "
            "source</em>, never as 0.</p>"
            f"<ul>{lines}</ul><p>From the import report (<code>import_report.md</code> beside the data).</p>")
    return {"title": "What this source cannot answer", "anchor": "source-limits", "html": html, "figures": []}
