"""Validation: a good dataset passes; each of a battery of faults is reported with table, row and column.

Every fault is applied to a small valid dataset; the test asserts that
``rhi validate`` exits 1 and that one message names the file, the row as a
person sees it (header = row 1, first data row = row 2) and the column.
"""

from __future__ import annotations

import pandas as pd
import pytest
from builders import LA, valid_tables
from typer.testing import CliRunner

from analysis.cli import app
from analysis.errors import DatasetError
from analysis.dataset.schema import normalise_code, parse_datetimes
from analysis.dataset.validate import SET_ASIDE_ADULT, SET_ASIDE_EARLY_RHI, load_dataset

runner = CliRunner()


base_tables = valid_tables


def write_tables(folder, tables):
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def set_cell(tables, table, row, column, value):
    """Set a cell by data position (0-based); its file row is position + 2."""
    tables[table].loc[row, column] = value


def drop_column(tables, table, column):
    tables[table] = tables[table].drop(columns=[column])


def add_row(tables, table, **values):
    frame = tables[table]
    row = {c: "" for c in frame.columns}
    row.update(values)
    tables[table] = pd.concat([frame, pd.DataFrame([row])], ignore_index=True)


# (id, mutation, file, row, column)
FAULTS = [
    ("missing required column", lambda t: drop_column(t, "children", "sex"), "children.csv", 1, "sex"),
    ("duplicate child id", lambda t: set_cell(t, "children", 1, "child_id", "c1"), "children.csv", 3, "child_id"),
    ("unknown sex", lambda t: set_cell(t, "children", 2, "sex", "x"), "children.csv", 4, "sex"),
    ("impossible date of birth", lambda t: set_cell(t, "children", 0, "date_of_birth", "2003-13-01"), "children.csv", 2, "date_of_birth"),
    ("blank date of birth", lambda t: set_cell(t, "children", 1, "date_of_birth", ""), "children.csv", 3, "date_of_birth"),
    ("bad boolean", lambda t: set_cell(t, "children", 0, "uasc", "maybe"), "children.csv", 2, "uasc"),
    ("blank episode id", lambda t: set_cell(t, "episodes", 2, "episode_id", ""), "episodes.csv", 4, "episode_id"),
    ("duplicate episode id", lambda t: set_cell(t, "episodes", 3, "episode_id", "e1"), "episodes.csv", 5, "episode_id"),
    ("episode of unknown child", lambda t: set_cell(t, "episodes", 1, "child_id", "c9"), "episodes.csv", 3, "child_id"),
    ("bad la code", lambda t: set_cell(t, "episodes", 0, "la_code", "Manchester"), "episodes.csv", 2, "la_code"),
    ("unparseable missing_start", lambda t: set_cell(t, "episodes", 1, "missing_start", "yesterday"), "episodes.csv", 3, "missing_start"),
    ("blank missing_start", lambda t: set_cell(t, "episodes", 3, "missing_start", ""), "episodes.csv", 5, "missing_start"),
    ("end before start", lambda t: set_cell(t, "episodes", 0, "missing_end", "2017-07-31 10:00"), "episodes.csv", 2, "missing_end"),
    ("unknown police risk", lambda t: set_cell(t, "episodes", 0, "police_risk", "mediun"), "episodes.csv", 2, "police_risk"),
    ("unknown setting", lambda t: set_cell(t, "episodes", 0, "missing_from", "school"), "episodes.csv", 2, "missing_from"),
    ("unknown legal status", lambda t: set_cell(t, "episodes", 2, "legal_status", "LAC"), "episodes.csv", 4, "legal_status"),
    ("unknown episode type", lambda t: set_cell(t, "episodes", 2, "episode_type", "absconded"), "episodes.csv", 4, "episode_type"),
    ("born after the episode", lambda t: set_cell(t, "children", 0, "date_of_birth", "2017-08-15"), "episodes.csv", 2, "missing_start"),
    ("unknown RHI status", lambda t: set_cell(t, "rhis", 0, "status", "done"), "rhis.csv", 2, "status"),
    ("blank RHI status", lambda t: set_cell(t, "rhis", 1, "status", ""), "rhis.csv", 3, "status"),
    ("completed without completed_at", lambda t: set_cell(t, "rhis", 1, "completed_at", ""), "rhis.csv", 3, "completed_at"),
    ("unparseable completed_at", lambda t: set_cell(t, "rhis", 0, "completed_at", "2017-02-30 10:00"), "rhis.csv", 2, "completed_at"),
    ("RHI of unknown child", lambda t: set_cell(t, "rhis", 2, "child_id", "zz"), "rhis.csv", 4, "child_id"),
    ("unknown decline reason", lambda t: set_cell(t, "rhis", 2, "decline_reason", "busy"), "rhis.csv", 4, "decline_reason"),
    ("decline reason on a completed RHI", lambda t: set_cell(t, "rhis", 0, "decline_reason", "other"), "rhis.csv", 2, "decline_reason"),
    ("completed_at on a declined RHI", lambda t: set_cell(t, "rhis", 2, "completed_at", "2017-10-09 10:00"), "rhis.csv", 4, "completed_at"),
    ("completed before offered", lambda t: set_cell(t, "rhis", 0, "offered_at", "2017-09-06 09:00"), "rhis.csv", 2, "completed_at"),
    ("unknown consent", lambda t: set_cell(t, "rhis", 0, "consent_to_share", "some"), "rhis.csv", 2, "consent_to_share"),
    ("unknown follow-up", lambda t: set_cell(t, "rhis", 0, "follow_up", "weekly"), "rhis.csv", 2, "follow_up"),
    ("bad boolean on RHI", lambda t: set_cell(t, "rhis", 0, "helpline_signposted", "sometimes"), "rhis.csv", 2, "helpline_signposted"),
    ("duplicate RHI id", lambda t: set_cell(t, "rhis", 2, "rhi_id", "r2"), "rhis.csv", 4, "rhi_id"),
    ("link to unknown RHI", lambda t: set_cell(t, "rhi_episodes", 3, "rhi_id", "r7"), "rhi_episodes.csv", 5, "rhi_id"),
    ("link to unknown episode", lambda t: set_cell(t, "rhi_episodes", 2, "episode_id", "e7"), "rhi_episodes.csv", 4, "episode_id"),
    ("link to another child's RHI", lambda t: set_cell(t, "rhi_episodes", 2, "rhi_id", "r1"), "rhi_episodes.csv", 4, "episode_id"),
    ("episode linked to two completed RHIs",
     lambda t: (add_row(t, "rhis", rhi_id="r4", child_id="c1", status="completed", completed_at="2017-09-10 10:00"),
                add_row(t, "rhi_episodes", rhi_id="r4", episode_id="e1")), "rhi_episodes.csv", 6, "episode_id"),
    ("duplicate link", lambda t: add_row(t, "rhi_episodes", rhi_id="r2", episode_id="e3"), "rhi_episodes.csv", 6, "episode_id"),
    ("typo in indicator", lambda t: set_cell(t, "disclosures", 1, "indicator", "rf_gang_asociation"), "disclosures.csv", 3, "indicator"),
    ("disclosure on a declined RHI", lambda t: add_row(t, "disclosures", rhi_id="r3", indicator="mental_health"), "disclosures.csv", 5, "rhi_id"),
    ("disclosure on unknown RHI", lambda t: set_cell(t, "disclosures", 2, "rhi_id", "r99"), "disclosures.csv", 4, "rhi_id"),
    ("derived indicator recorded", lambda t: set_cell(t, "disclosures", 0, "indicator", "cse_red_flag_any"), "disclosures.csv", 2, "indicator"),
    ("blank indicator", lambda t: set_cell(t, "disclosures", 0, "indicator", ""), "disclosures.csv", 2, "indicator"),
]


