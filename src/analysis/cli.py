"""The ``rhi`` command line (also ``python -m analysis``).

Every command that reads a dataset validates it first; a dataset that fails
is never analysed, and problems are printed with their file, row and column
instead of a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from analysis.errors import DatasetError
from analysis.vocab import TABLES as TABLE_NAMES

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Return home interview (RHI) analysis: validate, replicate 'A Safer Return', report.")


def fail(message: str, code: int = 1):
    typer.echo(message, err=True)
    raise typer.Exit(code)


def load_or_exit(path: Path, max_problems: int = 20):
    """Load and validate a dataset, or print every problem and exit 1."""
    from analysis.dataset.validate import load_dataset

    try:
        return load_dataset(path)
    except DatasetError as err:
        typer.echo(f"{path}: {len(err.problems)} problem(s) found; nothing was analysed.", err=True)
        for line in err.summary_lines(max_problems):
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(1)


def parse_params(la: Optional[str], period_start: Optional[str], period_end: Optional[str], risk_levels: str,
                 min_cell: int = 5):
    """The analysis options, checked before any work (``--la`` is matched to the data by :func:`with_la`)."""
    from analysis.dataset.options import OptionError, check_min_cell, parse_period, parse_risk_levels
    from analysis.definitions.populations import Params

    try:
        start, end = parse_period(period_start, period_end)
        levels = parse_risk_levels(risk_levels)
        check_min_cell(min_cell)
    except OptionError as exc:
        fail(str(exc), 2)
    return Params(period_start=start, period_end=end, risk_levels=levels, la_code=la)


def with_la(params, ds, path: Path):
    """Params whose ``--la`` is the dataset's own code (matched in any case); exit 2 if it has none."""
    from dataclasses import replace

    from analysis.dataset.options import OptionError, match_la

    if not params.la_code:
        return params
    try:
        return replace(params, la_code=match_la(params.la_code, ds.la_codes, str(path)))
    except OptionError as exc:
        fail(str(exc), 2)


EMPTY_NOUNS = {"children": "children", "episodes": "episodes", "rhis": "RHIs",
               "rhi_episodes": "links between RHIs and episodes", "disclosures": "disclosures"}
LA = typer.Option(None, "--la", help="One local authority (GSS code); default all.")
START = typer.Option(None, "--period-start", help="First day of the period (YYYY-MM-DD), on missing_start.")
END = typer.Option(None, "--period-end", help="Last day of the period (YYYY-MM-DD), inclusive.")
RISK = typer.Option("medium,low", "--risk-levels", help="Police risk levels in scope, comma separated.")


@app.command()
def validate(
    path: Path = typer.Argument(..., help="Dataset: folder of CSV or Parquet files, or an .xlsx workbook."),
    la: Optional[str] = LA, period_start: Optional[str] = START, period_end: Optional[str] = END,
    risk_levels: str = RISK,
    max_problems: int = typer.Option(20, min=0, help="Problems listed per kind (0 = all)."),
):
    """Check a dataset against the contract; print a summary and the row accounting, or every problem."""
    from analysis.definitions.accounting import check_flow, format_flow, record_flow
    from analysis.definitions.populations import Populations
    from analysis.dataset.summary import dataset_summary

    params = parse_params(la, period_start, period_end, risk_levels)
    ds = load_or_exit(path, max_problems)
    params = with_la(params, ds, path)
    from analysis.definitions.annex_a import validate_note

    annex_note = validate_note(path)   # the optional Ofsted Annex A table, checked too
    typer.echo(f"{path}: valid.")
    if annex_note:
        typer.echo(annex_note)
    for name in TABLE_NAMES:
        if name in ds.sources and len(getattr(ds, name)) == 0:
            typer.echo(f"Note: {ds.sources[name]} has a header but no rows: no {EMPTY_NOUNS[name]} to analyse.")
    typer.echo(dataset_summary(ds))
    flow = record_flow(Populations(ds, params))
    typer.echo(f"\nRow accounting ({params.describe()}):")
    typer.echo(format_flow(flow))
    bad = check_flow(flow)
    if bad:  # an internal error, never a data error
        fail("Row accounting does not add up: " + "; ".join(bad), 3)


