"""Police risk grading linked to what children disclosed at their return home interview (issue 5).

Definitions used (docs/linkage-analysis.md):

- population: the contract's populations with police risk levels high,
  medium and low all in scope (``linkage_populations``), period and LA as given.
- police risk of an RHI: the highest police_risk among the episodes it
  addresses (contract, section 3; ``populations.rhi_police_risk``).
- RHI-level prevalence: in-scope RHIs of a grade at which the indicator was
  recorded, over in-scope RHIs of that grade.
- child-level prevalence by grade: a child counts in a grade if they have an
  in-scope RHI of that grade; the disclosure counts if recorded at an RHI of
  that grade. A child with RHIs of two grades counts in both. Within a cohort,
  only the child's RHIs of that cohort are used. The "all" grade is every
  in-scope RHI (a child counts once).
- episode number of an RHI: 1 + the child's notified episodes (period, same
  LA) that started before the earliest in-scope episode the RHI addresses
  (ties by episode_id); banded 1 (first episode), 2-4, 5-14, 15+. Only earlier
  episodes count, so the band uses nothing that happened after the RHI's episode.
- serious harm: any of ``vocab.SERIOUS_HARM_DEFAULT`` (configurable).
- screening (a high grade as a test for disclosed serious harm): RHI level,
  with intervals allowing for several RHIs per child; child level on each
  child's first in-scope RHI (test and outcome from the same RHI).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import vocab
from analysis.disclosure import SUPPRESSED, Disclosure, suppress_figure
from analysis.definitions.populations import Params, Populations, age_band, chronological, indicator_matrix, rhi_police_risk
from analysis.stats.proportions import Proportion, proportion

LINKAGE_LEVELS = ("high", "medium", "low")
EPISODE_BANDS = ("1", "2-4", "5-14", "15+")
ALL = "all"
SERIOUS = "serious_harm_any"
MEDIUM_OR_LOW = {"medium_or_low": ("medium", "low")}   # the coarse grade an authority's report shows
MANY_EPISODES = 15
FIGURE_COLUMNS = ["count", "denominator", "pct", "ci_low", "ci_high", "statement", "suppressed"]


def linkage_populations(ds, params: Params) -> Populations:
    """Populations with high, medium and low all in scope, keeping the period and LA of ``params``."""
    return Populations(ds, params.with_risk_levels(LINKAGE_LEVELS))


def episode_band(number: pd.Series) -> pd.Series:
    """Episode number banded: 1 (first), 2-4, 5-14, 15+."""
    return pd.cut(number.astype(float), bins=[0, 1, 4, 14, np.inf], labels=list(EPISODE_BANDS)).astype(object)


def outcome_names(ds) -> list[str]:
    """Every indicator, the derived ones, the harm groups and serious harm (any)."""
    return list(ds.indicators) + list(vocab.DERIVED_INDICATORS) + list(vocab.HARM_GROUPS) + [SERIOUS]


def rhi_table(pops: Populations, serious=vocab.SERIOUS_HARM_DEFAULT) -> pd.DataFrame:
    """One row per in-scope RHI: child (internal only), grade, cohort, age band, sex, episode band, outcomes."""
    ds = pops.ds
    rhis = pops.rhis[["rhi_id", "child_id", "cohort"]].reset_index(drop=True)
    rhis["police_risk"] = rhis["rhi_id"].map(rhi_police_risk(ds))
    notified = chronological(pops.notified)
    number = (notified.groupby(["child_id", "la_code"]).cumcount() + 1).rename("episode_number")
    eps = notified[["episode_id", "missing_start", "age"]].join(number)
    first = chronological(pops.links.merge(eps, on="episode_id")).drop_duplicates("rhi_id").set_index("rhi_id")
    rhis["episode_number"] = rhis["rhi_id"].map(first["episode_number"]).astype(int)
    rhis["episode_band"] = episode_band(rhis["episode_number"])
    rhis["age_band"] = age_band(rhis["rhi_id"].map(first["age"]).astype(float))
    rhis["first_episode_start"] = (rhis["rhi_id"].map(first["missing_start"]) if len(rhis)   # orders a child's
                                   else pd.Series([], dtype="datetime64[ns]"))             # RHIs in time (none: 903)
    rhis["first_episode_id"] = rhis["rhi_id"].map(first["episode_id"])
    rhis["sex"] = rhis["child_id"].map(ds.children.set_index("child_id")["sex"]).fillna("unknown")
    flags = indicator_matrix(ds, rhis["rhi_id"], by=("rhi_id",))
    for group, parts in vocab.HARM_GROUPS.items():
        flags[group] = flags[list(parts)].any(axis=1)
    flags[SERIOUS] = flags[list(serious)].any(axis=1)
    return rhis.merge(flags.reset_index(), on="rhi_id", how="left")


# --- prevalence ------------------------------------------------------------------------

def _figure(count, denominator) -> dict:
    p = proportion(count, denominator)
    return {"count": p.count, "denominator": p.denominator, "pct": p.pct, "ci_low": p.ci_low, "ci_high": p.ci_high}


def prevalence_by(rt: pd.DataFrame, outcomes, unit: str = "rhis", group: str = "police_risk",
                  levels=LINKAGE_LEVELS, cohorts: bool = True, combined: dict | None = None) -> pd.DataFrame:
    """Prevalence of each outcome by group level (and "all"), overall and per cohort, at RHI or child level.

    ``combined`` adds levels made of several (``{"medium_or_low": ("medium", "low")}``): at child level, a
    child with an RHI of either grade counts once, and the outcome counts if recorded at one of those RHIs.
    Columns: unit, cohort, <group>, outcome, count, denominator, pct, ci_low, ci_high (percent, Wilson 95%).
    """
    if unit not in ("rhis", "children"):
        raise ValueError("unit must be 'rhis' or 'children'")
    outcomes = list(outcomes)
    rows = []
    for cohort in [ALL] + (list(vocab.COHORTS) if cohorts else []):
        sub = rt if cohort == ALL else rt[rt["cohort"] == cohort]
        for level in list(levels) + list(combined or {}) + [ALL]:
            members = (combined or {}).get(level, (level,))
            part = sub if level == ALL else sub[sub[group].isin(members)]
            if unit == "children":
                part = part.groupby("child_id")[outcomes].any()
            counts = part[outcomes].sum()
            for outcome in outcomes:
                rows.append({"unit": unit, "cohort": cohort, group: level, "outcome": outcome,
                             **_figure(int(counts[outcome]), len(part)),
                             "statement": "" if len(part) else f"no estimate: no {UNIT_WORDS[unit][0]} in this group"})
    return pd.DataFrame(rows)


def child_highest_grade(rt: pd.DataFrame, outcomes) -> pd.DataFrame:
    """One row per RHI child: the highest grade of their in-scope RHIs and each outcome at any of them.

    Used for child-level tests, where every child must be in one group only.
    """
    rank = {level: i for i, level in enumerate(vocab.RISK_ORDER)}
    outcomes = list(outcomes)
    grade = rt.assign(rank=rt["police_risk"].map(rank)).groupby("child_id")["rank"].min()
    frame = rt.groupby("child_id")[outcomes].any()
    frame.insert(0, "police_risk", grade.map(dict(enumerate(vocab.RISK_ORDER))))
    return frame.reset_index()


# --- disclosure control --------------------------------------------------------------------

def suppress_table(table: pd.DataFrame, control: Disclosure, part_dims: dict[str, tuple] | None = None,
                   partitions_denominator: str | None = None) -> pd.DataFrame:
    """Primary suppression of each figure row (``suppress_figure``), then secondary suppression.

    ``part_dims`` maps a column (e.g. police_risk) to its levels that add up
    (exactly or nearly) to its "all" row; where exactly one part of such a
    group is suppressed while the "all" row is shown, the smallest other
    non-zero part is suppressed too (or the total, if there is none).
    ``partitions_denominator`` names a column whose levels split the shared
    denominator of a group (e.g. the grades of a group's episodes): there too,
    a single suppressed count gets a second one.
    """
    out = pd.DataFrame([suppress_figure(r, control) for r in table.to_dict("records")], columns=list(table.columns))
    out = out.astype(object)
    if not control.suppress:
        return out
    if partitions_denominator:
        keys = [c for c in table.columns if c not in FIGURE_COLUMNS and c != partitions_denominator]
        for _, group in out.groupby(keys, dropna=False, sort=False):
            hidden = group["count"] == SUPPRESSED
            shown = group.loc[~hidden, "count"].astype(float)
            shown = shown[shown > 0]
            if hidden.sum() == 1 and len(shown):
                out.loc[shown.idxmin(), ["count", "pct", "ci_low", "ci_high"]] = SUPPRESSED
    if not part_dims:
        return out
    changed = True
    while changed:
        changed = False
        for dim, parts in part_dims.items():
            keys = [c for c in table.columns if c not in FIGURE_COLUMNS and c != dim]
            for _, group in out.groupby(keys, dropna=False, sort=False):
                for column in ("denominator", "count"):
                    changed |= _secondary(out, group, dim, parts, column)
    return out


def _secondary(out: pd.DataFrame, group: pd.DataFrame, dim: str, parts, column: str) -> bool:
    total = group[group[dim] == ALL]
    members = group[group[dim].isin(parts)]
    if total.empty or (total[column] == SUPPRESSED).all():
        return False
    hidden = members[column] == SUPPRESSED
    if hidden.sum() != 1:
        return False
    shown = members.loc[~hidden, column].astype(float)
    shown = shown[shown > 0]
    target = shown.idxmin() if len(shown) else total.index[0]
    cols = ["count", "pct", "ci_low", "ci_high"] + (["denominator"] if column == "denominator" else [])
    out.loc[target, cols] = SUPPRESSED
    return True


def rounded(table: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    """Percentages and interval ends rounded for display; 'c' and blanks left as they are."""
    out = table.copy()
    for col in ("pct", "ci_low", "ci_high"):
        if col in out:
            out[col] = out[col].map(lambda v: v if v in (None, SUPPRESSED) or pd.isna(v) else round(float(v), decimals))
    return out


# --- hidden risk ------------------------------------------------------------------------------

@dataclass(frozen=True)
class HiddenRisk:
    """Children graded medium or low on every notified episode in the period, and serious harm disclosed."""

    rhi_children: int              # all RHI children (high, medium, low in scope)
    not_all_medium_low: int        # RHI children with any episode high, no apparent risk or not coded
    disclosed: Proportion          # children all medium/low who disclosed serious harm / children all medium/low
    episodes: int                  # notified episodes of the children all medium/low (all medium or low)
    episodes_of_disclosers: int    # of which, episodes of the children who disclosed serious harm
    median_episodes_disclosers: float | None
    serious: tuple[str, ...]


def hidden_risk(pops: Populations, rt: pd.DataFrame, serious=vocab.SERIOUS_HARM_DEFAULT) -> HiddenRisk:
    """Share of RHI children graded medium/low on every notified episode who disclosed serious harm.

    A child whose notified episodes include any high, no-apparent-risk or
    uncoded episode is not "medium or low on every episode". Disclosure: any
    of ``serious`` recorded at any of the child's in-scope RHIs.
    """
    serious = tuple(serious)
    eps = pops.notified
    children = rt["child_id"].unique()
    eps = eps[eps["child_id"].isin(children)]
    graded = eps["police_risk"].isin(["medium", "low"]).groupby(eps["child_id"]).all()
    all_ml = graded[graded].index
    per_child = rt[rt["child_id"].isin(all_ml)].groupby("child_id")[list(serious)].any().any(axis=1)
    n_episodes = eps[eps["child_id"].isin(all_ml)].groupby("child_id").size()
    disclosers = per_child[per_child].index
    ep_disc = n_episodes.reindex(disclosers)
    return HiddenRisk(
        rhi_children=len(children), not_all_medium_low=len(children) - len(all_ml),
        disclosed=proportion(int(per_child.sum()), len(per_child)),
        episodes=int(n_episodes.sum()), episodes_of_disclosers=int(ep_disc.sum()),
        median_episodes_disclosers=float(ep_disc.median()) if len(ep_disc) else None, serious=serious,
    )


def hidden_risk_table(h: HiddenRisk, control: Disclosure) -> pd.DataFrame:
    """Hidden risk as a tidy, suppressed table of figures."""
    rows = [
        {"figure": "children graded medium or low on every episode who disclosed serious harm",
         **_figure(h.disclosed.count, h.disclosed.denominator)},
        {"figure": "RHI children with any episode not graded medium or low (excluded)",
         "count": h.not_all_medium_low, "denominator": h.rhi_children, "pct": None, "ci_low": None, "ci_high": None},
        {"figure": "episodes (all graded medium or low) of the children who disclosed serious harm",
         "count": h.episodes_of_disclosers, "denominator": h.episodes, "pct": None, "ci_low": None, "ci_high": None},
    ]
    return suppress_table(pd.DataFrame(rows), control)


# --- grading as a screening test --------------------------------------------------------------

METRICS = {
    # metric: (numerator cell, denominator cells, what the denominator is, statement when empty)
    "sensitivity": ("tp", ("tp", "fn"), "{u} who disclosed serious harm", "no {u} with serious harm disclosed"),
    "specificity": ("tn", ("tn", "fp"), "{u} who did not disclose serious harm", "serious harm was disclosed by all {u}"),
    "ppv": ("tp", ("tp", "fp"), "{u} graded high", "{no_high}"),
    "npv": ("tn", ("tn", "fn"), "{u} not graded high", "every {u_one} was graded high"),
}
UNIT_WORDS = {"rhis": ("RHIs", "RHI"), "children": ("children", "child")}
NO_HIGH = {"rhis": "no high-risk RHIs", "children": "no children whose first RHI was graded high"}
SCREENING_UNITS = {"rhis": "RHIs", "children": "children (each child's first in-scope RHI)"}
CI_METHODS = {
    "rhis": "Wilson 95% at the effective size n/d; d = design effect of the RHIs' clustering within children "
            "(cluster-robust variance, Korn and Graubard 1998)",
    "children": "Wilson 95% (one RHI per child: independent)",
}


def first_rhis(rt: pd.DataFrame) -> pd.DataFrame:
    """Each child's first in-scope RHI of ``rt``: the one whose earliest in-scope episode started first.

    Ties on the start are broken by that episode's id in natural order. Two
    completed RHIs never address the same episode (contract, section 1), so
    the order is total. The rule uses time only, never the grade or the outcome.
    """
    missing = {"first_episode_start", "first_episode_id"} - set(rt.columns)
    if missing:
        raise ValueError(f"first_rhis needs the RHI table's {sorted(missing)} columns (from rhi_table)")
    timed = rt.reset_index(drop=True).rename(columns={"first_episode_start": "missing_start",
                                                       "first_episode_id": "episode_id"})
    first = chronological(timed).drop_duplicates("child_id").index
    return rt.iloc[np.sort(first)]


def screening(rt: pd.DataFrame, unit: str = "rhis", outcome: str = SERIOUS, cohorts: bool = True) -> pd.DataFrame:
    """A "high" police grade as a test for disclosed serious harm: sensitivity, specificity, PPV, NPV.

    RHI level: test positive = the RHI's grade is high; condition = the
    outcome recorded at that RHI. Intervals allow for the RHIs of one child
    not being independent (``association.clustered_proportion``: Wilson at the
    design-effect-adjusted effective size; ``design_effect`` column).

    Child level: each child's first in-scope RHI (``first_rhis``; by cohort,
    the first RHI of that cohort) gives both the test and the condition, so
    test and outcome always come from the same RHI and every child counts
    once whatever their number of RHIs. Children are independent: plain
    Wilson intervals. An empty denominator gives ``statement`` "not
    estimable: ..." and no number.
    """
    from analysis.stats.association import clustered_proportion

    if unit not in UNIT_WORDS:
        raise ValueError("unit must be 'rhis' or 'children'")
    if outcome not in rt.columns:
        raise ValueError(f"screening: the RHI table has no outcome column {outcome!r}")
    rows = []
    words = UNIT_WORDS[unit]
    for cohort in [ALL] + (list(vocab.COHORTS) if cohorts else []):
        sub = rt if cohort == ALL else rt[rt["cohort"] == cohort]
        if unit == "children":
            sub = first_rhis(sub)
        test = (sub["police_risk"] == "high").to_numpy()
        condition = sub[outcome].astype(bool).to_numpy()
        children = sub["child_id"].to_numpy()
        members = {"tp": test & condition, "fp": test & ~condition, "fn": ~test & condition, "tn": ~test & ~condition}
        for metric, (num, dens, what, empty) in METRICS.items():
            among = members[dens[0]] | members[dens[1]]
            den = int(among.sum())
            row = {"unit": unit, "cohort": cohort, "metric": metric, "outcome": outcome,
                   "denominator_is": what.format(u=words[0]), **_figure(int(members[num].sum()), den),
                   "design_effect": None, "ci_method": CI_METHODS[unit]}
            if unit == "rhis" and den:
                cp = clustered_proportion(members[num][among], children[among])
                row.update(ci_low=cp.ci_low, ci_high=cp.ci_high, design_effect=cp.design_effect)
                if not cp.basis.startswith("cluster-robust"):
                    row["ci_method"] = CI_METHODS[unit] + "; d " + cp.basis
            if len(sub) == 0:
                row["statement"] = f"not estimable: no {words[0]} in this group"
            elif den == 0:
                row["statement"] = "not estimable: " + empty.format(u=words[0], u_one=words[1], no_high=NO_HIGH[unit])
            else:
                row["statement"] = ""
            rows.append(row)
    return pd.DataFrame(rows)


# --- repeat missing ---------------------------------------------------------------------------

def grades_by_episode_count(pops: Populations, rt: pd.DataFrame, many: int = MANY_EPISODES) -> pd.DataFrame:
    """Police grades of the notified episodes of RHI children with ``many`` or more notified episodes vs fewer.

    Episode level: episodes of the group with each grade (high, medium, low,
    no apparent risk, not recorded) over the group's notified episodes.
    Episodes of one child are not independent: the intervals are indicative.
    """
    eps = pops.notified[pops.notified["child_id"].isin(rt["child_id"].unique())]
    total = eps.groupby("child_id").size()
    group = eps["child_id"].map(total >= many).map({True: f"{many} or more episodes", False: f"fewer than {many}"})
    grade = eps["police_risk"].fillna("not recorded")
    rows = []
    for label in (f"{many} or more episodes", f"fewer than {many}"):
        mine = grade[group == label]
        n_children = int((total >= many).sum() if label.startswith(str(many)) else (total < many).sum())
        for level in list(vocab.RISK_ORDER) + ["not recorded"]:
            rows.append({"children_group": label, "children": n_children, "police_risk": level,
                         **_figure(int((mine == level).sum()), len(mine))})
    return pd.DataFrame(rows)


# --- figures -------------------------------------------------------------------------------------

def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with an estimate that is shown (not suppressed, denominator not 0)."""
    ok = table["pct"].map(lambda v: v is not None and v != SUPPRESSED and not (isinstance(v, float) and np.isnan(v)))
    out = table[ok].copy()
    for col in ("pct", "ci_low", "ci_high"):
        out[col] = out[col].astype(float)
    return out


def plot_prevalence(table: pd.DataFrame, outcomes, group: str = "police_risk", levels=LINKAGE_LEVELS,
                    title: str = "", note: str = ""):
    """Dot plot: % with each outcome by group level with 95% Wilson intervals, one panel per cohort."""
    import matplotlib.pyplot as plt

    cohorts = [c for c in [ALL] + list(vocab.COHORTS) if c in set(table["cohort"])]
    fig, axes = plt.subplots(1, len(cohorts), figsize=(3.6 * len(cohorts), 0.55 * len(outcomes) * len(levels) ** 0.5 + 2),
                             sharey=True, squeeze=False)
    markers = dict(zip(levels, ["o", "s", "^", "D", "v"]))
    for ax, cohort in zip(axes[0], cohorts):
        sub = table[(table["cohort"] == cohort)]
        for j, level in enumerate(levels):
            for i, outcome in enumerate(outcomes):
                y = i + (j - (len(levels) - 1) / 2) * 0.22
                row = sub[(sub[group] == level) & (sub["outcome"] == outcome)]
                shown = _shown(row)
                if len(shown):
                    r = shown.iloc[0]
                    ax.errorbar(r["pct"], y, xerr=[[max(0.0, r["pct"] - r["ci_low"])], [max(0.0, r["ci_high"] - r["pct"])]],
                                fmt=markers[level], color=f"C{j}", label=level if i == 0 else None, capsize=2)
                elif len(row):
                    ax.text(1, y, "c" if row.iloc[0]["pct"] == SUPPRESSED else "n/a", va="center", fontsize=7,
                            color=f"C{j}")
        ax.set_title(vocab.COHORT_LABELS.get(cohort, "All RHI children" if cohort == ALL else cohort), fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% (95% Wilson interval)")
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(outcomes)), outcomes)
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(title=group.replace("_", " "), fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    if note:
        fig.text(0.01, -0.02, note, fontsize=7, ha="left", va="top", wrap=True)
    fig.tight_layout()
    return fig


def plot_screening(table: pd.DataFrame, title: str = "", note: str = ""):
    """Sensitivity, specificity, PPV and NPV with 95% Wilson intervals, per cohort and unit."""
    import matplotlib.pyplot as plt

    units = list(dict.fromkeys(table["unit"]))
    fig, axes = plt.subplots(1, len(units), figsize=(5 * len(units), 3.8), sharey=True, squeeze=False)
    labels = list(METRICS)
    cohorts = list(dict.fromkeys(table["cohort"]))
    for ax, unit in zip(axes[0], units):
        for j, cohort in enumerate(cohorts):
            for i, metric in enumerate(labels):
                y = i + (j - (len(cohorts) - 1) / 2) * 0.18
                row = table[(table["unit"] == unit) & (table["cohort"] == cohort) & (table["metric"] == metric)]
                shown = _shown(row)
                if len(shown):
                    r = shown.iloc[0]
                    ax.errorbar(r["pct"], y, xerr=[[max(0.0, r["pct"] - r["ci_low"])], [max(0.0, r["ci_high"] - r["pct"])]], fmt="o",
                                color=f"C{j}", capsize=2,
                                label=vocab.COHORT_LABELS.get(cohort, "All") if i == 0 else None)
                elif len(row):
                    ax.text(1, y, "c" if row.iloc[0]["pct"] == SUPPRESSED else "not estimable", fontsize=7,
                            va="center", color=f"C{j}")
        ax.set_title(UNIT_WORDS[unit][0], fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% (95% Wilson interval)")
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].set_yticks(range(len(labels)), ["sensitivity", "specificity", "PPV", "NPV"])
    axes[0][0].invert_yaxis()
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    if note:
        fig.text(0.01, -0.02, note, fontsize=7, ha="left", va="top", wrap=True)
    fig.tight_layout()
    return fig
