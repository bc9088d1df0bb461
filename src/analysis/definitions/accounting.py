"""Row accounting: the flow of records from rows read to each analysis population.

CONSORT style: each stage has a count, and each exclusion between two stages
its count and reason, so that every row read is either in the next stage or
counted out of it. ``record_flow`` returns the flow as a tidy table; the same
table is printed by ``rhi validate`` and drawn at the top of every report.
"""

from __future__ import annotations

import pandas as pd

from analysis import vocab
from analysis.definitions.populations import Populations, in_period, usable_episodes

FLOW_COLUMNS = ["unit", "stage", "kind", "count", "reason"]


def record_flow(pop: Populations) -> pd.DataFrame:
    """The flow of records: rows of kind 'stage' (a population) or 'excluded' (between stages)."""
    ds, params = pop.ds, pop.params
    rows: list[tuple] = []

    def stage(unit, name, count):
        rows.append((unit, name, "stage", int(count), ""))

    def excluded(unit, name, count, reason):
        if count:
            rows.append((unit, name, "excluded", int(count), reason))

    eps = ds.episodes
    stage("episodes", "episode rows read", len(eps))
    for reason, n in eps["set_aside"].value_counts().sort_index().items():
        excluded("episodes", "set aside", n, reason)
    usable = usable_episodes(ds)
    outside = ~in_period(usable, params)
    excluded("episodes", "outside the period", outside.sum(), "missing_start outside " + _period(params))
    if params.la_code:
        other = ~outside & (usable["la_code"] != params.la_code)
        excluded("episodes", "another local authority", other.sum(), f"la_code is not {params.la_code}")
    stage("episodes", "notified episodes", len(pop.notified))
    excluded("episodes", "no risk code", pop.notified["police_risk"].isna().sum(), "police_risk blank")
    stage("episodes", "risk-coded episodes", len(pop.risk_coded))
    for level in vocab.RISK_ORDER:
        if level not in params.risk_levels:
            excluded("episodes", f"graded {level}", (pop.risk_coded["police_risk"] == level).sum(),
                     f"police risk {level} is not in scope")
    stage("episodes", "in-scope episodes", len(pop.in_scope))
    not_linked = pop.in_scope[~pop.in_scope["episode_id"].isin(pop.links["episode_id"])]
    links = ds.rhi_episodes[ds.rhi_episodes["episode_id"].isin(not_linked["episode_id"])]
    has_set_aside = set(links.loc[links["set_aside"].notna(), "episode_id"])
    any_link = set(links["episode_id"])
    n_none = (~not_linked["episode_id"].isin(any_link)).sum()
    n_early = not_linked["episode_id"].isin(has_set_aside).sum()
    excluded("episodes", "no RHI", n_none, "not linked to any RHI")
    excluded("episodes", "RHI not completed", len(not_linked) - n_none - n_early,
             "linked only to RHIs that were not completed")
    excluded("episodes", "RHI before return", n_early,
             "its RHI was completed before the episode ended (link set aside)")
    stage("episodes", "RHI episodes", len(pop.rhi_episodes))

    rhis = ds.rhis
    stage("RHIs", "RHI rows read", len(rhis))
    for status, n in rhis.loc[rhis["status"] != "completed", "status"].value_counts().sort_index().items():
        excluded("RHIs", f"status {status}", n, f"RHI {status.replace('_', ' ')}")
    completed = rhis[rhis["status"] == "completed"]
    stage("RHIs", "completed RHIs", len(completed))
    excluded("RHIs", "no in-scope episode", len(completed) - len(pop.rhis),
             "addresses no in-scope episode (other period, LA or risk level)")
    stage("RHIs", "in-scope RHIs", len(pop.rhis))

    stage("children", "child rows read", len(ds.children))
    excluded("children", "no in-scope RHI", len(ds.children) - len(pop.children),
             "no completed RHI addressing an in-scope episode")
    stage("children", "RHI children", len(pop.children))
    for cohort in vocab.COHORTS:
        rows.append(("children", f"cohort: {vocab.COHORT_LABELS[cohort]}", "cohort", pop.cohort_size(cohort), ""))
    multi = pop.child_cohorts["child_id"].duplicated(keep=False)
    rows.append(("children", "in more than one cohort", "cohort",
                 pop.child_cohorts.loc[multi, "child_id"].nunique(),
                 "legal status changed between RHIs: counted in each cohort"))

    disc = ds.disclosures
    stage("disclosures", "disclosure rows read", len(disc))
    for reason, n in disc["set_aside"].value_counts().sort_index().items():
        excluded("disclosures", "set aside", n, reason)
    kept = disc[disc["set_aside"].isna()]
    excluded("disclosures", "not at an in-scope RHI", (~kept["rhi_id"].isin(pop.rhis["rhi_id"])).sum(),
             "recorded at an RHI outside the populations")
    stage("disclosures", "disclosures at in-scope RHIs", kept["rhi_id"].isin(pop.rhis["rhi_id"]).sum())

    links_all = ds.rhi_episodes
    stage("links", "rhi_episodes rows read", len(links_all))
    for reason, n in links_all["set_aside"].value_counts().sort_index().items():
        excluded("links", "set aside", n, reason)
    stage("links", "links used", links_all["set_aside"].isna().sum())
    return pd.DataFrame(rows, columns=FLOW_COLUMNS)


def check_flow(flow: pd.DataFrame) -> list[str]:
    """Arithmetic check: each stage = previous stage - exclusions between them. Returns mismatches."""
    bad = []
    for unit, rows in flow.groupby("unit", sort=False):
        previous, removed = None, 0
        for row in rows.itertuples():
            if row.kind == "excluded":
                removed += row.count
            elif row.kind == "stage":
                if previous is not None and previous - removed != row.count:
                    bad.append(f"{unit}: {previous} - {removed} != {row.count} at {row.stage}")
                previous, removed = row.count, 0
    return bad


def format_flow(flow: pd.DataFrame) -> str:
    """The flow as indented text for the terminal."""
    lines = []
    for unit, rows in flow.groupby("unit", sort=False):
        lines.append(f"{unit}:")
        for row in rows.itertuples():
            if row.kind == "stage":
                lines.append(f"  {row.count:>9,}  {row.stage}")
            elif row.kind == "excluded":
                lines.append(f"  {-row.count:>+9,}  {row.stage}: {row.reason}")
            else:
                note = f" ({row.reason})" if row.reason else ""
                lines.append(f"  {row.count:>9,}    {row.stage}{note}")
    return "\n".join(lines)


def _period(params) -> str:
    start = f"{params.period_start:%Y-%m-%d}" if params.period_start is not None else "the start of the data"
    end = f"{params.period_end:%Y-%m-%d}" if params.period_end is not None else "the end of the data"
    return f"{start} to {end}"