@app.command()
def figures(
    path: Path = typer.Argument(..., help="Dataset to analyse."),
    la: Optional[str] = LA, period_start: Optional[str] = START, period_end: Optional[str] = END,
    risk_levels: str = RISK,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (default: a table)."),
    suppress: bool = typer.Option(True, "--suppress/--no-suppress",
                                  help="Disclosure control (on by default; --no-suppress for internal use only)."),
    min_cell: int = typer.Option(5, help="Smallest count shown; 1 to min_cell-1 become 'c'."),
):
    """Every figure of 'A Safer Return' computed from the records, with count, denominator, % and Wilson CI."""
    from analysis.disclosure import Disclosure
    from analysis.definitions.figures import compute_figures

    params = parse_params(la, period_start, period_end, risk_levels, min_cell)
    ds = load_or_exit(path)
    params = with_la(params, ds, path)
    from analysis.definitions.annex_a import figures_command, has_annex_a

    if has_annex_a(path) and len(ds.episodes) == 0:  # Ofsted Annex A: children's counts, no episodes
        return figures_command(path, Disclosure(suppress, min_cell), as_json)
    result = compute_figures(ds, params, control=Disclosure(suppress, min_cell))
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    typer.echo(result["disclosure_control"]["statement"])
    for fid, f in result["figures"].items():
        pct = f["pct"] if isinstance(f["pct"], str) or f["pct"] is None else f"{f['pct']:.1f}%"
        typer.echo(f"{fid:42} {f['count']!s:>7} / {f['denominator']!s:<7} {pct!s:>7}")


# --- commands whose work lives in their own modules ---------------------------------------------
# Each command below only parses options and calls its module; its module owns the behaviour.


