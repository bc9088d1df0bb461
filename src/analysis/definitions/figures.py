"""Every figure of the "A Safer Return" method, computed from records.

Each figure is a count over a denominator, defined in code below and keyed
by the identifier the published-figures reference uses, so that results can
be compared with the report. No published number appears here: the
reference file is read only by ``analysis.reference.compare``.

Definitions beyond the contract (docs/definitions.md):
- "all missing children" figures use every notified episode (any risk code);
  a child's status there is the most involved one they had in the period
  (looked after, else open to services, else not known);
- "children missing more than once" (Appendix B): children with a high-risk
  episode who have two or more notified episodes of any risk;
- consent: ``consent_partial_or_override`` is partial consent or
  confidentiality overridden; the denominator is every RHI episode, so a
  blank (not recorded) value counts as not having the attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import pandas as pd

from analysis import vocab
from analysis.disclosure import Disclosure, suppress_figure
from analysis.definitions.populations import Params, Populations
from analysis.stats.proportions import proportion
from analysis.dataset.validate import Dataset

COHORT_PREFIX = {"looked_after": "lac", "open_to_services": "ots", "not_known": "nk"}
LEGAL_RANK = {"looked_after": 0, "open_to_services": 1, "not_known": 2}


@dataclass(frozen=True)
class Figure:
    id: str
    unit: str          # episodes or children
    population: str    # name of the denominator population
    label: str
    compute: Callable  # FigureContext -> (count, denominator)
    kind: str = "proportion"   # or "count" (a count with no meaningful percentage)


class FigureContext:
    """The populations a figure may need: in scope (given risk levels) and the high-risk comparison."""

    def __init__(self, ds: Dataset, params: Params, main: Populations | None = None):
        self.ds = ds
        self.params = params
        self.main = main if main is not None else Populations(ds, params)
        self.high = Populations(ds, params.with_risk_levels(("high",)))

    @cached_property
    def notified_children(self) -> pd.DataFrame:
        """Children with a notified episode: episode count and most involved status."""
        eps = self.main.notified
        rank = eps["legal_status"].map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known").map(LEGAL_RANK)
        per_child = eps.assign(rank=rank).groupby("child_id").agg(episodes=("episode_id", "size"), rank=("rank", "min"))
        per_child["status"] = per_child["rank"].map({v: k for k, v in LEGAL_RANK.items()})
        return per_child

    @cached_property
    def notified_cohort(self) -> pd.Series:
        """Cohort of each notified episode from its legal status."""
        return self.main.notified["legal_status"].map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known")

    @cached_property
    def in_scope_per_child(self) -> pd.Series:
        return self.main.in_scope.groupby("child_id").size()

    @cached_property
    def _rhi_episode_rhis(self) -> pd.DataFrame:
        """Each RHI episode with the consent columns of the completed RHI that addresses it (merged once)."""
        columns = ["rhi_id", "consent_to_share", "confidentiality_overridden"]
        links = self.main.links.merge(self.ds.rhis[columns], on="rhi_id")
        return links.drop_duplicates("episode_id").set_index("episode_id")

    def rhi_episode_attribute(self, column: str) -> pd.Series:
        """For each RHI episode, a column of the completed RHI that addresses it."""
        if column in self._rhi_episode_rhis.columns:
            return self._rhi_episode_rhis[column]
        links = self.main.links.merge(self.ds.rhis[["rhi_id", column]], on="rhi_id")
        return links.drop_duplicates("episode_id").set_index("episode_id")[column]

    def any_rhi(self, mask_of_rhis: pd.Series) -> tuple[int, int]:
        """Children with the attribute at any in-scope RHI, over RHI children."""
        rhis = self.main.rhis
        with_it = rhis.loc[mask_of_rhis.reindex(rhis.index).fillna(False).astype(bool), "child_id"].nunique()
        return with_it, len(self.main.children)


def _share(frame: pd.DataFrame, mask) -> tuple[int, int]:
    return int(pd.Series(mask).sum()), len(frame)


def _catalogue() -> list[Figure]:
    F = Figure
    figs: list[Figure] = []

    # Population flow and police risk.
    figs.append(F("no_risk_code_share", "episodes", "notified_episodes", "notified episodes with no police risk code",
                  lambda c: _share(c.main.notified, c.main.notified["police_risk"].isna())))
    for level in ("high", "medium", "low"):
        figs.append(F(f"{level}_share_of_coded", "episodes", "risk_coded_episodes",
                      f"risk-coded episodes graded {level}",
                      lambda c, level=level: _share(c.main.risk_coded, c.main.risk_coded["police_risk"] == level)))
    figs.append(F("medium_low_share_of_coded", "episodes", "risk_coded_episodes",
                  "risk-coded episodes in scope (default: medium or low)",
                  lambda c: (len(c.main.in_scope), len(c.main.risk_coded))))

    # Profile of in-scope episodes (Appendix A).
    def band(c, bands):
        p = c.main.in_scope_profile
        return _share(p, p["age_band"].isin(bands))

    figs.append(F("aged_14_16", "episodes", "medium_low_episodes", "in-scope episodes of children aged 14-16",
                  lambda c: band(c, ["14-16"])))
    figs.append(F("aged_10_or_under", "episodes", "medium_low_episodes", "in-scope episodes of children aged 10 or under",
                  lambda c: band(c, ["10 or under"])))
    figs.append(F("girls", "episodes", "medium_low_episodes", "in-scope episodes of girls",
                  lambda c: _share(c.main.in_scope_profile, c.main.in_scope_profile["sex"] == "female")))

    def sex_among(c, sex, bands):
        p = c.main.in_scope_profile
        sub = p[p["age_band"].isin(bands)]
        return _share(sub, sub["sex"] == sex)

    figs.append(F("girls_among_aged_14_17", "episodes", "medium_low_episodes_aged_14_17",
                  "share of in-scope episodes of 14-17 year olds that were of girls",
                  lambda c: sex_among(c, "female", ["14-16", "17"])))
    figs.append(F("boys_among_aged_13_or_under", "episodes", "medium_low_episodes_aged_13_or_under",
                  "share of in-scope episodes of children aged 13 or under that were of boys",
                  lambda c: sex_among(c, "male", ["10 or under", "11-13"])))
    figs.append(F("repeat_episodes", "episodes", "medium_low_episodes",
                  "in-scope episodes that were not the child's first notified episode in the period (same LA)",
                  lambda c: _share(c.main.in_scope_profile, c.main.in_scope_profile["repeat"])))

    def heavy(c):
        per = c.in_scope_per_child
        return int(per[per >= 15].sum()), int(per.sum())

    figs.append(F("episodes_of_children_with_15_plus", "episodes", "medium_low_episodes",
                  "in-scope episodes of children with 15 or more in-scope episodes", heavy, "count"))
    figs.append(F("children_with_15_plus_episodes", "children", "medium_low_episodes",
                  "children with 15 or more in-scope episodes",
                  lambda c: (int((c.in_scope_per_child >= 15).sum()), len(c.in_scope_per_child)), "count"))
    figs.append(F("max_episodes_one_child", "episodes", "medium_low_episodes",
                  "most in-scope episodes of any one child",
                  lambda c: (int(c.in_scope_per_child.max()) if len(c.in_scope_per_child) else 0,
                             int(c.in_scope_per_child.sum())), "count"))

    # All missing children and incidents (every risk level).
    def children_status(c, status):
        pc = c.notified_children
        return _share(pc, pc["status"] == status)

    def two_plus(c, statuses):
        pc = c.notified_children
        sub = pc[pc["status"].isin(statuses)]
        return _share(sub, sub["episodes"] >= 2)

    figs += [
        F("children_missing_from_care", "children", "all_missing_children",
          "children with a notified episode who were looked after", lambda c: children_status(c, "looked_after")),
        F("lac_missing_2_plus", "children", "all_missing_children_looked_after",
          "looked-after missing children with two or more notified episodes", lambda c: two_plus(c, ["looked_after"])),
        F("other_missing_2_plus", "children", "all_missing_children_not_looked_after",
          "other missing children with two or more notified episodes",
          lambda c: two_plus(c, ["open_to_services", "not_known"])),
        F("lac_share_of_incidents", "episodes", "all_missing_episodes",
          "notified episodes of looked-after children",
          lambda c: _share(c.main.notified, c.notified_cohort == "looked_after")),
        F("not_known_share_of_children", "children", "all_missing_children",
          "missing children not known to services", lambda c: children_status(c, "not_known")),
        F("not_known_share_of_incidents", "episodes", "all_missing_episodes",
          "notified episodes of children not known to services",
          lambda c: _share(c.main.notified, c.notified_cohort == "not_known")),
        F("not_known_missing_2_plus", "children", "all_missing_children_not_known",
          "missing children not known to services with two or more notified episodes",
          lambda c: two_plus(c, ["not_known"])),
    ]

    # RHI sample profile.
    figs.append(F("children_more_than_one_rhi", "children", "rhi_children", "RHI children with two or more in-scope RHIs",
                  lambda c: (int((c.main.rhi_counts >= 2).sum()), len(c.main.children))))
    for cohort in vocab.COHORTS:
        figs.append(F(f"cohort_{cohort}", "children", "rhi_children", f"RHI children in the cohort {vocab.COHORT_LABELS[cohort]}",
                      lambda c, cohort=cohort: (c.main.cohort_size(cohort), len(c.main.children))))

    # Disclosures: every indicator, overall and by cohort.
    for indicator in vocab.INDICATORS + tuple(vocab.DERIVED_INDICATORS):
        figs.append(F(indicator, "children", "rhi_children", f"RHI children with {indicator} recorded",
                      lambda c, i=indicator: c.main.prevalence(i)))
        for cohort, prefix in COHORT_PREFIX.items():
            figs.append(F(f"{prefix}_{indicator}", "children", f"rhi_children_{cohort}",
                          f"{vocab.COHORT_LABELS[cohort]}: children with {indicator} recorded",
                          lambda c, i=indicator, k=cohort: c.main.prevalence(i, k)))

    def cse_among_cce(c):
        m = c.main.child_indicators
        cce = m[m["cce_victim"]]
        return int(cce["cse_victim"].sum()), len(cce)

    figs.append(F("cse_among_cce_victims", "children", "rhi_children_cce_victims",
                  "CCE victims who were also CSE victims", cse_among_cce))

    # Outcomes (child level, at any in-scope RHI).
    r = lambda c: c.main.rhis  # noqa: E731
    figs += [
        F("signposted_helpline", "children", "rhi_children", "RHI children signposted to the helpline",
          lambda c: c.any_rhi(r(c)["helpline_signposted"] == True)),  # noqa: E712 (nullable boolean)
        F("one_to_one_offered_or_provided", "children", "rhi_children", "RHI children offered or given 1-to-1 support",
          lambda c: c.any_rhi(r(c)["follow_up"] == "one_to_one")),
        F("single_follow_up_agreed", "children", "rhi_children", "RHI children who agreed a single follow-up contact",
          lambda c: c.any_rhi(r(c)["follow_up"] == "single_contact")),
        F("shared_wider_than_police_cs", "children", "rhi_children",
          "RHI children whose information was shared beyond police and children's services",
          lambda c: c.any_rhi(r(c)["shared_wider"] == True)),  # noqa: E712
    ]

    # Episode-level consent and confidentiality.
    def consent(c, test):
        consent_ = c.rhi_episode_attribute("consent_to_share")
        override = c.rhi_episode_attribute("confidentiality_overridden").fillna(False).astype(bool)
        eps = c.main.rhi_episodes["episode_id"]
        return int(test(consent_.reindex(eps), override.reindex(eps).fillna(False)).sum()), len(eps)

    figs += [
        F("consent_all_shared", "episodes", "rhi_episodes_medium_low", "RHI episodes with consent to share all",
          lambda c: consent(c, lambda s, o: s == "all")),
        F("consent_none_shared", "episodes", "rhi_episodes_medium_low", "RHI episodes with consent to share nothing",
          lambda c: consent(c, lambda s, o: s == "none")),
        F("consent_partial_or_override", "episodes", "rhi_episodes_medium_low",
          "RHI episodes with partial consent or confidentiality overridden",
          lambda c: consent(c, lambda s, o: (s == "partial") | o)),
        F("confidentiality_breached", "episodes", "rhi_episodes_medium_low",
          "RHI episodes where confidentiality was overridden to safeguard",
          lambda c: consent(c, lambda s, o: o)),
    ]

    # Appendix B: high-risk comparison.
    def high_children_repeat(c):
        kids = c.high.in_scope["child_id"].unique()
        per = c.notified_children.reindex(kids)
        return int((per["episodes"] >= 2).sum()), len(kids)

    figs.append(F("high_children_missing_more_than_once", "children", "high_episodes",
                  "children with a high-risk episode who had two or more notified episodes", high_children_repeat))
    figs.append(F("high_episodes_girls", "episodes", "high_episodes", "high-risk episodes of girls",
                  lambda c: _share(c.high.in_scope_profile, c.high.in_scope_profile["sex"] == "female")))
    for cohort in vocab.COHORTS:
        figs.append(F(f"high_episodes_{cohort}", "episodes", "high_episodes",
                      f"high-risk episodes: {vocab.COHORT_LABELS[cohort]}",
                      lambda c, k=cohort: _share(c.high.in_scope, c.high.in_scope["legal_status"].map(
                          vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known") == k)))
    for indicator in vocab.INDICATORS + tuple(vocab.DERIVED_INDICATORS):
        figs.append(F(f"high_rhi_{indicator}", "children", "rhi_children_high",
                      f"children with an RHI for a high-risk episode with {indicator} recorded",
                      lambda c, i=indicator: c.high.prevalence(i)))
    return figs


FIGURES: dict[str, Figure] = {f.id: f for f in _catalogue()}


def population_sizes(ctx: FigureContext) -> dict[str, dict]:
    """Sizes of the named populations (episodes, and children where they apply)."""
    m, h = ctx.main, ctx.high
    notified = m.notified
    linked_any = notified["episode_id"].isin(ctx.ds.rhi_episodes.loc[
        ctx.ds.rhi_episodes["set_aside"].isna() & ctx.ds.rhi_episodes["rhi_id"].isin(
            ctx.ds.rhis.loc[ctx.ds.rhis["status"] == "completed", "rhi_id"]), "episode_id"])
    sizes = {
        "notified_episodes": {"unit": "episodes", "n": len(notified), "children": notified["child_id"].nunique()},
        "risk_coded_episodes": {"unit": "episodes", "n": len(m.risk_coded)},
        "medium_low_episodes": {"unit": "episodes", "n": len(m.in_scope), "children": m.in_scope["child_id"].nunique()},
        "high_episodes": {"unit": "episodes", "n": len(h.in_scope), "children": h.in_scope["child_id"].nunique()},
        "rhi_episodes_all": {"unit": "episodes", "n": int(linked_any.sum())},
        "rhi_episodes_medium_low": {"unit": "episodes", "n": len(m.rhi_episodes)},
        "rhi_children": {"unit": "children", "n": len(m.children)},
        "rhi_children_high": {"unit": "children", "n": len(h.children)},
        "in_scope_rhis": {"unit": "RHIs", "n": len(m.rhis)},
    }
    for cohort in vocab.COHORTS:
        sizes[f"rhi_children_{cohort}"] = {"unit": "children", "n": m.cohort_size(cohort)}
    return sizes


def compute_figures(ds: Dataset, params: Params | None = None, ids=None,
                    control: Disclosure | None = None, context: FigureContext | None = None) -> dict:
    """Every figure (or those in ``ids``) as count, denominator, % and Wilson interval.

    Returns {"params", "disclosure_control", "populations", "figures"}; with
    ``control`` suppressing small counts (default: suppression on, min_cell 5).
    ``context``: populations already computed for the same dataset and parameters.
    """
    params = params or Params()
    control = control or Disclosure()
    ctx = context if context is not None else FigureContext(ds, params)
    results = {}
    for fid, fig in FIGURES.items():
        if ids is not None and fid not in ids:
            continue
        count, denominator = fig.compute(ctx)
        record = {"unit": fig.unit, "population": fig.population, "label": fig.label, "kind": fig.kind}
        if fig.kind == "count":
            record.update({"count": int(count), "denominator": int(denominator), "pct": None,
                           "ci_low": None, "ci_high": None})
        else:
            record.update({k: v for k, v in proportion(count, denominator).as_dict().items() if k != "method"})
        results[fid] = suppress_figure(record, control)
    populations = population_sizes(ctx)
    if control.suppress:
        for pop in populations.values():
            for key in ("n", "children"):
                if control.is_small(pop.get(key)):
                    pop[key] = "c"
    return {
        "params": {
            "period_start": None if params.period_start is None else f"{params.period_start:%Y-%m-%d}",
            "period_end": None if params.period_end is None else f"{params.period_end:%Y-%m-%d}",
            "risk_levels": list(params.risk_levels), "la_code": params.la_code,
        },
        "interval": "Wilson score interval, 95%",
        "disclosure_control": {"suppressed": control.suppress, "min_cell": control.min_cell,
                               "statement": control.statement},
        "populations": populations,
        "figures": results,
    }
