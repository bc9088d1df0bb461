"""Delivery indicators of the self-assessment toolkit: are return home interviews offered, taken up and on time?

Definitions (docs/delivery-indicators.md), over the **notified episodes** of
the period and authority, whatever their police risk (delivery concerns every
missing episode, not only those the study analysed):

- an episode is *offered* an RHI if any RHI linked to it has ``offered_at``;
  *accepted* if one is completed or accepted but not completed; *completed* if
  one is completed; *declined* if one was declined. A declined offer followed
  by a completed interview counts as completed (and as declined).
- per child: the child had at least one episode in that state.
- *setting* is ``missing_from`` (home, care placement in or out of the area,
  or "not recorded"); *cohort* is from the episode's legal status. Every
  setting and cohort is listed, with 0 where it has no episodes.
- *time to interview*: for each completed RHI, hours from the latest return
  (``missing_end``) among the episodes it addresses to ``completed_at``, and
  from ``offered_at`` to ``completed_at``; within 72 hours means at most 72.
- *repeat episode*: the child had an earlier notified episode in the same
  authority and period; *3 or more in 90 days*: a child with three episodes
  starting within 90 days of each other.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from . import vocab
from .disclosure import SUPPRESSED, Disclosure, suppress_figure
from .populations import Params, notified_episodes, repeat_episode_flags
from .stats import proportion
from .validate import Dataset

SETTINGS = ("home", "care_in_area", "care_out_of_area", "not recorded")
SETTING_LABELS = {"home": "Home", "care_in_area": "Care placement in the area",
                  "care_out_of_area": "Care placement out of the area", "not recorded": "Not recorded"}
STATES = ("offered", "accepted", "completed", "declined")
HOURS_BINS = (0, 24, 48, 72, 120, 168, np.inf)
HOURS_LABELS = ("up to 24 h", "24-48 h", "48-72 h", "72 h-5 days", "5-7 days", "over 7 days")  # upper limits included
CLOCK_HOURS = 72


def episode_states(ds: Dataset, params: Params) -> pd.DataFrame:
    """One row per notified episode: setting, cohort, month, and whether an RHI was offered/accepted/completed/declined."""
    eps = notified_episodes(ds, params)
    links = ds.rhi_episodes[ds.rhi_episodes["episode_id"].isin(eps["episode_id"])]
    rhis = links.merge(ds.rhis[["rhi_id", "status", "offered_at"]], on="rhi_id")
    rhis = rhis.assign(offered=rhis["offered_at"].notna(),
                       accepted=rhis["status"].isin(["completed", "accepted_not_completed"]),
                       completed=rhis["status"] == "completed", declined=rhis["status"] == "declined")
    per_episode = rhis.groupby("episode_id")[list(STATES)].any()
    out = eps[["episode_id", "child_id", "la_code", "missing_start", "missing_end", "found_location"]].copy()
    out["setting"] = eps["missing_from"].fillna("not recorded")
    out["cohort"] = eps["legal_status"].map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known")
    out["month"] = eps["missing_start"].dt.strftime("%Y-%m")
    for state in STATES:
        out[state] = out["episode_id"].map(per_episode[state]).fillna(False).astype(bool)
    out["repeat"] = repeat_episode_flags(ds, eps, eps)
    return out


def _figure(count, denominator, control: Disclosure) -> dict:
    record = {k: v for k, v in proportion(int(count), int(denominator)).as_dict().items() if k != "method"}
    return suppress_figure(record, control)


def _rows(states: pd.DataFrame, group: str, value: str, control: Disclosure) -> list[dict]:
    """Every indicator of one group of episodes, as count / denominator / % / CI rows."""
    children = states.groupby("child_id")[list(STATES)].any()
    n_eps, n_children = len(states), len(children)
    rows = [{"group": group, "value": value, "measure": "children missing", "count": n_children},
            {"group": group, "value": value, "measure": "episodes", "count": n_eps}]
    for state in STATES:
        rows.append({"group": group, "value": value, "measure": f"episodes with an RHI {state}",
                     **_figure(states[state].sum(), n_eps, control)})
        rows.append({"group": group, "value": value, "measure": f"children with an RHI {state}",
                     **_figure(children[state].sum(), n_children, control)})
    offered = states[states["offered"]]
    rows.append({"group": group, "value": value, "measure": "offered episodes declined",
                 **_figure(offered["declined"].sum(), len(offered), control)})
    rows.append({"group": group, "value": value, "measure": "repeat episodes",
                 **_figure(states["repeat"].sum(), n_eps, control)})
    clustered = children_with_cluster(states)
    rows.append({"group": group, "value": value, "measure": "children with 3 or more episodes in 90 days",
                 **_figure(clustered, n_children, control)})
    for row in rows[:2]:
        if control.suppress and control.is_small(row["count"]):
            row["count"] = SUPPRESSED
    return rows


def children_with_cluster(states: pd.DataFrame, episodes: int = 3, days: int = 90) -> int:
    """Children with ``episodes`` episodes starting within ``days`` days (inclusive)."""
    ordered = states.sort_values(["child_id", "missing_start"])
    later = ordered.groupby("child_id")["missing_start"].shift(-(episodes - 1))
    close = (later - ordered["missing_start"]) <= pd.Timedelta(days=days)
    return int(ordered.loc[close, "child_id"].nunique())


def scorecard(ds: Dataset, params: Params, control: Disclosure | None = None) -> pd.DataFrame:
    """Indicators overall, by setting and by cohort: group, value, measure, count, denominator, pct, CI."""
    control = control or Disclosure()
    states = episode_states(ds, params)
    rows = _rows(states, "all", "all", control)
    for setting in SETTINGS:
        rows += _rows(states[states["setting"] == setting], "setting", setting, control)
    for cohort in vocab.COHORTS:
        rows += _rows(states[states["cohort"] == cohort], "cohort", cohort, control)
    table = pd.DataFrame(rows)
    return table.reindex(columns=["group", "value", "measure", "count", "denominator", "pct", "ci_low", "ci_high"])


def interview_times(ds: Dataset, params: Params) -> pd.DataFrame:
    """Completed RHIs addressing a notified episode: hours from the latest return, and from the offer."""
    eps = notified_episodes(ds, params)
    done = ds.rhis[ds.rhis["status"] == "completed"][["rhi_id", "offered_at", "completed_at"]]
    links = ds.rhi_episodes[ds.rhi_episodes["set_aside"].isna()].merge(done, on="rhi_id")
    links = links.merge(ds.episodes[["episode_id", "missing_end"]], on="episode_id")
    links = links[links["rhi_id"].isin(links.loc[links["episode_id"].isin(eps["episode_id"]), "rhi_id"])]
    back = links.groupby("rhi_id").agg(returned=("missing_end", "max"), offered_at=("offered_at", "first"),
                                       completed_at=("completed_at", "first"))
    hours = lambda start: (back["completed_at"] - start).dt.total_seconds() / 3600  # noqa: E731
    return pd.DataFrame({"hours_from_return": hours(back["returned"]), "hours_from_offer": hours(back["offered_at"])})


def timeliness(times: pd.DataFrame, control: Disclosure | None = None) -> pd.DataFrame:
    """For each clock (from return, from offer): RHIs timed, median and quartiles, and the share within 72 hours."""
    control = control or Disclosure()
    rows = []
    for clock, label in (("hours_from_return", "from the child's return"), ("hours_from_offer", "from the offer")):
        hours = times[clock].dropna()
        q = hours.quantile([0.25, 0.5, 0.75]) if len(hours) else pd.Series([np.nan] * 3, index=[0.25, 0.5, 0.75])
        show = not (control.suppress and control.is_small(len(hours)))
        rows.append({"clock": label, "rhis_timed": len(hours) if show else SUPPRESSED,
                     "median_hours": round(q[0.5], 1) if show else SUPPRESSED,
                     "quartiles_hours": f"{q[0.25]:.1f} to {q[0.75]:.1f}" if show and len(hours) else "",
                     **{f"within_{CLOCK_HOURS}h_{k}": v for k, v in
                        _figure((hours <= CLOCK_HOURS).sum(), len(hours), control).items()}})
    return pd.DataFrame(rows)


def time_distribution(times: pd.DataFrame, control: Disclosure | None = None) -> pd.DataFrame:
    """Completed RHIs by hours from return, in bands (for a histogram); small bands suppressed."""
    control = control or Disclosure()
    bands = pd.cut(times["hours_from_return"].dropna(), HOURS_BINS, labels=HOURS_LABELS, right=True, include_lowest=True)
    counts = bands.value_counts().reindex(HOURS_LABELS, fill_value=0)
    table = pd.DataFrame({"hours_from_return": HOURS_LABELS, "rhis": counts.to_numpy()})
    if control.suppress:
        table["rhis"] = [SUPPRESSED if control.is_small(v) else int(v) for v in table["rhis"]]
    return table


def _rhis_by(ds: Dataset, params: Params, status: str, column: str, order: list[str], control: Disclosure) -> pd.DataFrame:
    """RHIs of one status addressing a notified episode, by the values of one column (all listed, 0 where none)."""
    eps = notified_episodes(ds, params)
    ids = ds.rhi_episodes.loc[ds.rhi_episodes["episode_id"].isin(eps["episode_id"]), "rhi_id"]
    rhis = ds.rhis[ds.rhis["rhi_id"].isin(ids) & (ds.rhis["status"] == status)]
    counts = rhis[column].fillna("not recorded").value_counts().reindex(order + ["not recorded"], fill_value=0)
    return pd.DataFrame([{column: value, **_figure(n, len(rhis), control)} for value, n in counts.items()])


def decline_reasons(ds: Dataset, params: Params, control: Disclosure | None = None) -> pd.DataFrame:
    """Declined RHIs addressing a notified episode, by reason (blank = not recorded)."""
    order = list(dict.fromkeys(vocab.DECLINE_REASON.values()))
    return _rhis_by(ds, params, "declined", "decline_reason", order, control or Disclosure()).rename(
        columns={"decline_reason": "reason"})


def follow_up(ds: Dataset, params: Params, control: Disclosure | None = None) -> pd.DataFrame:
    """Completed RHIs addressing a notified episode, by follow-up given."""
    order = list(dict.fromkeys(vocab.FOLLOW_UP.values()))
    return _rhis_by(ds, params, "completed", "follow_up", order, control or Disclosure())


def found_locations(states: pd.DataFrame, control: Disclosure | None = None, top: int = 10) -> pd.DataFrame:
    """Where children were found: the most frequent places; places below the threshold grouped as 'other places'."""
    control = control or Disclosure()
    places = states["found_location"].fillna("not recorded").str.strip().str.lower()
    counts = places.value_counts()
    recorded = counts.drop("not recorded", errors="ignore")
    keep = recorded[~recorded.map(control.is_small)] if control.suppress else recorded
    keep = keep.head(top)
    other = int(recorded.drop(keep.index).sum())
    rows = [(place, int(n)) for place, n in keep.items()] + [("other places", other),
                                                            ("not recorded", int(counts.get("not recorded", 0)))]
    return pd.DataFrame([{"found_location": p, **_figure(n, len(states), control)} for p, n in rows])


def monthly(states: pd.DataFrame, times: pd.DataFrame | None = None, control: Disclosure | None = None) -> pd.DataFrame:
    """Month by month (of missing_start): episodes, and the share with an RHI offered and completed."""
    control = control or Disclosure()
    rows = []
    for month, group in states.groupby("month"):
        n = len(group)
        row = {"month": month, "episodes": SUPPRESSED if control.suppress and control.is_small(n) else n}
        for state in ("offered", "completed"):
            fig = _figure(group[state].sum(), n, control)
            row[f"{state}_count"], row[f"{state}_pct"] = fig["count"], fig["pct"]
        rows.append(row)
    return pd.DataFrame(rows)


def all_kpis(ds: Dataset, params: Params, control: Disclosure | None = None) -> dict[str, pd.DataFrame]:
    """Every delivery table for one authority (or all), disclosure control applied."""
    control = control or Disclosure()
    states = episode_states(ds, params)
    times = interview_times(ds, params)
    return {"scorecard": scorecard(ds, params, control), "timeliness": timeliness(times, control),
            "time_to_interview": time_distribution(times, control),
            "decline_reasons": decline_reasons(ds, params, control), "follow_up": follow_up(ds, params, control),
            "found_locations": found_locations(states, control), "monthly": monthly(states, times, control)}


def kpis_command(ds: Dataset, params: Params, as_json: bool = False, suppress: bool = True, min_cell: int = 5) -> None:
    import typer

    control = Disclosure(suppress, min_cell)
    las = [params.la_code] if params.la_code else ds.la_codes + [None]
    out = {}
    for la in las:
        scope = Params(params.period_start, params.period_end, params.risk_levels, la)
        out[la or "all"] = all_kpis(ds, scope, control)
    if as_json:
        typer.echo(json.dumps({"disclosure_control": control.statement,
                               "authorities": {la: {k: t.to_dict(orient="records") for k, t in tables.items()}
                                               for la, tables in out.items()}}, indent=2, default=str))
        return
    typer.echo(control.statement)
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.max_columns", 20):
        for la, tables in out.items():
            typer.echo(f"\n=== {la if la != 'all' else 'all authorities'} ===")
            for name, table in tables.items():
                typer.echo(f"\n-- {name.replace('_', ' ')} --")
                typer.echo(table.round(1).to_string(index=False, na_rep=""))