def test_good_dataset_passes_with_summary_and_flow(tmp_path):
    folder = write_tables(tmp_path / "good", base_tables())
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "Children: 3" in result.output and "Episodes: 4" in result.output
    assert "Local authorities: 1" in result.output
    assert "Episodes start from 2017-08-01 to 2017-10-05" in result.output
    # the flow: 4 episodes read -> 1 without risk code -> 1 high -> 2 in scope
    assert "in-scope episodes" in result.output and "no risk code" in result.output
    assert "c1" not in result.output  # no child id in any output


def test_battery_has_at_least_25_distinct_faults():
    assert len({f[0] for f in FAULTS}) >= 25


@pytest.mark.parametrize("name,mutate,source,row,column", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_is_reported_with_table_row_and_column(tmp_path, name, mutate, source, row, column):
    tables = base_tables()
    mutate(tables)
    folder = write_tables(tmp_path / "bad", tables)
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{source}, row {row}, column {column}" in result.output, result.output
    assert "nothing was analysed" in result.output


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    tables = base_tables()
    for mutate in (FAULTS[2][1], FAULTS[13][1], FAULTS[18][1]):
        mutate(tables)
    with pytest.raises(DatasetError) as err:
        load_dataset(write_tables(tmp_path / "bad", tables))
    columns = {(p.source, p.column) for p in err.value.problems}
    assert {("children.csv", "sex"), ("episodes.csv", "police_risk"), ("rhis.csv", "status")} <= columns


def test_ragged_csv_row_names_the_line(tmp_path):
    folder = write_tables(tmp_path / "ragged", base_tables())
    lines = (folder / "episodes.csv").read_text().splitlines()
    lines[2] += ",extra,fields"
    (folder / "episodes.csv").write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "episodes.csv, row 3" in result.output


def test_file_not_utf8_is_named(tmp_path):
    folder = write_tables(tmp_path / "latin1", base_tables())
    text = (folder / "children.csv").read_text() + "c4,female,2003-01-01,,Fran\u00e7ais\n"
    (folder / "children.csv").write_bytes(text.encode("latin-1"))
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "children.csv, row 5" in result.output and "UTF-8" in result.output


def test_missing_table_is_named(tmp_path):
    folder = write_tables(tmp_path / "partial", base_tables())
    (folder / "rhis.csv").unlink()
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1
    assert "rhis" in result.output and "Traceback" not in result.output


def test_nonexistent_path_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "nowhere" in result.output and "Traceback" not in result.output


def test_xlsx_problem_names_sheet_row_and_column(tmp_path):
    tables = base_tables()
    set_cell(tables, "episodes", 2, "police_risk", "very high")
    path = tmp_path / "study.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "study.xlsx, sheet episodes, row 4, column police_risk" in result.output


def test_xlsx_and_parquet_load_like_csv(tmp_path):
    tables = base_tables()
    path = tmp_path / "study.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name, frame in tables.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    pq = tmp_path / "pq"
    pq.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(pq / f"{name}.parquet", index=False)
    csv = load_dataset(write_tables(tmp_path / "csv", tables))
    for other in (load_dataset(path), load_dataset(pq)):
        pd.testing.assert_frame_equal(other.episodes.drop(columns="row"), csv.episodes.drop(columns="row"))
        pd.testing.assert_frame_equal(other.rhis.drop(columns="row"), csv.rhis.drop(columns="row"))


def test_parquet_with_typed_columns(tmp_path):
    tables = base_tables()
    tables["episodes"]["missing_start"] = parse_datetimes(tables["episodes"]["missing_start"])
    pq = tmp_path / "pq"
    pq.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(pq / f"{name}.parquet", index=False)
    ds = load_dataset(pq)
    assert ds.episodes["missing_start"].min() == pd.Timestamp("2017-08-01 20:00")


def test_accepted_codes_are_normalised(tmp_path):
    ds = load_dataset(write_tables(tmp_path / "good", base_tables()))
    assert list(ds.children["sex"]) == ["female", "male", "female"]  # F, M and DfE code 2
    assert ds.children.loc[1, "date_of_birth"] == pd.Timestamp("2004-02-01")  # YYYY-MM -> 1st
    assert ds.children.loc[2, "date_of_birth"] == pd.Timestamp("2002-09-01")  # dd/mm/yyyy
    assert ds.episodes.loc[2, "police_risk"] == "low"
    assert ds.episodes.loc[2, "missing_start"] == pd.Timestamp("2017-10-03 21:30")
    assert bool(ds.rhis.loc[0, "helpline_signposted"]) is True
    assert pd.isna(ds.rhis.loc[1, "helpline_signposted"])  # blank is not recorded, never "no"


def test_absent_is_the_old_name_of_no_apparent_risk(tmp_path):
    tables = base_tables()
    set_cell(tables, "episodes", 3, "police_risk", "Absent")
    ds = load_dataset(write_tables(tmp_path / "d", tables))
    assert ds.episodes.loc[3, "police_risk"] == "no_apparent_risk"


def test_normalise_code_maps_each_distinct_value_back_in_place():
    # normalise_code works on the distinct values only: every cell must still get its own value,
    # missing ones (None, NaN, NA) exactly as they were, with the index, name and dtype kept.
    cells = [" Looked-After ", "NO  APPARENT - risk", None, "Looked-After", "looked_after", float("nan"),
             "child--in need", " Looked-After ", "", "-high-", "looked__after", pd.NA, "HIGH"]
    expected = ["looked_after", "no_apparent_risk", None, "looked_after", "looked_after", float("nan"),
                "child_in_need", "looked_after", "", "_high_", "looked__after", pd.NA, "high"]
    index = [f"r{i}" for i in range(len(cells))][::-1]
    out = normalise_code(pd.Series(cells, index=index, name="legal_status", dtype=object))
    assert out.dtype == object and out.name == "legal_status" and list(out.index) == index
    assert [(type(v), repr(v)) for v in out] == [(type(v), repr(v)) for v in expected]

    text = normalise_code(pd.Series(["Care In-Area", "", None, "care in  area", "HOME"], dtype="str"))
    assert text.dtype == "str"
    assert text.tolist()[:2] == ["care_in_area", ""] and pd.isna(text[2])
    assert text.tolist()[3:] == ["care_in_area", "home"]
    assert normalise_code(pd.Series([], dtype="str")).tolist() == []


def test_codes_with_mixed_case_spaces_and_hyphens_load_exactly(tmp_path):
    tables = base_tables()
    for row, risk in enumerate([" No-Apparent - RISK ", "NO APPARENT RISK", "", "no_apparent_risk"]):
        set_cell(tables, "episodes", row, "police_risk", risk)
    for row, status in enumerate(["Looked After", "child-protection", "CHILD  IN--NEED", ""]):
        set_cell(tables, "episodes", row, "legal_status", status)
    set_cell(tables, "rhis", 2, "status", " Declined ")
    ds = load_dataset(write_tables(tmp_path / "d", tables))
    risk, status = ds.episodes["police_risk"], ds.episodes["legal_status"]
    assert risk.isna().tolist() == [False, False, True, False]  # blank: not recorded
    assert risk.dropna().tolist() == ["no_apparent_risk"] * 3
    assert status.isna().tolist() == [False, False, False, True]
    assert status.dropna().tolist() == ["looked_after", "child_protection", "child_in_need"]
    assert risk.dtype == object and status.dtype == object
    assert ds.rhis["status"].tolist() == ["completed", "completed", "declined"]

    set_cell(tables, "episodes", 3, "police_risk", "no__apparent_risk")  # a doubled underscore is not a code
    with pytest.raises(DatasetError) as err:
        load_dataset(write_tables(tmp_path / "bad", tables))
    assert [str(p) for p in err.value.problems] == [
        "episodes.csv, row 5, column police_risk: value 'no__apparent_risk': expected one of high, medium, low, "
        "no_apparent_risk"]


def test_declared_indicator_is_accepted(tmp_path):
    tables = base_tables()
    set_cell(tables, "disclosures", 0, "indicator", "county_lines")
    folder = write_tables(tmp_path / "d", tables)
    with pytest.raises(DatasetError):
        load_dataset(folder)
    pd.DataFrame({"indicator": ["county_lines"], "group": ["CCE"]}).to_csv(folder / "indicators.csv", index=False)
    ds = load_dataset(folder)
    assert "county_lines" in ds.indicators


def test_soft_problems_are_set_aside_not_errors(tmp_path):
    tables = base_tables()
    set_cell(tables, "children", 1, "date_of_birth", "1999-01-01")      # c2 is 18 at e3
    set_cell(tables, "rhis", 0, "completed_at", "2017-08-30 10:00")    # r1 before e2 ended
    set_cell(tables, "rhis", 0, "offered_at", "")
    add_row(tables, "disclosures", rhi_id="r1", indicator="cse_victim")
    ds = load_dataset(write_tables(tmp_path / "soft", tables))
    assert ds.episodes.set_index("episode_id").loc["e3", "set_aside"] == SET_ASIDE_ADULT
    links = ds.rhi_episodes.set_index(["rhi_id", "episode_id"])["set_aside"]
    assert links.loc[("r1", "e2")] == SET_ASIDE_EARLY_RHI
    assert pd.isna(links.loc[("r1", "e1")])
    assert ds.disclosures["set_aside"].notna().sum() == 1
    result = runner.invoke(app, ["validate", str(tmp_path / "soft")])
    assert result.exit_code == 0
    assert SET_ASIDE_ADULT in result.output and SET_ASIDE_EARLY_RHI in result.output


def test_la_option_unknown_code_is_clear(tmp_path):
    folder = write_tables(tmp_path / "good", base_tables())
    result = runner.invoke(app, ["validate", str(folder), "--la", "E09000001"])
    assert result.exit_code == 2 and LA in result.output


def test_dataset_without_any_rhi_is_valid(tmp_path):
    tables = base_tables()
    for name in ("rhis", "rhi_episodes", "disclosures"):
        tables[name] = tables[name].iloc[0:0]
    result = runner.invoke(app, ["validate", str(write_tables(tmp_path / "no_rhi", tables))])
    assert result.exit_code == 0, result.output
    assert "RHIs: 0" in result.output
