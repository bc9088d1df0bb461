"""The audit of a publication: findings, the printed summary and the ``rhi audit-disclosure`` command.

Findings:

- **leak**: a published whole number from 1 to ``min_cell - 1`` (a direct
  leak), or a ``c`` cell that is pinned (smallest = largest feasible value) or
  proven small (largest feasible value below ``min_cell``);
- **warning**: a ``c`` cell pinned at ``min_cell`` or more (the secondary
  suppression protects nothing), and notes on what was not modelled;
- **inconsistency**: published numbers that break a declared relation or a
  printed percentage, or relations that no whole numbers can satisfy (their
  cells are then not audited).

Exit status of the command: 0 no leak and nothing inconsistent, 1 leaks,
inconsistencies or cells that could not be decided, 2 unreadable input or
bad options.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from analysis.errors import Problem
from analysis.attack.handmade import load_handmade
from analysis.attack.knowledge import derive, undeclared
from analysis.attack.read import Publication, PublicationError, UsageError, load_publication
from analysis.attack.solve import PINNED, PINNED_LARGE, SMALL, UNRESOLVED, solve_system
from analysis.attack.system import build_system

DIRECT = "published small count"
MAX_LISTED = 12


@dataclass
class AuditResult:
    source: str
    form: str                       # "run publication" or "hand-made tables"
    min_cell: int
    zeros_shown: bool
    cells: int
    published: int
    suppressed: int                 # c
    other_unknown: int              # z and x
    relations: int
    statistics_used: int
    not_modelled: dict
    components: int                 # connected components of unknown cells with at least one c
    largest_component: int
    leaks: list[dict]
    warnings: list[dict]
    inconsistencies: list[str]
    unresolved: list[dict]
    bounds: dict                    # cell_id -> {lower, upper, exact, status} for every c cell
    lp_solves: int
    milp_solves: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.leaks or self.inconsistencies or self.unresolved)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def resolve_folder(path: Path) -> tuple[Path, str]:
    """RUN (with publication/), a publication folder, or hand-made CSVs (a folder or one file)."""
    path = Path(path)
    if not path.exists():
        raise PublicationError([Problem("publication", str(path), None, None, None,
                                        "an existing run folder, publication folder or folder of CSV tables")],
                               str(path))
    if path.is_dir() and (path / "publication" / "cells.csv").is_file():
        return path / "publication", "run publication"
    if path.is_dir() and ((path / "cells.csv").is_file() or (path / "relations.csv").is_file()):
        return path, "run publication"
    return path, "hand-made tables"


def audit_publication(folder, overlap=(), min_cell: int | None = None, exact: bool = False,
                      certificates=None) -> AuditResult:
    """Attack everything a run (or a folder of hand-made tables) publishes; see the package docstring.

    ``overlap``: filter columns of hand-made DfE files whose levels may overlap.
    ``min_cell``: overrides publication.json (default 5). ``exact``: compute the exact
    smallest and largest value of every ``c`` cell, not only of the leaks.
    ``certificates``: (values, witnesses) by cell id, from the run that published the folder (the
    batch passes them in memory; they are never written): whole-number tables that, once each is
    checked exactly against this audit's own reading of the files, save solves. They can show only
    that a cell can take other values, so they never hide a leak.
    Raises PublicationError (unreadable input) or UsageError (bad options).
    """
    started = time.perf_counter()
    if min_cell is not None and min_cell < 1:
        raise UsageError(f"--min-cell must be a whole number >= 1 (got {min_cell})")
    folder, form = resolve_folder(Path(folder))
    if form == "run publication":
        if overlap:
            raise UsageError("--overlap applies to hand-made tables only; a run's relations.csv says which "
                             "relations overlap")
        pub = load_publication(folder)
    else:
        pub = load_handmade(folder, overlap=tuple(overlap))
    if min_cell is not None:
        pub.min_cell = min_cell
    if form == "run publication":   # what a reader who knows the definitions adds to the declared relations
        derived = derive(pub)
        pub.notes.append(f"{len(derived)} relations derived from the definitions (analysis.attack.knowledge), "
                         f"{len(undeclared(derived, pub.relations))} of them not declared in relations.csv")
        pub.relations = pub.relations + derived
    system = build_system(pub)
    bounds, inconsistent, stats = solve_system(system, pub.min_cell, exact=exact,
                                               certificates=_by_variable(certificates, pub, system))
    return _result(pub, form, system, bounds, inconsistent, stats, time.perf_counter() - started)


def _by_variable(certificates, pub: Publication, system):
    """Certificates by cell id -> (a value per variable, -1 where none; [(variables, values)])."""
    if not certificates:
        return None
    truth, witnesses = certificates
    ids = pub.cells["cell_id"].to_numpy()[np.asarray(system.cells)]
    variable = {cid: i for i, cid in enumerate(ids)}
    values = np.array([truth.get(cid, -1) for cid in ids], dtype=np.int64)
    changes = []
    for w in witnesses:
        at = [(variable[cid], value) for cid, value in w.items() if cid in variable]
        if at:
            changes.append((np.array([a for a, _ in at]), np.array([b for _, b in at], dtype=np.int64)))
    return values, changes


def _result(pub: Publication, form, system, bounds, inconsistent, stats, seconds) -> AuditResult:
    symbols, known = pub.symbols, pub.known
    shown = pub.cells["shown_in"].tolist()
    leaks, warnings, unresolved, all_bounds = [], [], [], {}

    def finding(cell: int, kind: str, lower, upper, origins=()) -> dict:
        outputs = {s.strip() for s in shown[cell].split(";") if s.strip()}
        for o in origins:
            outputs.update(system.origins[o].shown_in)
        return {**pub.describe(cell), "kind": kind, "lower": lower, "upper": upper, "outputs": sorted(outputs),
                "through": [system.origins[o].label for o in origins]}

    for cell in range(len(symbols)):
        if symbols[cell] == "" and 1 <= known[cell] < pub.min_cell:
            leaks.append(finding(cell, DIRECT, int(known[cell]), int(known[cell])))
    for v, b in bounds.items():
        cell = int(system.cells[v])
        all_bounds[pub.cells["cell_id"].iat[cell]] = {"lower": b.lower, "upper": b.upper, "exact": b.exact,
                                                      "status": b.status}
        if b.status in (PINNED, SMALL):
            leaks.append(finding(cell, b.status, b.lower, b.upper, b.origins))
        elif b.status == PINNED_LARGE:
            warnings.append(finding(cell, b.status, b.lower, b.upper, b.origins))
        elif b.status == UNRESOLVED:
            unresolved.append(finding(cell, b.status, None, None))
    inconsistencies = list(system.inconsistencies)
    for comp in inconsistent:
        labels = sorted({system.origins[system.rows[r].origin].label for r in comp.rows})
        ids = [pub.cells["cell_id"].iat[int(system.cells[v])] for v in comp.variables]
        inconsistencies.append(
            f"no whole numbers (c >= {1 if pub.zeros_shown else 0}) satisfy together "
            f"{_listing(labels)}; their unknown cells ({_listing(ids)}) are not audited")
    audited_components = [c for c in system.components if system.audited[c.variables].any()]
    notes = list(pub.notes) + list(system.notes)
    if pub.suppressed is False:
        notes.append("publication.json says suppression is off: every small count is reported as a leak")
    return AuditResult(
        source=pub.source, form=form, min_cell=pub.min_cell, zeros_shown=pub.zeros_shown, cells=len(symbols),
        published=int((symbols == "").sum()), suppressed=int((symbols == "c").sum()),
        other_unknown=int(((symbols == "z") | (symbols == "x")).sum()), relations=len(pub.relations),
        statistics_used=len(pub.statistics), not_modelled=dict(pub.not_modelled),
        components=len(audited_components),
        largest_component=max((len(c.variables) for c in audited_components), default=0),
        leaks=leaks, warnings=warnings, inconsistencies=inconsistencies, unresolved=unresolved,
        bounds=all_bounds, lp_solves=stats.lp, milp_solves=stats.milp, seconds=round(seconds, 3), notes=notes)


# --- printing ----------------------------------------------------------------------------------------


def _listing(items: list[str], limit: int = MAX_LISTED) -> str:
    text = ", ".join(items[:limit])
    return text + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _bounds_text(f: dict) -> str:
    if f["kind"] == DIRECT:
        return f"published as {f['lower']}"
    if f["lower"] == f["upper"]:
        return f"pinned at {f['lower']}"
    upper = "no upper bound" if f["upper"] is None else f["upper"]
    return f"{f['kind']}: between {f['lower']} and {upper}"


def _finding_lines(f: dict) -> list[str]:
    what = [f["unit"]] if f["unit"] else []
    what += [", ".join(f"{k}={v}" for k, v in f["breakdown"].items()) or "Total"]
    lines = [f"  {f['cell_id']}  [{f['scope']}] {f['measure']} ({'; '.join(what)}): {_bounds_text(f)}"]
    if f["outputs"]:
        lines.append(f"      outputs: {_listing(f['outputs'])}")
    if f["through"]:
        lines.append(f"      through: {_listing(f['through'])}")
    return lines


def format_result(r: AuditResult) -> str:
    zeros = "zeros shown as 0, so c >= 1" if r.zeros_shown else "zeros may be suppressed, so c >= 0"
    lines = [f"Disclosure audit of {r.source} ({r.form}); min_cell {r.min_cell}, {zeros}",
             f"  {r.cells} cells: {r.published} published, {r.suppressed} suppressed (c), "
             f"{r.other_unknown} not applicable or not available (z, x)",
             f"  {r.relations} relations, {r.statistics_used} statistics linked to their cells"]
    if r.not_modelled:
        lines.append("  not modelled (non-linear): " + ", ".join(f"{n} {k}" for k, n in sorted(r.not_modelled.items())))
    lines.append(f"  {r.components} component(s) of unknown cells (largest {r.largest_component} cells); "
                 f"{r.lp_solves} LP and {r.milp_solves} MILP solves; {r.seconds:.1f} s")
    for title, items in (("LEAKS", r.leaks), ("CELLS NOT DECIDED", r.unresolved),
                         ("WARNINGS (pinned, but not a small count)", r.warnings)):
        if items:
            lines.append(f"\n{title} ({len(items)}):")
            for f in items:
                lines.extend(_finding_lines(f))
    if r.inconsistencies:
        lines.append(f"\nINCONSISTENCIES ({len(r.inconsistencies)}):")
        lines.extend(f"  {text}" for text in r.inconsistencies)
    if r.notes:
        lines.append("\nNotes:")
        lines.extend(f"  {text}" for text in r.notes)
    if r.ok:
        lines.append(f"\nNo leak found: every suppressed cell can take at least two whole values, one of them "
                     f">= {r.min_cell}, and no published count is below {r.min_cell} except 0.")
    else:
        parts = [f"{len(r.leaks)} leak(s)"] if r.leaks else []
        parts += [f"{len(r.inconsistencies)} inconsistency(ies)"] if r.inconsistencies else []
        parts += [f"{len(r.unresolved)} cell(s) not decided"] if r.unresolved else []
        lines.append(f"\nNOT SAFE TO PUBLISH as it stands: {', '.join(parts)}.")
    return "\n".join(lines)


def audit_command(path: Path, as_json: bool = False, overlap=(), min_cell: int | None = None,
                  exact: bool = False) -> None:
    """Print the audit; exit 0 (no leak), 1 (leaks or inconsistencies) or 2 (unreadable input, bad options)."""
    import typer

    try:
        result = audit_publication(path, overlap=overlap, min_cell=min_cell, exact=exact)
    except UsageError as exc:
        typer.echo(f"rhi audit-disclosure: {exc}", err=True)
        raise typer.Exit(2) from None
    except PublicationError as exc:
        typer.echo(f"rhi audit-disclosure: {exc.path}: {len(exc.problems)} problem(s); nothing was audited.",
                   err=True)
        for line in exc.lines():
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else format_result(result))
    raise typer.Exit(0 if result.ok else 1)
