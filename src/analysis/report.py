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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .disclosure import Disclosure
from .errors import DatasetError
from .metadata import is_synthetic
from .populations import Params
from .validate import Dataset, load_dataset

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "data" / "processed" / "synthetic"
SVG_HASH_SALT = "rhi-analysis"  # any fixed value: SVG ids then depend only on the figure


def resolve_data_path(data_path) -> Path:
    """data_path if given, else $RHI_DATA, else the default synthetic dataset of the project."""
    if data_path:
        return Path(data_path)
    if os.environ.get("RHI_DATA"):
        return Path(os.environ["RHI_DATA"])
    return DEFAULT_DATA


class NotebookDataError(RuntimeError):
    """Raised in a notebook when its dataset is invalid; the message lists the problems."""


@dataclass
class ReportContext:
    ds: Dataset
    params: Params
    control: Disclosure
    out: Path | None
    data_path: Path
    synthetic: bool = False
    records: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)    # name -> table as published (suppressed, rounded)
    scope: str = "all"

    def table(self, name: str) -> pd.DataFrame:
        """A table of this report as the run publishes it: every number shown comes from here."""
        return self.tables[name].copy()

    def figures(self) -> dict:
        """The replication figures and population sizes as published, in the form ``compute_figures`` returns."""
        from .figures import FIGURES

        from .stats import proportion

        figs = {}
        for row in self.table("replicated_figures").to_dict("records"):
            fig = FIGURES[row["id"]]
            count, den = _plain(row["count"]), _plain(row["denominator"])
            record = {"unit": fig.unit, "population": fig.population, "label": fig.label, "kind": fig.kind,
                      "count": count, "denominator": den, "pct": None, "ci_low": None, "ci_high": None}
            if "c" in (count, den):   # a percentage built on a suppressed count is suppressed with it
                record.update(pct="c", ci_low="c", ci_high="c", suppressed=True)
            elif fig.kind != "count" and den:   # from the published count and denominator: nothing new
                p = proportion(count, den)
                record.update(pct=p.pct, ci_low=p.ci_low, ci_high=p.ci_high)
            figs[row["id"]] = record
        from .publish.tables import NOT_PUBLISHED

        for fid, why in NOT_PUBLISHED.items():
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
        return f" - {self.params.la_code}" if self.params.la_code else " - all local authorities"

    def _folder(self, sub: str) -> Path | None:
        if self.out is None:
            return None
        folder = self.out / sub
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def save_figure(self, fig, name: str) -> None:
        """Write a matplotlib figure as PNG and SVG, the same bytes every run.

        PNG: no software or time stamp. SVG: no date or creator, and element ids
        hashed with a fixed salt (``svg.hashsalt``; matplotlib's default is a new
        random salt per file, which made every SVG differ between identical runs).
        """
        import matplotlib

        folder = self._folder("figures")
        if folder is None:
            return
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
            fig.savefig(folder / f"{name}.png", dpi=120, bbox_inches="tight", metadata={"Software": None})
            fig.savefig(folder / f"{name}.svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})

    def save_table(self, table: pd.DataFrame, name: str) -> None:
        """Write a tidy table as CSV (a published table); text a spreadsheet would run as a formula is neutralised."""
        from .publish.files import neutralise

        folder = self._folder("tables")
        if folder is not None:
            safe = table.astype(object).map(neutralise)
            safe.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")

    def record(self, key: str, value) -> None:
        """Add a result to figures.json (written by ``finish``)."""
        self.records[key] = value

    def finish(self) -> None:
        if self.out is None:
            return
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
    read and validated once per kernel, not once per report.
    """
    from .io import dataset_files

    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in dataset_files(path))
    key = (str(Path(path).resolve()), stamp)
    if _CACHE.get("key") != key:
        _CACHE.clear()
        _CACHE.update(key=key, full=load_dataset(path), subsets={})
    if not la_code:
        return _CACHE["full"]
    subsets = _CACHE["subsets"]
    if la_code not in subsets:
        subsets[la_code] = _CACHE["full"].subset_la(la_code)
    return subsets[la_code]


def setup(data_path=None, la_code=None, period_start=None, period_end=None,
          risk_levels=("medium", "low"), min_cell: int = 5, suppress: bool = True,
          output_dir=None, dataset: Dataset | None = None, publication_dir=None,
          scope: str | None = None) -> ReportContext:
    """Load and validate the dataset and fix the parameters of a notebook run."""
    path = resolve_data_path(data_path)
    if dataset is None:
        if not path.exists():
            raise NotebookDataError(f"No dataset at {path}. Run `make data` (or `rhi synth --out {path}`) "
                                    "or set the data_path parameter.")
        try:
            dataset = cached_dataset(path)
        except DatasetError as err:
            raise NotebookDataError(f"{path} is not a valid dataset; nothing was analysed:\n  "
                                    + "\n  ".join(err.summary_lines(10))) from None
    if isinstance(risk_levels, str):
        risk_levels = tuple(s.strip() for s in risk_levels.split(",") if s.strip())
    params = Params(period_start=period_start, period_end=period_end, risk_levels=tuple(risk_levels),
                    la_code=la_code or None)
    if params.la_code:
        if params.la_code not in dataset.la_codes:
            raise NotebookDataError(f"la_code {params.la_code} has no episodes in {path}")
        if dataset is _CACHE.get("full"):
            dataset = cached_dataset(path, params.la_code)
        else:
            dataset = dataset.subset_la(params.la_code)
    synthetic = is_synthetic(path)  # metadata.json, Parquet file metadata or a workbook's metadata sheet
    out = Path(output_dir) if output_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    control = Disclosure(bool(suppress), int(min_cell))
    scope = scope or params.la_code or "all"
    if publication_dir:   # a batch: the run's tables, suppressed once for every report of the run
        tables = published_tables(publication_dir, scope)
    else:                 # on its own: a publication of this report's tables alone
        tables = _own_publication(dataset, params, scope, control)
    return ReportContext(dataset, params, control, out, path, synthetic=synthetic, tables=tables, scope=scope)


def published_tables(folder, scope: str) -> dict:
    """The tables of one scope as a batch published them (written by ``batch`` before the notebooks run)."""
    import pickle

    file = Path(folder) / f"{scope}.pkl"
    with open(file, "rb") as handle:
        return pickle.load(handle)


def _own_publication(dataset, params: Params, scope: str, control: Disclosure) -> dict:
    """A notebook run outside a batch publishes its own scope (the comparison: every authority and all)."""
    from .publish.build import build_publication, tables_of

    scopes = ["all"] + list(dataset.la_codes) if scope == "compare" else [scope]
    pub = build_publication(dataset, params, scopes, control, compare=scope == "compare")
    return tables_of(pub, scope)
