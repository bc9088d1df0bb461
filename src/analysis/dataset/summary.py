"""A short plain-text summary of a validated dataset (what ``rhi validate`` prints first)."""

from __future__ import annotations

from analysis import vocab
from analysis.dataset.validate import Dataset


def dataset_summary(ds: Dataset) -> str:
    eps = ds.episodes
    lines = ["Tables:"]
    for name in ("children", "episodes", "rhis", "rhi_episodes", "disclosures"):
        frame = getattr(ds, name)
        lines.append(f"  {ds.sources.get(name, name):40} {len(frame):>9,} rows")
    completed = int((ds.rhis["status"] == "completed").sum())
    lines += [
        f"Children: {len(ds.children):,}   Episodes: {len(eps):,}   RHIs: {len(ds.rhis):,} ({completed:,} completed)",
        f"Local authorities: {len(ds.la_codes)} ({', '.join(ds.la_codes[:6])}{', ...' if len(ds.la_codes) > 6 else ''})",
    ]
    if len(eps):
        lines.append(f"Episodes start from {eps['missing_start'].min():%Y-%m-%d} to {eps['missing_start'].max():%Y-%m-%d}")
    extra = [i for i in ds.indicators if i not in vocab.INDICATORS]
    if extra:
        lines.append(f"Declared extra indicators: {', '.join(extra)}")
    return "\n".join(lines)
