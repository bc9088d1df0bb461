"""rhi import ssd: a hand-built SSD extract (column names, date forms and codes as the SSD writes them)."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.importers import run_import
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser

runner = CliRunner()

FIXTURES = Path(__file__).parent / "fixtures" / "import"
KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"  # secrets.token_hex(32): weak keys are refused


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


GOOD = FIXTURES / "ssd" / "good"
LA = "E08000025"


@pytest.fixture
def imported(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    out = tmp_path / "out"
    ds, report = run_import("ssd", GOOD, out, la_code=LA)
    return out, ds, report


def by_source(out, table, column, kind, source_ids):
    p = Pseudonymiser(KEY.encode())
    frame = read(out, table).set_index(column)
    return {s: frame.loc[p.one(kind, s)] for s in source_ids}


def test_episodes_mapped_and_legal_status_derived_on_start_date(imported):
    out, ds, _ = imported
    ep = by_source(out, "episodes", "episode_id", "episode", ["M501", "M502", "M503", "M504", "M505", "M506"])
    # 1001: CP plan 05/01-20/06/2023, looked after from 01/06/2023: CP on 2 May, looked after (wins) on 10 June
    assert ep["M501"]["legal_status"] == "child_protection"
    assert ep["M502"]["legal_status"] == "looked_after"
    assert ep["M503"]["legal_status"] == "looked_after" and ep["M503"]["episode_type"] == "away"
    # 1003: CP plan starting the same day as the episode counts (start <= day)
    assert ep["M504"]["legal_status"] == "child_protection" and ep["M504"]["missing_end"] == ""
    # 1004: open CIN referral and open early help: child_in_need has precedence
    assert ep["M505"]["legal_status"] == "child_in_need"
    # 1005: early help ended 31/08, episode 03/09: not known to services
    assert ep["M506"]["legal_status"] == "not_known"
    assert ep["M501"]["missing_start"] == "2023-05-02 21:30" and ep["M503"]["missing_start"] == "2023-05-20"
    assert ep["M501"]["missing_from"] == "home" and ep["M502"]["missing_from"] == ""
    assert set(read(out, "episodes")["la_code"]) == {LA}
    assert set(read(out, "episodes")["police_risk"]) == {""}
    assert len(ds.episodes) == 7


def test_children_only_those_with_episodes(imported):
    out, _, _ = imported
    children = read(out, "children")
    assert len(children) == 5  # 1099 has no missing episode
    kids = by_source(out, "children", "child_id", "person", ["1001", "1002", "1005"])
    assert kids["1001"]["sex"] == "female" and kids["1001"]["date_of_birth"] == "2004-03-15"
    assert kids["1002"]["sex"] == "male" and kids["1005"]["sex"] == "unknown"
    assert "pers_common_child_id" not in children.columns  # NHS number dropped


def test_rhis_from_offered_and_accepted_never_completed(imported):
    out, _, report = imported
    rhi = by_source(out, "rhis", "rhi_id", "rhi", ["M501", "M502", "M503", "M507"])
    assert rhi["M501"]["status"] == "accepted_not_completed"   # accepted is not completed
    assert rhi["M502"]["status"] == "declined"
    assert rhi["M503"]["status"] == "not_offered"
    assert rhi["M507"]["status"] == "accepted_not_completed"   # accepted implies offered
    rhis = read(out, "rhis")
    assert len(rhis) == 4 and "completed" not in set(rhis["status"])  # M504 offered, outcome blank: no row
    assert set(rhis["completed_at"]) == {""}
    assert len(read(out, "disclosures")) == 0
    assert any("no RHI row was written" in w for w in report.warnings)


def test_report_lists_unavailable_fields(imported):
    out, _, _ = imported
    data = json.loads((out / "import_report.json").read_text())
    for name in ("police_risk", "disclosures", "completed_at", "offered_at"):
        assert name in data["unavailable"]
    assert data["la_code"] == LA and data["tables"]["episodes"] == 7
    assert {d["field"] for d in data["derived"]} >= {"episodes.legal_status", "rhis.status", "episodes.la_code"}
    assert "police_risk" in (out / "import_report.md").read_text()
    files = {f["file"] for f in data["source_files"]}
    assert {"ssd_missing.csv", "ssd_person.csv", "ssd_cla_episodes.csv"} <= files


def test_without_status_tables_legal_status_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("ssd_missing.csv", "ssd_person.csv"):
        shutil.copy(GOOD / name, src / name)
    out = tmp_path / "out"
    _, report = run_import("ssd", src, out, la_code=LA)
    assert set(read(out, "episodes")["legal_status"]) == {""}
    assert "legal_status" in report.unavailable and "missing_from" in report.unavailable


def test_older_ssd_column_names_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    shutil.copytree(GOOD, src)
    text = (src / "ssd_missing.csv").read_text()
    text = text.replace("miss_person_id", "miss_la_person_id").replace("miss_missing_episode_start_date",
                                                                       "miss_mis_epi_start")
    (src / "ssd_missing.csv").write_text(text)
    run_import("ssd", src, tmp_path / "out", la_code=LA)
    assert len(read(tmp_path / "out", "episodes")) == 7


def cli(*args):
    return runner.invoke(app, ["import", *map(str, args)])


def test_cli_end_to_end_prints_mapped_derived_unavailable(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    out = tmp_path / "out"
    result = cli("ssd", GOOD, "--out", out, "--la-code", LA)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "NOT available" in result.output and "police_risk" in result.output
    assert (out / "import_report.json").exists()
    check = runner.invoke(app, ["validate", str(out)])
    assert check.exit_code == 0, check.output


def test_la_code_required_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssd", GOOD, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "--la-code" in result.output
    result = cli("ssd", GOOD, "--out", tmp_path / "o", "--la-code", "Leeds")
    assert result.exit_code == 2 and "GSS" in result.output
    assert not (tmp_path / "o").exists()


def test_missing_column_names_file_header_and_closest(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssd", FIXTURES / "ssd" / "bad_layout", "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1
    assert "ssd_missing.csv, row 1, column miss_missing_episode_start_date" in result.output
    assert "miss_missing_episode_start_dt" in result.output  # the closest name in the file
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_bad_values_each_named_by_file_row_column(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssd", FIXTURES / "ssd" / "bad_values", "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1
    out = result.output
    assert "ssd_missing.csv, row 3, column miss_missing_episode_start_date: value '2023-13-40" in out
    assert "ssd_missing.csv, row 4, column miss_missing_episode_type: value 'X'" in out
    assert "ssd_missing.csv, row 5, column miss_missing_rhi_offered: value 'Maybe'" in out
    assert "ssd_missing.csv, row 6, column miss_person_id: value '1777'" in out
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.glob(".o*"))  # no temporary folder left behind


def test_offered_no_but_accepted_yes_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    shutil.copytree(GOOD, src)
    text = (src / "ssd_missing.csv").read_text().replace("M503,1002,2023-05-20 00:00:00.000,A,2023-05-20 00:00:00.000,N,",
                                                         "M503,1002,2023-05-20 00:00:00.000,A,2023-05-20 00:00:00.000,N,Y")
    (src / "ssd_missing.csv").write_text(text)
    result = cli("ssd", src, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1
    assert "ssd_missing.csv, row 4, column miss_missing_rhi_accepted" in result.output


def test_end_before_start_traced_to_source_row(tmp_path, monkeypatch):
    """A problem only the validator finds (end before start) is reported at the source file and row."""
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    shutil.copytree(GOOD, src)
    text = (src / "ssd_missing.csv").read_text().replace("2023-06-11 09:15:00.000", "2023-06-01 09:15:00.000")
    (src / "ssd_missing.csv").write_text(text)
    result = cli("ssd", src, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1
    assert "ssd_missing.csv, row 3, column miss_missing_episode_end_date (imported as episodes.missing_end)" \
        in result.output
    assert not (tmp_path / "o").exists()


def test_failed_reimport_keeps_the_previous_output(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    out = tmp_path / "out"
    assert cli("ssd", GOOD, "--out", out, "--la-code", LA).exit_code == 0
    before = (out / "episodes.csv").read_bytes()
    assert cli("ssd", FIXTURES / "ssd" / "bad_values", "--out", out, "--la-code", LA).exit_code == 1
    assert (out / "episodes.csv").read_bytes() == before
    # a folder that is not an earlier import is never overwritten
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    result = cli("ssd", GOOD, "--out", other, "--la-code", LA)
    assert result.exit_code == 2 and (other / "notes.txt").read_text() == "keep"
