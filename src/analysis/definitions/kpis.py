"""Delivery indicators of the self-assessment toolkit: are return home interviews offered, taken up and on time?

Definitions (docs/delivery-indicators.md), over the **notified episodes** of
the period and authority, whatever their police risk (delivery concerns every
missing episode, not only those the study analysed):

- an episode is *offered* an RHI if any RHI linked to it has ``offered_at``;
  *accepted* if one is completed or accepted but not completed; *completed* if
  one is completed; *declined* if one was declined. A declined offer followed
  by a completed interview counts as completed (and as declined). Links set
  aside by validation (an RHI completed before the episode ended) are not used.
- per child: the child had at least one episode in that state.
- *setting* is ``missing_from`` (home, care placement in or out of the area,
  or "not recorded"); *cohort* is from the episode's legal status. Every
  setting and cohort is listed, with 0 where it has no episodes.
- *time to interview*, per completed RHI: hours to ``completed_at`` from the
  latest return (``missing_end``) at or before it among the episodes the RHI
  addresses, and from ``offered_at``; *within 72 hours* means at most 72, in
  elapsed hours (weekends count). An episode takes the times of its completed RHI.
- *repeat episode*: the child had an earlier notified episode in the same
  authority and period; *3 or more in 90 days*: a child with three of the
  group's episodes starting within 90 days (inclusive) of each other.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analysis import vocab
from analysis.disclosure import SUPPRESSED, Disclosure, suppress_figure
from analysis.definitions.populations import Params, notified_episodes, repeat_episode_flags
from analysis.stats.proportions import proportion
from analysis.dataset.validate import Dataset

SETTINGS = ("home", "care_in_area", "care_out_of_area", "not recorded")
SETTING_LABELS = {"home": "Home", "care_in_area": "Care placement in the area",
                  "care_out_of_area": "Care placement out of the area", "not recorded": "Not recorded"}
STATES = ("offered", "accepted", "completed", "declined")
CLOCKS = {"from_return": "from the child's return", "from_offer": "from the offer"}
HOURS_BINS = (0, 24, 48, 72, 120, 168, np.inf)
HOURS_LABELS = ("up to 24 h", "24-48 h", "48-72 h", "72 h-5 days", "5-7 days", "over 7 days")  # upper limits included
CLOCK_HOURS = 72
FIGURE = ["count", "denominator", "pct", "ci_low", "ci_high"]


# --- records: one row per RHI, one row per episode -----------------------------------------------

def _usable_links(ds: Dataset) -> pd.DataFrame:
    return ds.rhi_episodes.loc[ds.rhi_episodes["set_aside"].isna(), ["rhi_id", "episode_id"]]


def interview_times(ds: Dataset, params: Params) -> pd.DataFrame:
    """Completed RHIs addressing a notified episode, indexed by rhi_id: hours from the return and from the offer.

    The return is the latest ``missing_end`` at or before ``completed_at`` among
    all the episodes the RHI addresses (the interview covers the most recent
    absence; a return after the interview cannot start its clock). No return
    or no offer recorded: that clock is blank and the RHI is not timed on it.
    """
    eps = notified_episodes(ds, params)
    done = ds.rhis.loc[ds.rhis["status"] == "completed", ["rhi_id", "offered_at", "completed_at"]]
    links = _usable_links(ds).merge(done, on="rhi_id")
    links = links.merge(ds.episodes[["episode_id", "missing_end"]], on="episode_id")
    links = links[links["rhi_id"].isin(links.loc[links["episode_id"].isin(eps["episode_id"]), "rhi_id"])]
    links["returned"] = links["missing_end"].where(links["missing_end"] <= links["completed_at"])
    rhi = links.groupby("rhi_id").agg(returned=("returned", "max"), offered_at=("offered_at", "first"),
                                      completed_at=("completed_at", "first"))
    hours = lambda start: (rhi["completed_at"] - start).dt.total_seconds() / 3600  # noqa: E731
    return pd.DataFrame({"from_return": hours(rhi["returned"]), "from_offer": hours(rhi["offered_at"])})


def episode_states(ds: Dataset, params: Params, times: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per notified episode: setting, cohort, month, states of its RHIs, repeat, and hours to its interview."""
    eps = notified_episodes(ds, params)
    times = interview_times(ds, params) if times is None else times
    links = _usable_links(ds)
    rhis = links[links["episode_id"].isin(eps["episode_id"])].merge(
        ds.rhis[["rhi_id", "status", "offered_at"]], on="rhi_id")
    rhis = rhis.assign(offered=rhis["offered_at"].notna(),
                       accepted=rhis["status"].isin(["completed", "accepted_not_completed"]),
                       completed=rhis["status"] == "completed", declined=rhis["status"] == "declined")
    per_episode = rhis.groupby("episode_id")[list(STATES)].any()
    completed_rhi = rhis[rhis["completed"]].drop_duplicates("episode_id").set_index("episode_id")["rhi_id"]
    out = eps[["episode_id", "child_id", "la_code", "missing_start", "missing_end", "found_location"]].copy()
    out["setting"] = eps["missing_from"].fillna("not recorded")
    out["cohort"] = eps["legal_status"].map(vocab.COHORT_OF_LEGAL_STATUS).fillna("not_known")
    out["month"] = eps["missing_start"].dt.strftime("%Y-%m")
    for state in STATES:
        out[state] = out["episode_id"].map(per_episode[state]).fillna(False).astype(bool)
    out["repeat"] = repeat_episode_flags(ds, eps, eps)
    for clock in CLOCKS:
        out[clock] = out["episode_id"].map(completed_rhi).map(times[clock]).astype(float)
    return out


