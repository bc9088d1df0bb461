"""``rhi import``: translate SSD, SSDA903, Ofsted Annex A and RHI provider extracts into the canonical form.

Each importer reads its source as text, reports every source problem with the
file, row and column, pseudonymises ids with a keyed hash, drops identifying
columns (unless ``--keep-identifiers``), writes the canonical tables to a
temporary folder, validates them with :func:`analysis.dataset.validate.load_dataset`,
and only then moves the folder into place with ``import_report.json`` and
``import_report.md`` saying what was mapped, derived and not available.
"""

from __future__ import annotations

from pathlib import Path

from analysis.errors import DatasetError
from analysis.importers.common import ImportFailure, check_la_code
from analysis.importers.output import Imported, write_output
from analysis.importers.pseudonymise import Pseudonymiser, load_key
from analysis.invocation import as_invoked

FORMATS = ("ssd", "ssda903", "provider", "annex-a")


def run_import(fmt: str, source, out, mapping=None, key_file=None, keep_identifiers=False, la_code=None,
               collection_year=None):
    """Import and write; return (Dataset, ImportReport). Raises DatasetError or ImportFailure."""
    fmt = fmt.lower().strip().replace("_", "-")
    if fmt not in FORMATS:
        raise ImportFailure(f"FORMAT {fmt!r}: expected one of {', '.join(FORMATS)}")
    source = Path(source)
    if not source.exists():
        raise ImportFailure(f"{source}: no such file or folder")
    if fmt in ("ssd", "ssda903") and not source.is_dir():
        raise ImportFailure(f"{source}: an {fmt} extract is a folder of CSV files named after its tables")
    if fmt == "annex-a" and not source.is_file():
        raise ImportFailure(f"{source}: an Annex A is one .xlsx workbook (the Ofsted template with its lists)")
    if fmt == "provider" and mapping is None:
        raise ImportFailure("provider: a mapping YAML is required (--mapping FILE); start from "
                            "src/analysis/templates/provider_mapping_example.yaml")
    if collection_year is not None:
        if fmt != "ssda903":
            raise ImportFailure("--collection-year is for an ssda903 return only")
        from analysis.importers.rules903 import parse_year

        try:
            parse_year(collection_year)
        except ValueError as err:
            raise ImportFailure(str(err)) from None
    pseudo = Pseudonymiser(load_key(key_file))
    if fmt == "ssd":
        from analysis.importers.ssd import import_ssd

        imported = import_ssd(source, check_la_code(la_code, fmt), pseudo, keep_identifiers)
    elif fmt == "ssda903":
        from analysis.importers.ssda903 import import_ssda903

        imported = import_ssda903(source, check_la_code(la_code, fmt), pseudo, keep_identifiers,
                                  collection_year=collection_year)
    elif fmt == "annex-a":
        from analysis.importers.annex_a import import_annex_a

        imported = import_annex_a(source, check_la_code(la_code, fmt) if la_code else None, pseudo, keep_identifiers)
    else:
        from analysis.importers.provider import import_provider

        imported = import_provider(source, Path(mapping), pseudo, keep_identifiers, la_code=la_code)
    imported.report.identifiers = "kept" if keep_identifiers else "dropped"
    ds = write_output(imported, Path(out))
    return ds, imported.report


def import_command(fmt, source, out, mapping=None, key_file=None, keep_identifiers=False, la_code=None,
                   collection_year=None):
    """The CLI's ``rhi import``: print what was mapped, derived and not available, or every problem."""
    import typer

    try:
        _, report = run_import(fmt, source, out, mapping=mapping, key_file=key_file,
                               keep_identifiers=keep_identifiers, la_code=la_code,
                               collection_year=collection_year)
    except ImportFailure as err:
        typer.echo(as_invoked(f"rhi import: {err}"), err=True)   # through make: LA=, KEY=, MAPPING=
        raise typer.Exit(2)
    except DatasetError as err:
        typer.echo(f"{source}: {len(err.problems)} problem(s) found; nothing was written to {out}.", err=True)
        for line in err.summary_lines(20):
            typer.echo(f"  - {line}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Imported {fmt} extract {source} into {out}; the dataset is valid.")
    typer.echo(report.terminal())
    if keep_identifiers:
        typer.echo("Identifying columns were KEPT (--keep-identifiers): for internal use only.")
    typer.echo(f"Details: {Path(out) / 'import_report.md'}")


__all__ = ["import_command", "run_import", "FORMATS", "Imported", "ImportFailure"]
