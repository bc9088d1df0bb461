"""Build small canonical datasets by hand for tests.

Each helper returns one row (a dict of text, as a CSV holds it). ``write``
puts the rows into a folder of CSV files in the contract's form, with every
column present (blank where not given), and ``load`` validates it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.dataset.schema import COLUMNS, parse_datetimes
from analysis.dataset.validate import load_dataset

LA = "E08000001"
LA2 = "E09000002"


def _two_jobs() -> str:
    """``--jobs`` for batch tests: 2, or 1 on a machine that lets a run use one core (more is refused)."""
    from analysis.run.batch import usable_cores

    return str(min(2, usable_cores()))


TWO_JOBS = _two_jobs()


def child(child_id, sex="female", dob="2003-06-15", **kw):
    return {"child_id": child_id, "sex": sex, "date_of_birth": dob, **kw}


def episode(episode_id, child_id, start, end=None, risk="medium", la=LA, legal="not_known", **kw):
    end = end if end is not None else _plus_hours(start, 20)
    return {"episode_id": episode_id, "child_id": child_id, "la_code": la, "missing_start": start,
            "missing_end": end, "police_risk": risk, "legal_status": legal, **kw}


def rhi(rhi_id, child_id, status="completed", completed_at="2018-03-30 10:00", **kw):
    row = {"rhi_id": rhi_id, "child_id": child_id, "status": status, **kw}
    if status == "completed":
        row["completed_at"] = completed_at
    return row


def link(rhi_id, episode_id):
    return {"rhi_id": rhi_id, "episode_id": episode_id}


def disc(rhi_id, indicator):
    return {"rhi_id": rhi_id, "indicator": indicator}


def _plus_hours(start: str, hours: int) -> str:
    stamp = parse_datetimes(pd.Series([start])).iloc[0]
    return (stamp + pd.Timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def frames(children=(), episodes=(), rhis=(), links=(), disclosures=()) -> dict[str, pd.DataFrame]:
    out = {}
    for name, rows in (("children", children), ("episodes", episodes), ("rhis", rhis),
                       ("rhi_episodes", links), ("disclosures", disclosures)):
        columns = [c.name for c in COLUMNS[name]]
        frame = pd.DataFrame(list(rows), columns=None if rows else columns)
        for column in columns:
            if column not in frame.columns:
                frame[column] = ""
        out[name] = frame.fillna("")
    return out


def write(folder: Path, **tables) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames(**tables).items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def load(folder: Path, **tables):
    return load_dataset(write(folder, **tables))


def valid_tables() -> dict[str, pd.DataFrame]:
    """A small valid dataset: children rows 2-4, episodes rows 2-5, rhis rows 2-4, links rows 2-5, disclosures rows 2-4.

    Tests of one fault change one cell of it, so each error names a known file, row and column.
    """
    return frames(
        children=[child("c1"), child("c2", sex="M", dob="2004-02"), child("c3", sex="2", dob="01/09/2002", uasc="no")],
        episodes=[
            episode("e1", "c1", "2017-08-01 20:00", missing_from="home"),
            episode("e2", "c1", "2017-09-01 20:00", risk="high"),
            episode("e3", "c2", "03/10/2017 21:30", risk="Low", legal="looked_after", missing_from="care_in_area"),
            episode("e4", "c3", "2017-10-05 20:00", risk=""),
        ],
        rhis=[
            rhi("r1", "c1", offered_at="2017-09-03 09:00", completed_at="2017-09-05 10:00", consent_to_share="all",
                follow_up="signposted", helpline_signposted="yes"),
            rhi("r2", "c2", legal_status="child_in_need", completed_at="2017-10-06 10:00"),
            rhi("r3", "c3", status="declined", decline_reason="child_declined"),
        ],
        links=[link("r1", "e1"), link("r1", "e2"), link("r2", "e3"), link("r3", "e4")],
        disclosures=[disc("r1", "cse_victim"), disc("r1", "rf_gang_association"), disc("r2", "cce_victim")],
    )