# --- disclosure control ---------------------------------------------------------------------------

def _figure(count, denominator, control: Disclosure) -> dict:
    """Count, denominator, % and Wilson interval, suppressed if built on a small number."""
    record = {k: v for k, v in proportion(int(count), int(denominator)).as_dict().items() if k != "method"}
    return {k: v for k, v in suppress_figure(record, control).items() if k != "suppressed"}


def second_cells(table: pd.DataFrame, control: Disclosure, column: str = "count",
                 hide=("count", "pct", "ci_low", "ci_high"), by=None) -> pd.DataFrame:
    """Secondary suppression for rows that add up to a shown total (places, reasons, months, settings).

    Where exactly one ``column`` value of a group (all rows, or each ``by``
    group) is 'c', it could be recovered by subtraction, so the smallest other
    non-zero value is hidden too, with the ``hide`` columns of its row.
    """
    out = table.astype(object).copy()
    if not control.suppress or out.empty:
        return out
    groups = [out.index] if by is None else [g.index for _, g in out.groupby(by, sort=False)]
    for index in groups:
        values = out.loc[index, column]
        hidden = values.astype(str) == SUPPRESSED
        shown = pd.to_numeric(values[~hidden], errors="coerce")
        shown = shown[shown > 0]
        if hidden.sum() == 1 and len(shown):
            out.loc[shown.idxmin(), [c for c in hide if c in out.columns]] = SUPPRESSED
    return out


# --- the scorecard --------------------------------------------------------------------------------

def children_with_cluster(states: pd.DataFrame, episodes: int = 3, days: int = 90) -> int:
    """Children with ``episodes`` episodes starting within ``days`` days (inclusive) of each other."""
    ordered = states.sort_values(["child_id", "missing_start"])
    later = ordered.groupby("child_id")["missing_start"].shift(-(episodes - 1))
    close = (later - ordered["missing_start"]) <= pd.Timedelta(days=days)
    return int(ordered.loc[close, "child_id"].nunique())


def _rows(states: pd.DataFrame, group: str, value: str, control: Disclosure) -> list[dict]:
    """Every indicator of one group of episodes, as count / denominator / % / CI rows."""
    children = states.groupby("child_id")[list(STATES)].any()
    n_eps, n_children = len(states), len(children)
    shown = lambda n: SUPPRESSED if control.is_small(n) else n  # noqa: E731
    rows = [("children missing", {"count": shown(n_children)}), ("episodes", {"count": shown(n_eps)})]
    for state in STATES:
        rows.append((f"episodes with an RHI {state}", _figure(states[state].sum(), n_eps, control)))
        rows.append((f"children with an RHI {state}", _figure(children[state].sum(), n_children, control)))
    offered = states[states["offered"]]
    rows.append(("offered episodes declined", _figure(offered["declined"].sum(), len(offered), control)))
    for clock, label in CLOCKS.items():
        timed = states.loc[states["completed"], clock].dropna()
        rows.append((f"completed episodes, interview within {CLOCK_HOURS} h {label}",
                     _figure((timed <= CLOCK_HOURS).sum(), len(timed), control)))
    rows.append(("repeat episodes", _figure(states["repeat"].sum(), n_eps, control)))
    rows.append(("children with 3 or more episodes in 90 days",
                 _figure(children_with_cluster(states), n_children, control)))
    return [{"group": group, "value": value, "measure": measure, **figure} for measure, figure in rows]


