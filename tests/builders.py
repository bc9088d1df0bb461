"""Build small canonical datasets by hand for tests.

Each helper returns one row (a dict of text, as a CSV holds it). ``write``
puts the rows into a folder of CSV files in the contract's form, with every
column present (blank where not given), and ``load`` validates it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.schema import COLUMNS, parse_datetimes
from analysis.validate import load_dataset

LA = "E08000001"
LA2 = "E09000002"


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
