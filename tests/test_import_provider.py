"""rhi import provider: a wide tick-box export plus a mapping YAML (the shipped example, and faults)."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.importers import ImportFailure, run_import
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser

runner = CliRunner()

FIXTURES = Path(__file__).parent / "fixtures" / "import"
KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"  # secrets.token_hex(32): weak keys are refused


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


ROOT = FIXTURES.parent.parent.parent
EXPORT = ROOT / "examples" / "provider_export_example.csv"
TEMPLATE = ROOT / "src" / "analysis" / "templates" / "provider_mapping_example.yaml"
MAPPING = FIXTURES / "provider" / "mapping.yaml"


def cli(*args):
    return runner.invoke(app, ["import", *map(str, args)])


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)


def test_fixture_mapping_is_the_shipped_example():
    assert MAPPING.read_text() == TEMPLATE.read_text()


def test_shipped_example_imports_cleanly(tmp_path):
    out = tmp_path / "out"
    result = cli("provider", EXPORT, "--mapping", TEMPLATE, "--out", out)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    assert "Referral source" in result.output  # an unmapped column is listed


def test_rows_become_rhis_episodes_links_and_disclosures(tmp_path):
    out = tmp_path / "out"
    ds, report = run_import("provider", EXPORT, out, mapping=TEMPLATE)
    p = Pseudonymiser(KEY.encode())
    assert len(read(out, "children")) == 5 and len(read(out, "rhis")) == 7 and len(read(out, "episodes")) == 7
    episodes = read(out, "episodes").set_index("episode_id")
    e1 = episodes.loc[p.one("episode", "EP-9001")]
    assert (e1["missing_start"], e1["missing_end"], e1["police_risk"], e1["la_code"]) == \
        ("2023-05-02 21:30", "2023-05-03 14:00", "medium", "E08000025")
    assert episodes.loc[p.one("episode", "EP-9006"), "police_risk"] == "no_apparent_risk"
    rhis = read(out, "rhis")
    assert sorted(rhis["status"]) == ["completed"] * 5 + ["declined", "no_contact"]
    declined = rhis[rhis["status"] == "declined"].iloc[0]
    assert declined["decline_reason"] == "child_declined" and declined["legal_status"] == "child_protection"
    first = rhis[rhis["completed_at"] == "2023-05-05"].iloc[0]
    assert (first["consent_to_share"], first["follow_up"], first["helpline_signposted"], first["shared_wider"]) == \
        ("all", "signposted", "true", "false")
    disc = read(out, "disclosures")
    # ticks: x, Yes, ✓ and Y count; "No" does not
    assert len(disc) == 12
    r1 = set(disc.loc[disc["rhi_id"] == first["rhi_id"], "indicator"])
    assert r1 == {"cse_victim", "rf_older_associates", "mental_health"}
    links = read(out, "rhi_episodes")
    assert len(links) == 7 and set(links["rhi_id"]) == set(rhis["rhi_id"])
    assert report.unavailable == ["missing_from", "episode_type", "found_location"]


def test_same_episode_on_two_rows_is_one_episode(tmp_path):
    frame = pd.read_csv(EXPORT, dtype=str, keep_default_na=False)
    extra = frame.iloc[[1]].copy()   # the declined interview's episode, followed by a completed interview
    extra["Outcome"], extra["Date of RHI"], extra["Decline reason"] = "Completed", "14/06/2023", ""
    export = tmp_path / "export.csv"
    pd.concat([frame, extra]).to_csv(export, index=False)
    run_import("provider", export, tmp_path / "out", mapping=TEMPLATE)
    assert len(read(tmp_path / "out", "episodes")) == 7
    assert len(read(tmp_path / "out", "rhis")) == 8 and len(read(tmp_path / "out", "rhi_episodes")) == 8


def test_conflicting_episode_rows_are_an_error(tmp_path):
    frame = pd.read_csv(EXPORT, dtype=str, keep_default_na=False)
    extra = frame.iloc[[1]].copy()
    extra["Police risk"] = "High"
    export = tmp_path / "export.csv"
    pd.concat([frame, extra]).to_csv(export, index=False)
    result = cli("provider", export, "--mapping", TEMPLATE, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "export.csv, row 9, column Police risk: value 'high': expected the same police_risk as this episode " \
           "on row 3" in result.output


def test_missing_column_suggests_closest_and_names_mapping_key(tmp_path):
    result = cli("provider", FIXTURES / "provider" / "export_missing_column.csv", "--mapping", MAPPING,
                 "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert "export_missing_column.csv, row 1, column Young Person ID" in result.output
    assert "fields.child_id in mapping.yaml" in result.output and "'Young Person Ref'" in result.output
    assert not (tmp_path / "o").exists()


def test_bad_values_named_by_file_row_column(tmp_path):
    result = cli("provider", FIXTURES / "provider" / "export_bad_values.csv", "--mapping", MAPPING,
                 "--out", tmp_path / "o")
    assert result.exit_code == 1
    out = result.output
    assert "export_bad_values.csv, row 2, column Date of RHI: value '31/02/2023': expected a date as dd/mm/yyyy" in out
    assert "row 5, column Outcome: value 'Finished'" in out
    assert "row 6, column Self-harm: value 'maybe'" in out
    assert "row 3, column Drugs: value 'x': expected blank, because this interview's status is declined" in out
    assert "Traceback" not in out and not (tmp_path / "o").exists()


def test_xlsx_export_with_date_cells(tmp_path):
    frame = pd.read_csv(EXPORT, dtype=str, keep_default_na=False)
    frame["Date of RHI"] = pd.to_datetime(frame["Date of RHI"], format="%d/%m/%Y", errors="coerce")
    export = tmp_path / "export.xlsx"
    frame.to_excel(export, sheet_name="RHIs", index=False)
    csv_out, xlsx_out = tmp_path / "csv", tmp_path / "xlsx"
    run_import("provider", EXPORT, csv_out, mapping=TEMPLATE)
    run_import("provider", export, xlsx_out, mapping=TEMPLATE)
    for table in ("children", "episodes", "rhis", "rhi_episodes", "disclosures"):
        assert (csv_out / f"{table}.csv").read_bytes() == (xlsx_out / f"{table}.csv").read_bytes(), table


@pytest.mark.parametrize("edit, message", [
    (("child_id: Young Person ID", "child_idd: Young Person ID"), "fields.child_idd: not a contract field; did you mean child_id?"),
    (("cse_victim: CSE - victim", "cse_victm: CSE - victim"), "indicators.cse_victm: not an indicator of the contract; did you mean cse_victim?"),
    (('true_values: ["Yes", "Y", "x", "✓", "1", "TRUE"]', "true_values: [Yes, x]"), "put it in quotes"),
    (("  status: Outcome ", "  # status: Outcome "), "fields.status: required"),
])
def test_mapping_faults_name_the_key(tmp_path, edit, message):
    text = TEMPLATE.read_text()
    assert edit[0] in text
    mapping = tmp_path / "m.yaml"
    mapping.write_text(text.replace(edit[0], edit[1]))
    with pytest.raises(ImportFailure) as err:
        run_import("provider", EXPORT, tmp_path / "o", mapping=mapping)
    assert "m.yaml" in str(err.value) and message in str(err.value)


def test_report_lists_mapping_and_unknown_columns(tmp_path):
    out = tmp_path / "out"
    run_import("provider", EXPORT, out, mapping=TEMPLATE)
    data = json.loads((out / "import_report.json").read_text())
    assert {"file": "provider_export_example.csv", "column": "Referral source"} in data["unknown_columns"]
    assert {d["column"] for d in data["dropped_columns"]} == {"First name", "Surname", "Address", "Worker notes"}
    assert data["tables"] == {"children": 5, "episodes": 7, "rhis": 7, "rhi_episodes": 7, "disclosures": 12}
    assert "police_risk" not in data["unavailable"]


def test_export_without_episode_columns_needs_no_la_but_says_what_is_missing(tmp_path):
    text = TEMPLATE.read_text()
    for line in ("  episode_id: Missing episode ref", "  missing_start: {column: Date missing",
                 "  missing_end: {column: Date found", "  police_risk: Police risk"):
        text = "\n".join(("# " + l) if l.startswith(line) else l for l in text.splitlines())
    mapping = tmp_path / "m.yaml"
    mapping.write_text(text)
    out = tmp_path / "out"
    _, report = run_import("provider", EXPORT, out, mapping=mapping)
    assert "episodes" in report.unavailable and len(read(out, "episodes")) == 0
