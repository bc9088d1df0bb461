"""Figures shared by the notebooks: the record flow, dot plots with intervals, profiles.

Each function takes tidy data (already under disclosure control where it is
shown) and returns a matplotlib Figure; the notebook saves it with
``ReportContext.save_figure``. Suppressed values ("c") are not drawn and are
named in the caption.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLOURS = {"looked_after": "#1b9e77", "open_to_services": "#d95f02", "not_known": "#7570b3",
           "all": "#333333", "high": "#c0392b", "medium": "#e67e22", "low": "#2980b9"}


def flow_diagram(flow: pd.DataFrame, unit: str = "episodes", title: str | None = None):
    """CONSORT-style boxes: stages down the middle, exclusions to the right."""
    rows = flow[flow["unit"] == unit]
    stages = rows[rows["kind"] == "stage"]
    fig_h = 0.9 * len(stages) + 0.6
    fig, ax = plt.subplots(figsize=(9, fig_h))
    ax.set_xlim(0, 10)
    ax.set_ylim(-len(stages) + 0.2, 1)
    ax.axis("off")
    y = 0.0
    pending: list[str] = []
    for row in rows.itertuples():
        if row.kind == "excluded":
            pending.append(f"{_fmt(row.count)} {row.reason}")
            continue
        if row.kind != "stage":
            continue
        if pending:
            ax.annotate("", xy=(3, y + 0.15), xytext=(3, y + 0.55), arrowprops=dict(arrowstyle="->", color="#555"))
            ax.text(5.2, y + 0.45, "\n".join(pending), fontsize=8, va="center",
                    bbox=dict(boxstyle="round", fc="#fdf2e9", ec="#e59866"))
            pending = []
        elif y < 0:
            ax.annotate("", xy=(3, y + 0.15), xytext=(3, y + 0.55), arrowprops=dict(arrowstyle="->", color="#555"))
        ax.text(3, y, f"{row.stage}\n{_fmt(row.count)}", ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round", fc="#eaf2f8", ec="#2e86c1"))
        y -= 0.9
    ax.set_title(title or f"Flow of {unit}", fontsize=11)
    return fig


def _fmt(value) -> str:
    return f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def dot_plot(table: pd.DataFrame, label: str, group: str | None = None, title: str = "",
             xlabel: str = "% of children (95% Wilson interval)"):
    """Horizontal dot plot of pct with ci_low..ci_high; one colour per group. Rows with 'c' are skipped."""
    data = table.copy()
    data = data[pd.to_numeric(data["pct"], errors="coerce").notna()]
    labels = list(dict.fromkeys(data[label]))
    groups = list(dict.fromkeys(data[group])) if group else [None]
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(labels), 3) + 1.2))
    offsets = np.linspace(-0.25, 0.25, len(groups)) if len(groups) > 1 else [0.0]
    for offset, g in zip(offsets, groups):
        sub = data if g is None else data[data[group] == g]
        ypos = [labels.index(v) + offset for v in sub[label]]
        pct = sub["pct"].astype(float)
        err = [pct - sub["ci_low"].astype(float), sub["ci_high"].astype(float) - pct]
        ax.errorbar(pct, ypos, xerr=err, fmt="o", ms=5, capsize=2, color=COLOURS.get(str(g), None),
                    label=None if g is None else str(g).replace("_", " "))
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels([str(v).replace("_", " ") for v in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    if group and ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def bar_counts(series: pd.Series, title: str, xlabel: str, ylabel: str, log: bool = False):
    """Bar chart of counts (index = category); suppressed 'c' values are drawn as gaps."""
    values = pd.to_numeric(series, errors="coerce")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.bar([str(i) for i in series.index], values.fillna(0), color="#5d6d7e")
    for i, (raw, v) in enumerate(zip(series, values)):
        ax.text(i, 0 if pd.isna(v) else v, "c" if pd.isna(v) else f"{int(v):,}", ha="center", va="bottom", fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig
