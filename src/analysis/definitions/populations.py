"""Analysis populations of the "A Safer Return" method (contract, section 3).

Each definition is a small function of a validated :class:`Dataset` and the
parameters (period, police risk levels in scope, local authority).
:class:`Populations` computes them once for a dataset and parameters and
keeps the results, so a report asks for many figures without recomputing.

Decisions where the contract is silent (see docs/definitions.md):
- the period is inclusive of whole days: ``period_start <= missing_start < period_end + 1 day``;
- rows set aside by validation (soft problems) are in no population;
- "earlier" episode for repeats: earlier missing_start; ties broken by episode_id in natural
  order ("e9" before "e10"), see :func:`chronological`;
- a link set aside (RHI completed before the episode ended) does not make the
  episode an RHI episode, nor does the RHI address it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from analysis import vocab
from analysis.dataset.validate import Dataset


@dataclass(frozen=True)
class Params:
    """What to analyse: period (inclusive, on missing_start), risk levels in scope, one LA or all."""

    period_start: pd.Timestamp | None = None
    period_end: pd.Timestamp | None = None
    risk_levels: tuple[str, ...] = ("medium", "low")
    la_code: str | None = None

    def __post_init__(self):
        for name in ("period_start", "period_end"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, pd.Timestamp):
                object.__setattr__(self, name, pd.Timestamp(value))
        unknown = set(self.risk_levels) - set(vocab.RISK_ORDER)
        if unknown:
            raise ValueError(f"risk levels must be among {', '.join(vocab.RISK_ORDER)}; got {', '.join(sorted(unknown))}")
        object.__setattr__(self, "risk_levels", tuple(self.risk_levels))

    def with_risk_levels(self, levels) -> "Params":
        return replace(self, risk_levels=tuple(levels))

    def describe(self) -> str:
        period = f"{_day(self.period_start) or 'start of data'} to {_day(self.period_end) or 'end of data'}"
        return (f"period {period}; police risk in scope: {', '.join(self.risk_levels)}; "
                f"local authority: {self.la_code or 'all'}")


def _day(ts) -> str | None:
    return None if ts is None else f"{ts:%Y-%m-%d}"


# --- episode populations -------------------------------------------------------

def usable_episodes(ds: Dataset) -> pd.DataFrame:
    """Episodes not set aside by validation."""
    return ds.episodes[ds.episodes["set_aside"].isna()]


def in_period(episodes: pd.DataFrame, params: Params) -> pd.Series:
    keep = pd.Series(True, index=episodes.index)
    if params.period_start is not None:
        keep &= episodes["missing_start"] >= params.period_start
    if params.period_end is not None:
        keep &= episodes["missing_start"] < params.period_end + pd.Timedelta(days=1)
    return keep


def notified_episodes(ds: Dataset, params: Params) -> pd.DataFrame:
    """Episodes with missing_start in the period (and the LA)."""
    eps = usable_episodes(ds)
    keep = in_period(eps, params)
    if params.la_code:
        keep &= eps["la_code"] == params.la_code
    return eps[keep]


def risk_coded_episodes(notified: pd.DataFrame) -> pd.DataFrame:
    """Notified episodes with a police risk code."""
    return notified[notified["police_risk"].notna()]


def in_scope_episodes(risk_coded: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Risk-coded episodes whose police risk is one of the levels in scope."""
    return risk_coded[risk_coded["police_risk"].isin(params.risk_levels)]


# --- RHIs and links ------------------------------------------------------------

def completed_links(ds: Dataset) -> pd.DataFrame:
    """Links (rhi_id, episode_id) from completed RHIs, not set aside, with the RHI's child."""
    links = ds.rhi_episodes[ds.rhi_episodes["set_aside"].isna()][["rhi_id", "episode_id"]]
    done = ds.rhis.loc[ds.rhis["status"] == "completed", ["rhi_id", "child_id"]]
    return links.merge(done, on="rhi_id", how="inner")


def rhi_episode_links(ds: Dataset, episodes: pd.DataFrame) -> pd.DataFrame:
    """Links from completed RHIs to the given episodes."""
    links = completed_links(ds)
    return links[links["episode_id"].isin(episodes["episode_id"])]


def chronological(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes in time order: by missing_start, ties broken by episode_id in natural order.

    Natural order compares the digits in an id as numbers, so "e9" comes before
    "e10" (as text "e10" would come first). Only order among episodes that start
    at the same moment depends on it.
    """
    start = episodes["missing_start"].to_numpy()
    key = np.zeros(len(episodes), dtype=object)   # the tie-break is needed only where starts coincide
    tied = episodes["missing_start"].duplicated(keep=False).to_numpy()
    if tied.any():
        ids = episodes["episode_id"].iloc[np.flatnonzero(tied)].astype(str)
        key[tied] = ids.str.replace(r"\d+", lambda m: m.group(0).zfill(20), regex=True).to_numpy()
    key[~tied] = ""
    order = np.lexsort((key.astype(str), start))
    return episodes.iloc[order]


def _rhi_property(ds: Dataset, name: str, compute) -> pd.Series:
    """A property of each RHI, computed once on the whole dataset, for this dataset's RHIs.

    Properties of an RHI (its police grade, its cohort) do not depend on the
    authority, period or risk levels selected: an RHI addressing episodes of two
    authorities has the same grade and cohort in both reports and in the
    all-authorities report.
    """
    root = ds.root
    if name not in root.derived:
        root.derived[name] = compute(root)
    values = root.derived[name]
    return values[values.index.isin(ds.rhis["rhi_id"])]


def _usable_links(ds: Dataset) -> pd.DataFrame:
    """Links not set aside, to episodes not set aside, with the episode's start, legal status and grade."""
    links = ds.rhi_episodes.loc[ds.rhi_episodes["set_aside"].isna(), ["rhi_id", "episode_id"]]
    eps = usable_episodes(ds)[["episode_id", "missing_start", "legal_status", "police_risk"]]
    return links.merge(eps, on="episode_id")


def _cohorts(ds: Dataset) -> pd.Series:
    earliest = chronological(_usable_links(ds)).drop_duplicates("rhi_id").set_index("rhi_id")["legal_status"]
    status = ds.rhis.set_index("rhi_id")["legal_status"]
    status = status.fillna(status.index.to_series().map(earliest))
    return status.map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known").rename("cohort")


def rhi_cohorts(ds: Dataset) -> pd.Series:
    """Cohort of every RHI: its own legal_status, else that of the earliest episode it addresses.

    looked_after -> looked_after; child_protection, child_in_need, early_help ->
    open_to_services; not_known or blank -> not_known. Episodes and links set
    aside by validation are left out; "earliest" is :func:`chronological` order;
    computed on the whole dataset (see :func:`_rhi_property`).
    """
    return _rhi_property(ds, "cohort", _cohorts)


def _grades(ds: Dataset) -> pd.Series:
    links = _usable_links(ds)
    rank = {level: i for i, level in enumerate(vocab.RISK_ORDER)}
    best = links.assign(rank=links["police_risk"].map(rank)).dropna(subset=["rank"]).groupby("rhi_id")["rank"].min()
    return best.astype(int).map(dict(enumerate(vocab.RISK_ORDER))).rename("police_risk")


def rhi_police_risk(ds: Dataset) -> pd.Series:
    """Police risk of each RHI: the highest grade among the episodes it addresses (absent if none coded).

    high > medium > low > no_apparent_risk; episodes and links set aside by
    validation are left out (an RHI addressing a medium episode at 17 and a high
    one at 18 is medium). Computed on the whole dataset, so the grade does not
    change with the authority, period or risk levels selected.
    """
    return _rhi_property(ds, "police_risk", _grades)


# --- children and indicators -----------------------------------------------------

def indicator_matrix(ds: Dataset, rhi_ids, by=("child_id",), extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per key (default: child), one boolean column per indicator recorded at the given RHIs.

    ``extra`` may give further key columns per rhi_id (e.g. cohort). Derived
    indicators (cse_red_flag_any) are added.
    """
    rhis = ds.rhis.loc[ds.rhis["rhi_id"].isin(rhi_ids), ["rhi_id", "child_id"]]
    if extra is not None:
        rhis = rhis.merge(extra, on="rhi_id")
    keys = rhis[list(by)].drop_duplicates()
    disc = ds.disclosures[ds.disclosures["set_aside"].isna()][["rhi_id", "indicator"]]
    recorded = disc.merge(rhis, on="rhi_id")[list(by) + ["indicator"]]
    index = keys.set_index(list(by)).index
    rows = index.get_indexer(pd.MultiIndex.from_frame(recorded[list(by)]) if len(by) > 1 else recorded[by[0]])
    columns = pd.Index(list(ds.indicators)).get_indexer(recorded["indicator"])
    flags = np.zeros((len(index), len(ds.indicators)), dtype=bool)
    keep = (rows >= 0) & (columns >= 0)
    flags[rows[keep], columns[keep]] = True
    matrix = pd.DataFrame(flags, index=index, columns=list(ds.indicators))
    for name, parts in vocab.DERIVED_INDICATORS.items():
        matrix[name] = matrix[list(parts)].any(axis=1)
    return matrix


def repeat_episode_flags(ds: Dataset, notified: pd.DataFrame, episodes: pd.DataFrame) -> pd.Series:
    """True for each of ``episodes`` whose child has an earlier notified episode in the same LA."""
    ordered = chronological(notified)
    rank = ordered.groupby(["child_id", "la_code"]).cumcount()
    return (rank.reindex(episodes.index) > 0).rename("repeat")


def age_band(age: pd.Series) -> pd.Series:
    """Age bands of the study: 10 or under, 11-13, 14-16, 17."""
    bins = [-1, 10, 13, 16, 17]
    return pd.cut(age.astype(float), bins=bins, labels=list(vocab.AGE_BANDS)).astype(object)


class Populations:
    """Every population of section 3 for one dataset and one set of parameters, computed once."""

    def __init__(self, ds: Dataset, params: Params | None = None):
        self.ds = ds
        self.params = params or Params()

    @cached_property
    def notified(self) -> pd.DataFrame:
        return notified_episodes(self.ds, self.params)

    @cached_property
    def risk_coded(self) -> pd.DataFrame:
        return risk_coded_episodes(self.notified)

    @cached_property
    def in_scope(self) -> pd.DataFrame:
        return in_scope_episodes(self.risk_coded, self.params)

    @cached_property
    def links(self) -> pd.DataFrame:
        """Links from completed RHIs to in-scope episodes."""
        return rhi_episode_links(self.ds, self.in_scope)

    @cached_property
    def rhi_episodes(self) -> pd.DataFrame:
        """In-scope episodes linked to a completed RHI."""
        return self.in_scope[self.in_scope["episode_id"].isin(self.links["episode_id"])]

    @cached_property
    def rhis(self) -> pd.DataFrame:
        """In-scope RHIs: completed RHIs addressing at least one in-scope episode."""
        rhis = self.ds.rhis[self.ds.rhis["rhi_id"].isin(self.links["rhi_id"])]
        return rhis.assign(cohort=rhis["rhi_id"].map(self.cohort_of_rhi))

    @cached_property
    def cohort_of_rhi(self) -> pd.Series:
        return rhi_cohorts(self.ds)

    @cached_property
    def children(self) -> pd.DataFrame:
        """RHI children: children with at least one in-scope RHI (rows of the children table)."""
        return self.ds.children[self.ds.children["child_id"].isin(self.rhis["child_id"])]

    @cached_property
    def child_cohorts(self) -> pd.DataFrame:
        """(child_id, cohort) pairs: a child is in every cohort one of its in-scope RHIs has."""
        return self.rhis[["child_id", "cohort"]].drop_duplicates()

    def cohort_size(self, cohort: str) -> int:
        return int((self.child_cohorts["cohort"] == cohort).sum())

    @cached_property
    def child_indicators(self) -> pd.DataFrame:
        """RHI children x indicators recorded at any in-scope RHI."""
        return indicator_matrix(self.ds, self.rhis["rhi_id"])

    @cached_property
    def cohort_indicators(self) -> pd.DataFrame:
        """(child, cohort) x indicators recorded at an in-scope RHI of that cohort."""
        extra = self.rhis[["rhi_id", "cohort"]]
        return indicator_matrix(self.ds, self.rhis["rhi_id"], by=("child_id", "cohort"), extra=extra)

    @cached_property
    def _prevalence_counts(self) -> dict:
        """Children with each indicator and children, overall (key None) and per cohort: summed once."""
        overall = self.child_indicators
        counts = {None: (overall.sum().astype(int).to_dict(), len(overall))}
        matrix = self.cohort_indicators
        cohorts = matrix.index.get_level_values("cohort")
        for cohort in vocab.COHORTS:
            part = matrix[cohorts == cohort]
            counts[cohort] = (part.sum().astype(int).to_dict(), len(part))
        return counts

    def prevalence(self, indicator: str, cohort: str | None = None) -> tuple[int, int]:
        """(children with the indicator, children) overall or in one cohort."""
        with_it, children = self._prevalence_counts[cohort]
        return int(with_it.get(indicator, 0)), children

    @cached_property
    def in_scope_profile(self) -> pd.DataFrame:
        """In-scope episodes with the child's sex, age band and whether the episode is a repeat."""
        eps = self.in_scope.merge(self.ds.children[["child_id", "sex"]], on="child_id", how="left")
        eps.index = self.in_scope.index
        eps["age_band"] = age_band(eps["age"])
        eps["repeat"] = repeat_episode_flags(self.ds, self.notified, self.in_scope)
        return eps

    @cached_property
    def rhi_counts(self) -> pd.Series:
        """Number of in-scope RHIs per RHI child."""
        return self.rhis.groupby("child_id").size()