def scorecard(ds: Dataset, params: Params, control: Disclosure | None = None,
              states: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indicators overall, by setting and by cohort: group, value, measure, count, denominator, pct, CI.

    Settings (and cohorts) add up to the overall row, so where one of them is
    suppressed a second is too (``second_cells``), on counts and denominators.
    """
    control = control or Disclosure()
    states = episode_states(ds, params) if states is None else states
    rows = _rows(states, "all", "all", control)
    for setting in SETTINGS:
        rows += _rows(states[states["setting"] == setting], "setting", setting, control)
    for cohort in vocab.COHORTS:
        rows += _rows(states[states["cohort"] == cohort], "cohort", cohort, control)
    table = pd.DataFrame(rows).reindex(columns=["group", "value", "measure"] + FIGURE)
    parts = table[table["group"] != "all"]
    parts = second_cells(parts, control, "denominator", hide=FIGURE, by=["group", "measure"])
    parts = second_cells(parts, control, "count", by=["group", "measure"])
    return pd.concat([table[table["group"] == "all"].astype(object), parts])


# --- distributions and lists ----------------------------------------------------------------------

def timeliness(times: pd.DataFrame, control: Disclosure | None = None) -> pd.DataFrame:
    """For each clock (from return, from offer): RHIs timed, median and quartiles, and the share within 72 hours."""
    control = control or Disclosure()
    rows = []
    for clock, label in CLOCKS.items():
        hours = times[clock].dropna()
        q = hours.quantile([0.25, 0.5, 0.75]) if len(hours) else pd.Series(np.nan, index=[0.25, 0.5, 0.75])
        show = not control.is_small(len(hours))
        rows.append({"clock": label, "rhis_timed": len(hours) if show else SUPPRESSED,
                     "median_hours": round(q[0.5], 1) if show else SUPPRESSED,
                     "quartiles_hours": f"{q[0.25]:.1f} to {q[0.75]:.1f}" if show and len(hours) else "",
                     **{f"within_{CLOCK_HOURS}h_{k}": v for k, v in
                        _figure((hours <= CLOCK_HOURS).sum(), len(hours), control).items()}})
    return pd.DataFrame(rows)


def time_distribution(times: pd.DataFrame, control: Disclosure | None = None) -> pd.DataFrame:
    """Completed RHIs by hours to the interview, in bands that include their upper limit, one column per clock."""
    control = control or Disclosure()
    table = pd.DataFrame({"hours": HOURS_LABELS})
    for clock in CLOCKS:
        bands = pd.cut(times[clock].dropna(), HOURS_BINS, labels=HOURS_LABELS, right=True, include_lowest=True)
        counts = bands.value_counts().reindex(HOURS_LABELS, fill_value=0).to_numpy()
        column = pd.DataFrame({"count": [SUPPRESSED if control.is_small(v) else int(v) for v in counts]})
        table[clock] = second_cells(column, control)["count"].to_numpy()
    return table


def _rhis_by(ds: Dataset, params: Params, status: str, column: str, order: list[str],
             control: Disclosure) -> pd.DataFrame:
    """RHIs of one status addressing a notified episode, by the values of one column (all listed, 0 where none)."""
    eps = notified_episodes(ds, params)
    links = _usable_links(ds)
    rhis = ds.rhis[ds.rhis["rhi_id"].isin(links.loc[links["episode_id"].isin(eps["episode_id"]), "rhi_id"])
                   & (ds.rhis["status"] == status)]
    counts = rhis[column].fillna("not recorded").value_counts().reindex(order + ["not recorded"], fill_value=0)
    table = pd.DataFrame([{column: value, **_figure(n, len(rhis), control)} for value, n in counts.items()])
    return second_cells(table, control)


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
    """Episodes by where the child was found: the ``top`` places (case and spacing ignored) that are not small;
    every other place is grouped as 'other places', so a rare place never appears."""
    control = control or Disclosure()
    places = states["found_location"].fillna("not recorded").str.strip().str.lower()
    counts = places.value_counts()
    recorded = counts.drop("not recorded", errors="ignore")
    keep = recorded[~recorded.map(control.is_small)].head(top)
    rows = [(place, int(n)) for place, n in keep.items()] + [
        ("other places", int(recorded.drop(keep.index).sum())), ("not recorded", int(counts.get("not recorded", 0)))]
    table = pd.DataFrame([{"found_location": p, **_figure(n, len(states), control)} for p, n in rows])
    return second_cells(table, control)


def monthly(states: pd.DataFrame, control: Disclosure | None = None) -> pd.DataFrame:
    """Month by month (of missing_start): episodes, % with an RHI offered and completed, and % of completed
    episodes interviewed within 72 hours of the return. Months add up, so a lone 'c' gets a second one."""
    control = control or Disclosure()
    rows = []
    for month, group in states.groupby("month"):
        timed = group.loc[group["completed"], "from_return"].dropna()
        row = {"month": month, "episodes": SUPPRESSED if control.is_small(len(group)) else len(group)}
        for name, fig in (("offered", _figure(group["offered"].sum(), len(group), control)),
                          ("completed", _figure(group["completed"].sum(), len(group), control)),
                          (f"within_{CLOCK_HOURS}h", _figure((timed <= CLOCK_HOURS).sum(), len(timed), control))):
            row[f"{name}_count"], row[f"{name}_pct"] = fig["count"], fig["pct"]
        rows.append(row)
    table = pd.DataFrame(rows, columns=["month", "episodes", "offered_count", "offered_pct", "completed_count",
                                        "completed_pct", f"within_{CLOCK_HOURS}h_count", f"within_{CLOCK_HOURS}h_pct"])
    table = second_cells(table, control, "episodes", hide=list(table.columns[1:]))
    for name in ("offered", "completed", f"within_{CLOCK_HOURS}h"):
        table = second_cells(table, control, f"{name}_count", hide=(f"{name}_count", f"{name}_pct"))
    return table


# --- everything for one authority, and the command ------------------------------------------------

def all_kpis(ds: Dataset, params: Params, control: Disclosure | None = None) -> dict[str, pd.DataFrame]:
    """Every delivery table for one authority (or all), disclosure control applied."""
    control = control or Disclosure()
    times = interview_times(ds, params)
    states = episode_states(ds, params, times)
    return {"scorecard": scorecard(ds, params, control, states), "timeliness": timeliness(times, control),
            "time_to_interview": time_distribution(times, control),
            "decline_reasons": decline_reasons(ds, params, control), "follow_up": follow_up(ds, params, control),
            "found_locations": found_locations(states, control), "monthly": monthly(states, control)}


def scope_text(params: Params) -> str:
    """What was analysed, in words: the period and authority; every police risk grade (risk_levels is not used)."""
    day = lambda ts, none: none if ts is None else f"{ts:%Y-%m-%d}"  # noqa: E731
    return (f"period {day(params.period_start, 'start of data')} to {day(params.period_end, 'end of data')}; "
            f"local authority: {params.la_code or 'all'}; every police risk grade")


def printable(table: pd.DataFrame) -> pd.DataFrame:
    """Text for a terminal: percentages, intervals and hours to one decimal, whole numbers as such, blanks empty."""
    def cell(column, value):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, (float, np.floating)):
            decimal = any(k in column for k in ("pct", "ci_", "hours"))
            return f"{value:.1f}" if decimal or not float(value).is_integer() else f"{int(value)}"
        return str(value)
    return pd.DataFrame({c: [cell(c, v) for v in table[c]] for c in table.columns})


def kpis_command(ds: Dataset, params: Params, as_json: bool = False, suppress: bool = True, min_cell: int = 5) -> None:
    """Print every delivery table for each authority (or the one asked for) and all together, or JSON."""
    import typer

    control = Disclosure(suppress, min_cell)
    las = [params.la_code] if params.la_code else ds.la_codes + [None]
    out = {la or "all": all_kpis(ds, Params(params.period_start, params.period_end, params.risk_levels, la), control)
           for la in las}
    if as_json:
        typer.echo(json.dumps({"disclosure_control": control.statement,
                               "authorities": {la: {k: t.astype(object).where(t.notna(), None).to_dict(orient="records")
                                                    for k, t in tables.items()} for la, tables in out.items()}},
                              indent=2, default=str))
        return
    typer.echo(control.statement)
    for la, tables in out.items():
        scope = Params(params.period_start, params.period_end, params.risk_levels, None if la == "all" else la)
        typer.echo(f"\n=== {la if la != 'all' else 'all authorities'} ({scope_text(scope)}) ===")
        for name, table in tables.items():
            typer.echo(f"\n-- {name.replace('_', ' ')} --")
            typer.echo(printable(table).to_string(index=False))
    typer.echo("\n" + control.statement)
