"""Validate a canonical dataset completely (contract, section 2) and type it.

``load_dataset(path)`` returns a :class:`Dataset` or raises
:class:`~analysis.errors.DatasetError` listing every problem found: nothing
is ever analysed from a dataset that failed. Hard problems are errors. Soft
problems (a child aged 18 or over at the start of an episode; an RHI
completed before an episode it addresses ended; a disclosure recorded twice)
set the row aside with a reason, and the row accounting shows it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import pandera.pandas as pa

from analysis import vocab
from analysis.errors import DatasetError, Problem, Problems
from analysis.dataset.io import extract_date, read_raw
from analysis.dataset.rawtable import RawTable
from analysis.dataset.schema import (ASCII_EXPECTED, COLUMNS, EARLIEST, IDS, first_non_ascii, parse_table,
                                     table_schema)

SET_ASIDE_ADULT = "child aged 18 or over at missing_start"
SET_ASIDE_EARLY_RHI = "RHI completed before the episode it addresses ended"
SET_ASIDE_DUPLICATE_DISCLOSURE = "indicator recorded twice at the same RHI"


@dataclass
class Dataset:
    """A validated dataset: typed tables, each with ``row`` (its row in the file).

    Rows set aside by soft checks stay in their table with a non-null
    ``set_aside`` reason; populations leave them out and the row accounting
    counts them.
    """

    children: pd.DataFrame
    episodes: pd.DataFrame
    rhis: pd.DataFrame
    rhi_episodes: pd.DataFrame
    disclosures: pd.DataFrame
    indicators: tuple[str, ...] = vocab.INDICATORS
    sources: dict[str, str] = field(default_factory=dict)
    path: str = ""
    whole: "Dataset | None" = field(default=None, repr=False, compare=False)
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def root(self) -> "Dataset":
        """The dataset this one was cut from (itself if it is whole): properties of an RHI are computed there."""
        return self.whole if self.whole is not None else self

    @property
    def la_codes(self) -> list[str]:
        return sorted(self.episodes["la_code"].dropna().unique())

    def subset_la(self, la_code: str) -> "Dataset":
        """The records of one local authority: its episodes, their children, RHIs and links."""
        episodes = self.episodes[self.episodes["la_code"] == la_code]
        links = self.rhi_episodes[self.rhi_episodes["episode_id"].isin(episodes["episode_id"])]
        rhis = self.rhis[self.rhis["rhi_id"].isin(links["rhi_id"])]
        return Dataset(
            children=self.children[self.children["child_id"].isin(episodes["child_id"])],
            episodes=episodes, rhis=rhis, rhi_episodes=links,
            disclosures=self.disclosures[self.disclosures["rhi_id"].isin(rhis["rhi_id"])],
            indicators=self.indicators, sources=self.sources, path=self.path, whole=self.root,
        )


def load_dataset(path) -> Dataset:
    """Read and validate a dataset; raise DatasetError naming every problem."""
    problems: list[Problem] = []
    latest = origin = None
    try:
        latest, origin = extract_date(path)
    except DatasetError as err:
        problems += err.problems
    try:
        raw = read_raw(path)
    except DatasetError as err:
        problems += err.problems
    if problems:
        raise DatasetError(problems, str(path))
    return validate_tables(raw, str(path), latest=latest, latest_origin=origin)


def validate_tables(raw: dict[str, RawTable], path: str = "", latest=None, latest_origin: str | None = None) -> Dataset:
    """Check raw tables completely and type them; raise DatasetError naming every problem.

    ``latest`` is the last plausible day (the extract date; default today).
    """
    if latest is None:
        latest, latest_origin = date.today(), "today; no extract date given"
    problems = Problems()
    problems.extend(_empty_problems(raw))
    for name, table in raw.items():
        problems.extend(_column_problems(table))
        problems.extend(_date_problems(table, latest, latest_origin))
    declared = ()
    if "indicators" in raw and not any(p.table == "indicators" for p in problems.items):
        declared = tuple(raw["indicators"].frame["indicator"])
    indicators = vocab.INDICATORS + tuple(i for i in declared if i not in vocab.INDICATORS)
    typed = {}
    for name, table in raw.items():
        frame = parse_table(name, table.frame)
        frame.insert(0, "row", [i + table.first_row for i in table.frame.index])
        typed[name] = frame.reset_index(drop=True)
    missing_columns = any(spec.required and spec.name not in table.frame.columns
                          for table in raw.values() for spec in COLUMNS[table.name])
    problems.extend(_duplicate_ids(typed, raw))
    if not missing_columns:  # checks across tables need every key column
        _spell_ids_as_defined(typed)
        problems.extend(_relational_problems(typed, raw, indicators))
    if problems:
        raise DatasetError(problems.items, path)
    ds = Dataset(
        children=typed["children"], episodes=typed["episodes"], rhis=typed["rhis"],
        rhi_episodes=typed["rhi_episodes"], disclosures=typed["disclosures"],
        indicators=indicators, sources={n: t.source for n, t in raw.items()}, path=path,
    )
    _set_aside_soft(ds)
    return ds


def _column_problems(table: RawTable) -> list[Problem]:
    """Every bad cell of one table, found by its pandera schema."""
    try:
        table_schema(table.name).validate(table.frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    specs = {s.name: s for s in COLUMNS[table.name]}
    out = []
    for case in cases.itertuples(index=False):
        if case.check == "column_in_dataframe":
            column = str(case.failure_case)
            header_row = table.first_row - 1 if table.first_row > 1 else None
            out.append(Problem(table.name, table.source, header_row, column, None,
                               f"a column named {column} in the header ({specs[column].expected})"))
            continue
        row = None if case.index is None or pd.isna(case.index) else int(case.index) + table.first_row
        value = "" if pd.isna(case.failure_case) else str(case.failure_case)
        if case.check == "field_uniqueness":
            expected = f"a value not used by another row (each {case.column} once)"
        elif case.check == ASCII_EXPECTED:
            expected = f"{ASCII_EXPECTED}; this value contains {first_non_ascii(value)}"
        else:
            expected = str(case.check)
        out.append(Problem(table.name, table.source, row, case.column, value, expected))
    out.sort(key=lambda p: (p.row is not None, p.row or 0))
    return out


# An empty table (header only) is valid on its own (a provider export may have no episodes, an
# SSDA903 return no RHIs), but not when another table refers to its rows: one problem names it.
REFERENCED_BY = {"children": ("episodes", "rhis"), "episodes": ("rhi_episodes",), "rhis": ("rhi_episodes", "disclosures")}


def _empty_problems(raw: dict[str, RawTable]) -> list[Problem]:
    """A table with no rows that other tables point into."""
    out = []
    for name, users in REFERENCED_BY.items():
        table = raw.get(name)
        if table is None or len(table.frame):
            continue
        pointing = [f"{raw[u].source} ({len(raw[u].frame)} rows)" for u in users if u in raw and len(raw[u].frame)]
        if pointing:
            out.append(Problem(name, table.source, table.first_row - 1 if table.first_row > 1 else None, None, None,
                               f"rows of data below the header: the {name} table is empty, but "
                               f"{' and '.join(pointing)} refer to its rows"))
    return out


def _date_problems(table: RawTable, latest: date, origin: str) -> list[Problem]:
    """Dates that parse but are implausible: before 1990-01-01 or after the extract date."""
    out = []
    end = pd.Timestamp(latest) + pd.Timedelta(days=1)
    for spec in COLUMNS[table.name]:
        if spec.kind not in ("date", "datetime") or spec.name not in table.frame.columns:
            continue
        text = table.frame[spec.name]
        parsed = spec.parse(text)
        bad = parsed.notna() & ((parsed < EARLIEST) | (parsed >= end))
        for position in parsed.index[bad]:
            out.append(Problem(table.name, table.source, int(position) + table.first_row, spec.name,
                               text[position], f"a date from {EARLIEST:%Y-%m-%d} to {latest:%Y-%m-%d} ({origin})"))
    return out


def _duplicate_ids(t: dict[str, pd.DataFrame], raw: dict[str, RawTable]) -> list[Problem]:
    """Each id once in the table that defines it, compared ignoring case (docs/data-contract.md, "Identifiers").

    A later row repeating an earlier row's id, in any case, is a problem naming both rows.
    """
    out = []
    for column, table in IDS.items():
        frame = t[table]
        ids = frame[column]
        present = ids.notna()
        keys = ids.where(present, "").str.lower()
        first = present & ~keys.where(present).duplicated(keep="first")
        if first.sum() == present.sum():
            continue
        first_row = dict(zip(keys[first], frame.loc[first, "row"]))
        first_id = dict(zip(keys[first], ids[first]))
        for i in frame.index[present & ~first]:
            earlier = first_id[keys[i]]
            same = "the same id" if earlier == ids[i] else f"{earlier!r}, the same id once case is ignored"
            out.append(Problem(table, raw[table].source, int(frame.at[i, "row"]), column, ids[i],
                               f"each {column} once: row {first_row[keys[i]]} has {same} (ids are compared "
                               "ignoring case and surrounding spaces)"))
    return out


def _spell_ids_as_defined(t: dict[str, pd.DataFrame]) -> None:
    """Every mention of an id written as the row that defines it spells it (``EP1`` for ``ep1``), so that the
    links between tables, and every count made from them, compare ids ignoring case."""
    for column, table in IDS.items():
        defined = t[table][column].dropna()
        spelling = pd.Series(defined.to_numpy(), index=defined.str.lower().to_numpy())
        spelling = spelling[~spelling.index.duplicated(keep="first")]
        for name, frame in t.items():
            if column not in frame.columns or (name == table):
                continue
            values = frame[column]
            present = values.notna()
            if not present.any():
                continue
            respelled = values[present].str.lower().map(spelling)
            change = respelled.notna() & (respelled != values[present])
            if change.any():
                frame.loc[change[change].index, column] = respelled[change]


def _relational_problems(t: dict[str, pd.DataFrame], raw: dict[str, RawTable], indicators) -> list[Problem]:
    """Checks across rows and tables: keys, links, order of dates, indicator vocabulary."""
    out: list[Problem] = []
    src = {n: r.source for n, r in raw.items()}
    children, episodes, rhis = t["children"], t["episodes"], t["rhis"]
    links, disclosures = t["rhi_episodes"], t["disclosures"]

    def add(table, frame, mask, column, expected, value_column=None):
        for rec in frame.loc[mask].itertuples(index=False):
            value = getattr(rec, value_column or column)
            if isinstance(value, pd.Timestamp) and not pd.isna(value):
                value = f"{value:%Y-%m-%d %H:%M}"
            value = "" if value is None or pd.isna(value) else str(value)
            out.append(Problem(table, src[table], int(rec.row), column, value,
                               expected(rec) if callable(expected) else expected))

    child_ids = set(children["child_id"].dropna())
    for name, frame in (("episodes", episodes), ("rhis", rhis)):
        add(name, frame, frame["child_id"].notna() & ~frame["child_id"].isin(child_ids), "child_id",
            f"a child_id that is in {src['children']}")
    add("rhi_episodes", links, links["rhi_id"].notna() & ~links["rhi_id"].isin(rhis["rhi_id"]), "rhi_id",
        f"an rhi_id that is in {src['rhis']}")
    add("rhi_episodes", links, links["episode_id"].notna() & ~links["episode_id"].isin(episodes["episode_id"]),
        "episode_id", f"an episode_id that is in {src['episodes']}")
    add("disclosures", disclosures,
        disclosures["rhi_id"].notna() & ~disclosures["rhi_id"].isin(rhis["rhi_id"]), "rhi_id",
        f"an rhi_id that is in {src['rhis']}")
    pair_dupes = links.duplicated(["rhi_id", "episode_id"], keep="first") & links["rhi_id"].notna()
    add("rhi_episodes", links, pair_dupes, "episode_id", "each (rhi_id, episode_id) pair once")

    # Dates in order.
    add("episodes", episodes, episodes["missing_end"] < episodes["missing_start"], "missing_end",
        lambda r: f"a missing_end on or after missing_start ({r.missing_start:%Y-%m-%d %H:%M})")
    dob = lookup(episodes["child_id"], children, "child_id", "date_of_birth")
    add("episodes", episodes.assign(dob=dob), dob > episodes["missing_start"], "missing_start",
        lambda r: f"a missing_start after the child's date_of_birth ({r.dob:%Y-%m-%d})")

    # RHI status and its companions.
    completed = rhis["status"] == "completed"
    add("rhis", rhis, completed & rhis["completed_at"].isna(), "completed_at",
        "a completed_at date and time, because status is completed")
    add("rhis", rhis, ~completed & rhis["completed_at"].notna() & rhis["status"].notna(), "completed_at",
        lambda r: f"blank, because status is {r.status} (only completed RHIs have completed_at)")
    add("rhis", rhis, (rhis["status"] != "declined") & rhis["decline_reason"].notna() & rhis["status"].notna(),
        "decline_reason", lambda r: f"blank, because status is {r.status} (decline_reason is for declined RHIs)")
    add("rhis", rhis, rhis["completed_at"] < rhis["offered_at"], "completed_at",
        lambda r: f"a completed_at on or after offered_at ({r.offered_at:%Y-%m-%d %H:%M})")

    # Links: same child, at most one completed RHI per episode.
    rhi_child = rhis.drop_duplicates("rhi_id").set_index("rhi_id")["child_id"]
    ep_child = episodes.drop_duplicates("episode_id").set_index("episode_id")["child_id"]
    lk = links.assign(rhi_child=links["rhi_id"].map(rhi_child), ep_child=links["episode_id"].map(ep_child))
    add("rhi_episodes", lk, lk["rhi_child"].notna() & lk["ep_child"].notna() & (lk["rhi_child"] != lk["ep_child"]),
        "episode_id", "an episode of the same child as the RHI (episodes may only be linked to their own child's RHIs)")
    done_ids = set(rhis.loc[completed, "rhi_id"])
    done_links = lk[lk["rhi_id"].isin(done_ids) & ~pair_dupes]
    multi = done_links["episode_id"].duplicated(keep=False) & done_links["episode_id"].notna()
    first_rhi = done_links[multi].groupby("episode_id")["rhi_id"].agg(lambda s: ", ".join(map(str, s)))
    add("rhi_episodes", done_links, multi, "episode_id",
        lambda r: f"an episode linked to at most one completed RHI (it is linked to completed RHIs {first_rhi[r.episode_id]})")

    # Disclosures: only on completed RHIs; indicators from the vocabulary.
    status = rhis.drop_duplicates("rhi_id").set_index("rhi_id")["status"]
    d_status = disclosures["rhi_id"].map(status)
    add("disclosures", disclosures.assign(st=d_status), d_status.notna() & (d_status != "completed"), "rhi_id",
        lambda r: f"an RHI whose status is completed (this RHI is {r.st}; only completed RHIs have disclosures)")
    known = set(indicators) | set(vocab.DERIVED_INDICATORS)
    unknown = disclosures["indicator"].notna() & ~disclosures["indicator"].isin(known)

    def suggest(rec) -> str:
        close = difflib.get_close_matches(str(rec.indicator), list(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"an indicator of the contract's vocabulary or one declared in an indicators table{hint}"

    add("disclosures", disclosures, unknown, "indicator", suggest)
    derived = disclosures["indicator"].isin(vocab.DERIVED_INDICATORS)
    add("disclosures", disclosures, derived, "indicator",
        "a recorded indicator: cse_red_flag_any is derived from the five red flags, record those instead")
    return out


def _set_aside_soft(ds: Dataset) -> None:
    """Mark soft problems: the rows stay, with a reason, and leave the populations."""
    eps = ds.episodes
    dob = lookup(eps["child_id"], ds.children, "child_id", "date_of_birth")
    eps["age"] = age_in_years(dob, eps["missing_start"])
    eps["set_aside"] = pd.Series(None, index=eps.index, dtype=object)
    eps.loc[eps["age"] >= vocab.ADULT_AGE, "set_aside"] = SET_ASIDE_ADULT

    links = ds.rhi_episodes
    links["set_aside"] = pd.Series(None, index=links.index, dtype=object)
    if len(links):  # a dataset with no RHIs at all (e.g. an SSDA903 import) has nothing to check
        done = ds.rhis.set_index("rhi_id")["completed_at"]
        ended = eps.set_index("episode_id")["missing_end"]
        early = (links["rhi_id"].map(done) < links["episode_id"].map(ended)).astype("boolean")
        links.loc[early.fillna(False).astype(bool), "set_aside"] = SET_ASIDE_EARLY_RHI

    disc = ds.disclosures
    disc["set_aside"] = pd.Series(None, index=disc.index, dtype=object)
    disc.loc[disc.duplicated(["rhi_id", "indicator"], keep="first"), "set_aside"] = SET_ASIDE_DUPLICATE_DISCLOSURE


def lookup(keys: pd.Series, frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """frame[value] of the row whose ``key`` is each of ``keys`` (first such row; missing if none).

    Unlike ``Series.map`` this keeps the value's type when either side is empty.
    """
    table = frame.drop_duplicates(key).set_index(key)[value]
    out = table.reindex(keys.to_numpy())
    out.index = keys.index
    return out


def age_in_years(date_of_birth: pd.Series, when: pd.Series) -> pd.Series:
    """Whole years from date of birth to a date (birthdays not yet reached this year subtract one)."""
    years = when.dt.year - date_of_birth.dt.year
    before_birthday = (when.dt.month < date_of_birth.dt.month) | (
        (when.dt.month == date_of_birth.dt.month) & (when.dt.day < date_of_birth.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")
