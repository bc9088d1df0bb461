"""Reporting years: the span of a dataset cut into whole years, each flagged complete or partial.

The default is the DfE reporting year, 1 April to 31 March, labelled as DfE
labels it (``2017-18``); a user may choose another first month (1 = calendar
years, labelled ``2017``). A year is analysed with the contract's definitions
applied within it (``period_start``/``period_end`` = the year), so repeat
episodes, RHI children and cohorts are per year.

Whether a year is complete is judged from the records alone (a dataset does not
say what period its extract covers):

- the first year is partial when the first ``missing_start`` in the data is more
  than ``grace_days`` (default 31) after the year's first day, and the last year
  when the last ``missing_start`` is more than ``grace_days`` before its last day;
- the last year is also partial when the dataset's metadata gives an
  ``extracted_on`` before the year's last day (the extract was made mid-year).

A partial year is shown with its flag and reason, and is left out of the
comparisons unless the user asks for it (then every output says so).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from analysis.definitions.populations import Params, usable_episodes

DFE_START_MONTH = 4
GRACE_DAYS = 31


class TrendsError(ValueError):
    """Nothing to analyse year by year (the message says why and where)."""


@dataclass(frozen=True)
class ReportingYear:
    label: str
    start: pd.Timestamp          # first day
    end: pd.Timestamp            # last day (inclusive)
    first_record: pd.Timestamp | None   # first missing_start of the data in this year
    last_record: pd.Timestamp | None
    partial: bool
    note: str                    # why partial ("" when complete)

    def params(self, params: Params) -> Params:
        """The analysis parameters restricted to this year (and to the period of ``params``, if it has one)."""
        from dataclasses import replace

        start = self.start if params.period_start is None else max(self.start, params.period_start)
        end = self.end if params.period_end is None else min(self.end, params.period_end)
        return replace(params, period_start=start, period_end=end)

    def as_dict(self) -> dict:
        out = asdict(self)
        for key in ("start", "end", "first_record", "last_record"):
            out[key] = None if out[key] is None else f"{out[key]:%Y-%m-%d}"
        return out


def check_start_month(month) -> int:
    try:
        value = int(month)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= 12:
        raise TrendsError(f"--year-start-month {month!r}: expected a month number from 1 to 12 "
                          "(4 = the DfE year, 1 April to 31 March; 1 = calendar years)")
    return value


def year_of(day: pd.Timestamp, start_month: int = DFE_START_MONTH) -> int:
    """The calendar year in which the reporting year holding ``day`` starts."""
    return day.year if day.month >= start_month else day.year - 1


def year_label(first_year: int, start_month: int = DFE_START_MONTH) -> str:
    if start_month == 1:
        return str(first_year)
    return f"{first_year}-{(first_year + 1) % 100:02d}"


def year_bounds(first_year: int, start_month: int = DFE_START_MONTH) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(year=first_year, month=start_month, day=1)
    return start, start + pd.DateOffset(years=1) - pd.Timedelta(days=1)


def reporting_years(ds, params: Params | None = None, start_month: int = DFE_START_MONTH,
                    grace_days: int = GRACE_DAYS, extracted_on=None) -> list[ReportingYear]:
    """Every reporting year from the first to the last ``missing_start`` (of the authority, if one is chosen).

    ``params.period_start``/``period_end``, when given, limit the span first.
    ``extracted_on``: the day the extract was made, if known (a date); a last
    year ending after it is partial. Raises :class:`TrendsError` when no episode
    has a missing_start in the span.
    """
    params = params or Params()
    start_month = check_start_month(start_month)
    eps = usable_episodes(ds)
    if params.la_code:
        eps = eps[eps["la_code"] == params.la_code]
    starts = eps["missing_start"].dropna()
    if params.period_start is not None:
        starts = starts[starts >= params.period_start]
    if params.period_end is not None:
        starts = starts[starts < params.period_end + pd.Timedelta(days=1)]
    where = ds.path or "the dataset"
    if params.la_code:
        where += f", local authority {params.la_code}"
    if starts.empty:
        raise TrendsError(f"{where}: no episode (not set aside by validation) has a missing_start in the period, "
                          "so there is no reporting year to analyse")
    first, last = starts.min().normalize(), starts.max().normalize()
    grace = pd.Timedelta(days=int(grace_days))
    out = []
    for y in range(year_of(first, start_month), year_of(last, start_month) + 1):
        start, end = year_bounds(y, start_month)
        inside = starts[(starts >= start) & (starts < end + pd.Timedelta(days=1))]
        notes = []
        if params.period_start is not None and params.period_start > start:
            notes.append(f"the period asked for starts on {params.period_start:%Y-%m-%d}")
        if params.period_end is not None and params.period_end < end:
            notes.append(f"the period asked for ends on {params.period_end:%Y-%m-%d}")
        if y == year_of(first, start_month) and first - start > grace:
            notes.append(f"the data start on {first:%Y-%m-%d}, {(first - start).days} days after the year began")
        if y == year_of(last, start_month) and end - last > grace:
            notes.append(f"the data end on {last:%Y-%m-%d}, {(end - last).days} days before the year ended")
        if inside.empty:
            notes.append("no episode has a missing_start in this year (a gap in the extract?)")
        if extracted_on is not None and pd.Timestamp(extracted_on) < end:
            notes.append(f"the extract was made on {pd.Timestamp(extracted_on):%Y-%m-%d}, before the year ended")
        out.append(ReportingYear(
            label=year_label(y, start_month), start=start, end=end,
            first_record=None if inside.empty else inside.min().normalize(),
            last_record=None if inside.empty else inside.max().normalize(),
            partial=bool(notes), note="; ".join(notes)))
    return out


def describe_convention(start_month: int) -> str:
    if start_month == DFE_START_MONTH:
        return "DfE reporting year: 1 April to 31 March"
    if start_month == 1:
        return "calendar year: 1 January to 31 December"
    first = pd.Timestamp(year=2001, month=start_month, day=1)
    last = first - pd.Timedelta(days=1)
    return f"reporting year: 1 {first:%B} to {last.day} {last:%B}"