@app.command()
def trends(
    path: Path = typer.Argument(..., help="Dataset to analyse (several reporting years)."),
    la: Optional[str] = LA, risk_levels: str = RISK,
    year_start_month: int = typer.Option(4, "--year-start-month",
                                         help="First month of the reporting year (4 = DfE year, 1 = calendar)."),
    include_partial: bool = typer.Option(False, "--include-partial", help="Compare partial years too (flagged)."),
    alpha: float = typer.Option(0.05, help="Flag where the Benjamini-Hochberg adjusted p-value is below this."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (default: a table)."),
    suppress: bool = typer.Option(True, "--suppress/--no-suppress", help="Disclosure control (on by default)."),
    min_cell: int = typer.Option(5, help="Smallest count shown; 1 to min_cell-1 become 'c'."),
):
    """Every figure per reporting year, the change between the last two years and the trend, flagged only if adjusted tests support it."""
    from analysis.definitions.trends import trends_command
    from analysis.definitions.years import TrendsError, check_start_month

    params = parse_params(la, None, None, risk_levels, min_cell)
    try:
        check_start_month(year_start_month)
    except TrendsError as exc:
        fail(str(exc), 2)
    ds = load_or_exit(path)
    params = with_la(params, ds, path)
    trends_command(ds, params, path, year_start_month, as_json, suppress, min_cell, include_partial, alpha)


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder for the dataset (with --format xlsx: a folder, which "
                             "gets synthetic.xlsx, or a file name ending in .xlsx). Nothing is written elsewhere."),
    seed: int = typer.Option(2019, help="Random seed; the same seed gives byte-identical files."),
    scale: str = typer.Option("study", help="'study' (three LAs calibrated to A Safer Return) or 'national'."),
    years: int = typer.Option(1, help="Number of reporting years (study: 2 or more gives redrawn years)."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or xlsx."),
    plant: Optional[list[str]] = typer.Option(None, "--plant", help="Study with --years: INDICATOR:FACTOR "
                                              "multiplies its probability in the last year (repeatable)."),
):
    """Generate a synthetic dataset in the canonical form."""
    from analysis.synth.command import synth_command

    synth_command(out=out, seed=seed, scale=scale, years=years, fmt=fmt, plant=plant)


@app.command("audit-figures")
def audit_figures(
    yaml_path: Path = typer.Argument(..., help="A published-figures YAML (see shared/reference)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
):
    """Check published figures: GRIM test, count vs percentage, parts vs whole."""
    from analysis.reference.audit import audit_command

    audit_command(yaml_path, as_json=as_json)


@app.command()
def kpis(
    path: Path = typer.Argument(..., help="Dataset to analyse."),
    la: Optional[str] = LA, period_start: Optional[str] = START, period_end: Optional[str] = END,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    suppress: bool = typer.Option(True, "--suppress/--no-suppress", help="Disclosure control (on by default)."),
    min_cell: int = typer.Option(5, help="Smallest count shown."),
):
    """Delivery indicators of the self-assessment toolkit: RHIs offered, accepted, completed, timeliness..."""
    from analysis.definitions.kpis import kpis_command

    params = parse_params(la, period_start, period_end, "medium,low", min_cell)
    ds = load_or_exit(path)
    params = with_la(params, ds, path)
    kpis_command(ds, params, as_json=as_json, suppress=suppress, min_cell=min_cell)


@app.command()
def keygen(
    out: Path = typer.Option(..., "--out", help="New file for the key (never overwritten), e.g. ~/rhi.key."),
):
    """Make a random 256-bit pseudonymisation key in a new file readable by you only (for rhi import)."""
    from analysis.importers.keys import keygen_command

    keygen_command(out)


@app.command("import")
def import_(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="ssd, ssda903, annex-a or provider."),
    source: Path = typer.Argument(..., help="The extract: a folder or file as the source system writes it."),
    out: Path = typer.Option(..., "--out", help="Folder for the canonical dataset."),
    mapping: Optional[Path] = typer.Option(None, "--mapping", help="provider: mapping YAML."),
    key_file: Optional[Path] = typer.Option(None, "--key-file", help="Pseudonymisation key (else $RHI_PSEUDONYM_KEY)."),
    keep_identifiers: bool = typer.Option(False, "--keep-identifiers",
                                          help="Keep names, addresses and free-text notes (off by default)."),
    la_code: Optional[str] = typer.Option(None, "--la-code",
                                          help="GSS code of the local authority (required for ssd and ssda903; annex-a: for the DfE comparison)."),
    collection_year: Optional[str] = typer.Option(None, "--collection-year",
                                                  help="ssda903: the year the return ends in (2024 or 2023-24) "
                                                       "for the DfE rules 570 and 571; default: from its dates."),
):
    """Translate an SSD, SSDA903, Ofsted Annex A or RHI provider extract into the canonical form, then validate it."""
    from analysis.importers import import_command

    import_command(fmt, source, out, mapping=mapping, key_file=key_file, keep_identifiers=keep_identifiers,
                   la_code=la_code, collection_year=collection_year)


@app.command()
def batch(
    path: Path = typer.Argument(..., help="Dataset to report on."),
    out: Path = typer.Option(..., "--out", help="Run folder, e.g. reports/RUN: new, empty or a previous run (replaced); never a folder holding other files."),
    la: Optional[list[str]] = typer.Option(None, "--la", help="Only these authorities (repeatable)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Parallel jobs, 1 to the number of cores "
                                       "(default: one per core)."),
    resume: bool = typer.Option(False, "--resume", help="Skip authorities already done for the same inputs."),
    all_only: bool = typer.Option(False, "--all-only", help="Only the all-authorities report."),
    suppress: bool = typer.Option(True, "--suppress/--no-suppress", help="Disclosure control (on by default)."),
    min_cell: int = typer.Option(5, help="Smallest count shown."),
    period_start: Optional[str] = START, period_end: Optional[str] = END, risk_levels: str = RISK,
    dfe_year: Optional[int] = typer.Option(None, "--dfe-year", help="DfE reporting year (ending 31 March) of the "
                                           "comparison's DfE funnel; default: the year containing the period's end."),
    svg: bool = typer.Option(False, "--svg", help="Save every chart as SVG too, beside its PNG (for print or "
                             "editing; off by default: drawing it takes about a sixth of a report's time)."),
):
    """Run the notebooks for every local authority: one offline HTML report each, an index and a manifest."""
    from analysis.run.batch import batch_command

    batch_command(path, out, la_codes=la, jobs=jobs, resume=resume, all_only=all_only, suppress=suppress,
                  min_cell=min_cell, period_start=period_start, period_end=period_end, risk_levels=risk_levels,
                  dfe_year=dfe_year, svg=svg)


@app.command("audit-disclosure")
def audit_disclosure(
    run: Path = typer.Argument(..., help="A run folder (reads RUN/publication/), a publication folder, "
                                         "or a folder of hand-made CSV tables."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a summary."),
    overlap: Optional[list[str]] = typer.Option(None, "--overlap",
                                                help="Hand-made tables: a filter whose levels may overlap "
                                                     "(total <= sum of parts); repeatable."),
    min_cell: Optional[int] = typer.Option(None, "--min-cell", help="Smallest count shown (default: "
                                           "publication.json, else 5)."),
    exact: bool = typer.Option(False, "--exact", help="Exact bounds for every suppressed cell, not only leaks."),
):
    """Attack a publication: can any suppressed cell be recovered or shown to be small? Exit 1 if so."""
    from analysis.attack import audit_command

    audit_command(run, as_json=as_json, overlap=tuple(overlap or ()), min_cell=min_cell, exact=exact)


def main():  # console script entry point
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except MemoryError:  # inputs are bounded (analysis.limits), but a machine can still have too little memory
        typer.echo("rhi: stopped: out of memory (this machine has too little free memory for this input). "
                   "Close other programs, or run it on a larger machine.", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
