"""``rhi synth``: write a synthetic dataset in the canonical form.

Two scales:

- ``study`` (default): three fictitious authorities over the study period of
  "A Safer Return", calibrated so that every consistent published figure is
  reproduced (``analysis.synth.study``);
- ``national``: every English authority for N years, sized from DfE figures
  (``analysis.synth.national``), for benchmarks and batch reports.

``--years N`` (2 or more) at the study scale gives N reporting years of the
study, each redrawn, optionally with a planted change in the last year
(``analysis.synth.years``), for testing ``rhi trends``. One year (the default)
is the study exactly as before.

The same seed gives byte-identical files in every format. The metadata that
marks the data as synthetic travels with them (``metadata.json`` beside CSV and
Parquet files and inside each Parquet file; a ``metadata`` sheet in a workbook,
see :mod:`analysis.dataset.metadata`), so every report made from them says so.
Nothing is written outside ``--out``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.dataset.io import write_dataset
from analysis.synth.national import generate_national
from analysis.synth.study import generate_study

SCALES = ("study", "national")
FORMATS = ("csv", "parquet", "xlsx")


def metadata(scale: str, seed: int, years: int, plant: dict | None = None) -> dict:
    """What the dataset is; no date or machine, so that files stay identical run to run."""
    if scale == "study" and years > 1:
        from analysis.synth.years import describe

        return {"synthetic": True, "generator": "rhi synth", "scale": scale, "seed": seed, "years": years,
                "description": describe(years, plant or {}), "planted": dict(sorted((plant or {}).items())),
                "warning": "Invented records for testing and demonstration. No real child is described."}
    what = ("three fictitious local authorities, 1 July 2017 to 31 March 2018, calibrated to the published "
            "figures of 'A Safer Return' (Missing People, 2019)" if scale == "study"
            else f"every English local authority, {years} reporting year(s), sized from DfE figures")
    return {"synthetic": True, "generator": "rhi synth", "scale": scale, "seed": seed,
            "years": years if scale == "national" else None, "description": what,
            "warning": "Invented records for testing and demonstration. No real child is described."}


def generate(scale: str = "study", seed: int = 2019, years: int = 1, plant: dict | None = None
             ) -> dict[str, pd.DataFrame]:
    if plant and not (scale == "study" and years > 1):
        raise ValueError("--plant needs --scale study and --years 2 or more (the change is planted in the last year)")
    if scale == "study" and years > 1:
        from analysis.synth.years import generate_study_years

        return generate_study_years(seed, years, plant)
    if scale == "study":
        return generate_study(seed)
    if scale == "national":
        return generate_national(seed, years)
    raise ValueError(f"--scale must be one of {', '.join(SCALES)}; got {scale!r}")


def write_synthetic(out: Path, scale: str = "study", seed: int = 2019, years: int = 1, fmt: str = "csv",
                    plant: dict | None = None) -> Path:
    """Generate and write a dataset with its metadata: a folder of CSV/Parquet, or one workbook.

    With ``xlsx``, ``out`` ending in ``.xlsx`` is the workbook itself; any other ``out``
    is a folder, and the workbook is ``out/synthetic.xlsx``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    tables = generate(scale, seed, years, plant)
    out = Path(out)
    if fmt == "xlsx" and out.suffix.lower() != ".xlsx":
        out = out / "synthetic.xlsx"
    return write_dataset(tables, out, fmt=fmt, metadata=metadata(scale, seed, years, plant))


def synth_command(out: Path, seed: int = 2019, scale: str = "study", years: int = 1, fmt: str = "csv",
                  plant=None) -> None:
    import typer

    from analysis.synth.years import parse_plant

    try:
        written = write_synthetic(out, scale=scale, seed=seed, years=years, fmt=fmt, plant=parse_plant(plant))
    except ValueError as exc:
        typer.echo(f"rhi synth: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"rhi synth: cannot write {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Synthetic dataset ({scale}, seed {seed}) written to {written}")
    typer.echo("Check it with: rhi validate " + str(written))
