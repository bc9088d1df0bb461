"""rhi import ssda903: Missing and Header tables laid out as the SSDA903 return writes them."""

from __future__ import annotations

import json
from pathlib import Path
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser

runner = CliRunner()

FIXTURES = Path(__file__).parent / "fixtures" / "import"
KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"  # secrets.token_hex(32): weak keys are refused


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


GOOD = FIXTURES / "ssda903" / "good"
LA = "E09000002"


def cli(*args):
    return runner.invoke(app, ["import", *map(str, args)])


@pytest.fixture
def out(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    folder = tmp_path / "out"
    result = cli("ssda903", GOOD, "--out", folder, "--la-code", LA)
    assert result.exit_code == 0, result.output
    return folder


def test_episodes_from_missing_table(out):
    episodes = read(out, "episodes")
    assert len(episodes) == 5
    assert set(episodes["legal_status"]) == {"looked_after"} and set(episodes["la_code"]) == {LA}
    assert sorted(episodes["episode_type"]) == ["away"] + ["missing"] * 4   # A -> away, lower-case m accepted
    assert "2023-05-02" in set(episodes["missing_start"])                   # dd/mm/yyyy -> ISO
    assert (episodes["missing_end"] == "").sum() == 1                       # still missing
    assert episodes["episode_id"].is_unique                                 # same child and day twice: two ids
    assert set(episodes["police_risk"]) == {""}


def test_children_sex_codes_and_uasc(out):
    p = Pseudonymiser(KEY.encode())
    children = read(out, "children").set_index("child_id")
    assert len(children) == 3                                # 903004 has no missing episode
    assert children.loc[p.one("person", "903001"), "sex"] == "male"       # SEX 1
    assert children.loc[p.one("person", "903002"), "sex"] == "female"     # SEX 2
    assert children.loc[p.one("person", "903002"), "uasc"] == "true"      # listed in UASC.csv
    assert children.loc[p.one("person", "903001"), "uasc"] == "false"
    assert children.loc[p.one("person", "903001"), "date_of_birth"] == "2006-02-14"
    assert "UPN" not in children.columns


def test_no_rhis_and_report_says_so(out):
    assert len(read(out, "rhis")) == 0 and len(read(out, "disclosures")) == 0
    data = json.loads((out / "import_report.json").read_text())
    for name in ("police_risk", "rhis", "disclosures", "missing_from"):
        assert name in data["unavailable"]
    assert any(d["column"] == "UPN" for d in data["dropped_columns"])


def test_exact_repeat_rows_kept_once(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    shutil.copytree(GOOD, src)
    lines = (src / "Missing.csv").read_text().splitlines()
    (src / "Missing.csv").write_text("\n".join(lines + [lines[1]]) + "\n")
    result = cli("ssda903", src, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 0, result.output
    assert len(read(tmp_path / "o", "episodes")) == 5 and "kept once" in result.output


def test_bad_code_and_date_named_by_file_row_column(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssda903", FIXTURES / "ssda903" / "bad_values", "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1
    assert "MISSING.csv, row 3, column MISSING: value 'Z'" in result.output       # upper-case file name found
    assert "MISSING.csv, row 4, column MIS_START: value '31/02/2023'" in result.output
    assert not (tmp_path / "o").exists()


def test_missing_header_column(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssda903", FIXTURES / "ssda903" / "bad_layout", "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1
    assert "Header.csv, row 1, column SEX" in result.output and "Traceback" not in result.output


def test_missing_file_named(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(GOOD / "Missing.csv", src / "Missing.csv")
    result = cli("ssda903", src, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1 and "Header.csv" in result.output


def test_la_code_required(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssda903", GOOD, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "--la-code" in result.output


# --- the full return: Header, Episodes, Missing (and last year's Missing) ------------------------------

FULL = FIXTURES / "ssda903" / "full"
MISSING_HEADER = "CHILD,DOB,MISSING,MIS_START,MIS_END"


@pytest.fixture
def full(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    folder = tmp_path / "out"
    result = cli("ssda903", FULL, "--out", folder, "--la-code", LA)
    assert result.exit_code == 0, result.output
    return folder, result.output


def by_start(out):
    p = Pseudonymiser(KEY.encode())
    episodes = read(out, "episodes")
    episodes["child"] = episodes["child_id"].map({p.one("person", c): c for c in
                                                  ("903101", "903102", "903103", "903105")})
    return episodes.set_index(["child", "missing_start"])


def test_full_return_legal_status_and_placement_on_each_start(full):
    out, output = full
    e = by_start(out)
    assert len(e) == 8
    # 903101 moved from foster care (U4, own provision) to a children's home (K2, private) on 15/09/2023
    assert tuple(e.loc[("903101", "2023-05-02"), ["cla_legal_status", "cla_placement_type",
                                                  "cla_placement_provider"]]) == ("C2", "U4", "PR1")
    assert tuple(e.loc[("903101", "2023-10-20"), ["cla_placement_type", "cla_placement_provider"]]) == ("K2", "PR4")
    assert e.loc[("903102", "2023-07-21"), "cla_legal_status"] == "V2"
    assert e.loc[("903103", "2023-03-30"), "cla_legal_status"] == "C1"        # before the episode ended
    assert set(e["missing_from"]) == {""}        # the real Episodes layout has no PL_LA or PL_LOCATION
    assert "564, 565, 567, 570, 571, 574, 575, 576, 577, 578, 581, 586, 1004, 1005" in output
    data = json.loads((out / "import_report.json").read_text())
    assert "missing_from" in data["unavailable"]
    assert {"file": "Episodes.csv", "column": "PL_POST", "why": "a postcode or a provider's URN"} in data["dropped_columns"]
    text = "".join(p.read_text() for p in out.iterdir() if p.is_file())
    assert "ZZ9" not in text and "SC99999" not in text and "903101" not in text


@pytest.mark.parametrize("column,values,expected", [
    ("PL_LOCATION", ["OUT", "IN", "IN", "IN", "IN", "OUT"], {"2023-05-02": "care_out_of_area",
                                                              "2023-10-20": "care_in_area"}),
    ("PL_LA", ["816", "301", "301", "301", "301", "WAL"], {"2023-05-02": "care_out_of_area",
                                                           "2023-10-20": "care_in_area"}),
])
def test_setting_from_placement_la_or_location(tmp_path, monkeypatch, column, values, expected):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    shutil.copytree(FULL, src)
    lines = (src / "Episodes.csv").read_text().splitlines()
    (src / "Episodes.csv").write_text("\n".join([lines[0] + f",{column}"] +
                                                [f"{l},{v}" for l, v in zip(lines[1:], values)]) + "\n")
    result = cli("ssda903", src, "--out", tmp_path / "o", "--la-code", LA)   # 301: Barking and Dagenham's DfE code
    assert result.exit_code == 0, result.output
    e = by_start(tmp_path / "o")
    for start, setting in expected.items():
        assert e.loc[("903101", start), "missing_from"] == setting
    assert e.loc[("903105", "2023-11-14"), "missing_from"] == ("care_out_of_area")


def test_bad_episode_code_named(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    shutil.copytree(FULL, src)
    text = (src / "Episodes.csv").read_text().replace("903102,01/06/2023,S,V2,N4,U6", "903102,01/06/2023,S,V9,N4,Q6")
    (src / "Episodes.csv").write_text(text)
    result = cli("ssda903", src, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 1 and not (tmp_path / "o").exists()
    assert "Episodes.csv, row 4, column LS: value 'V9'" in result.output
    assert "Episodes.csv, row 4, column PLACE: value 'Q6'" in result.output


# --- the DfE's 903 rules for missing periods: one hand-built failing case each ------------------------


def dfe_rule_case(tmp_path, monkeypatch, missing_rows, last_rows=None, *args):
    """A return with the full fixture's Header and Episodes and these Missing rows; the import must fail."""
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("Header.csv", "Episodes.csv"):
        shutil.copy(FULL / name, src / name)
    (src / "Missing.csv").write_text("\n".join([MISSING_HEADER, *missing_rows]) + "\n")
    if last_rows is not None:
        (src / "Missing_last.csv").write_text("\n".join([MISSING_HEADER, *last_rows]) + "\n")
    out = tmp_path / "o"
    result = cli("ssda903", src, "--out", out, "--la-code", LA, *args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not out.exists()
    return result.output


def names_rule(output, code, file, row, column):
    lines = [l for l in output.splitlines() if f"[DfE 903 rule {code}]" in l]
    assert any(f"{file}, row {row}, column {column}" in l for l in lines), output
    return True


def test_rule_564_type_without_start(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,,"])
    assert names_rule(out, "564", "Missing.csv", 2, "MIS_START")


def test_rule_565_start_without_type(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,,21/07/2023,22/07/2023"])
    assert names_rule(out, "565", "Missing.csv", 2, "MISSING")


def test_rule_567_end_before_start(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,21/07/2023,20/07/2023"])
    assert names_rule(out, "567", "Missing.csv", 2, "MIS_END")


def test_rule_570_start_after_collection_year(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,21/07/2023,22/07/2023"], None,
                        "--collection-year", "2022-23")
    assert names_rule(out, "570", "Missing.csv", 2, "MIS_START")


def test_rule_571_end_outside_collection_year(tmp_path, monkeypatch):
    # the return's latest date (an episode ended 15/09/2023) puts it in 2023-24; this period ended in March 2023
    out = dfe_rule_case(tmp_path, monkeypatch, ["903103,28/11/2009,M,01/03/2023,05/03/2023"])
    assert names_rule(out, "571", "Missing.csv", 2, "MIS_END")


def test_rule_574_new_period_while_one_is_open(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,21/07/2023,",
                                                "903102,03/09/2007,A,01/08/2023,02/08/2023"])
    assert names_rule(out, "574", "Missing.csv", 3, "MIS_START")


def test_rule_574_overlapping_periods(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,21/07/2023,25/07/2023",
                                                "903102,03/09/2007,M,23/07/2023,24/07/2023"])
    assert names_rule(out, "574", "Missing.csv", 2, "MIS_START")


def test_rule_575_open_period_after_its_placement_ended(tmp_path, monkeypatch):
    # 903101's first placement ended 15/09/2023; a period started in it is still open
    out = dfe_rule_case(tmp_path, monkeypatch, ["903101,14/02/2008,M,02/05/2023,"])
    assert names_rule(out, "575", "Missing.csv", 2, "MIS_END")
    assert "rule 577" not in out            # the child is still looked after (the next placement is open)


def test_rule_576_period_open_last_year_not_carried_on(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903103,28/11/2009,M,05/04/2023,09/04/2023"],
                        ["903103,28/11/2009,M,30/03/2023,"])
    assert names_rule(out, "576", "Missing.csv", 2, "MIS_START")


def test_rule_576_child_missing_from_this_year(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,21/07/2023,22/07/2023"],
                        ["903101,14/02/2008,M,10/02/2023,11/02/2023", "903103,28/11/2009,M,30/03/2023,"])
    assert names_rule(out, "576", "Missing_last.csv", 3, "MIS_END")


def test_rule_577_period_ends_after_care_ended(tmp_path, monkeypatch):
    # 903103 ceased to be looked after on 01/06/2023
    out = dfe_rule_case(tmp_path, monkeypatch, ["903103,28/11/2009,M,30/05/2023,03/06/2023"])
    assert names_rule(out, "577", "Missing.csv", 2, "MIS_END")


def test_rule_578_start_after_care_ended(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903103,28/11/2009,M,10/06/2023,11/06/2023"])
    assert names_rule(out, "578", "Missing.csv", 2, "MIS_START")


def test_rule_581_start_before_care_began(tmp_path, monkeypatch):
    # 903104 became looked after on 01/04/2023
    out = dfe_rule_case(tmp_path, monkeypatch, ["903104,01/01/2012,M,15/03/2023,16/03/2023"])
    assert names_rule(out, "581", "Missing.csv", 2, "MIS_START")


def test_rule_586_start_before_birth(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2023,M,21/07/2023,22/07/2023"])
    assert names_rule(out, "586", "Missing.csv", 2, "MIS_START")


def test_rule_1004_start_not_a_date(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,32/07/2023,"])
    assert names_rule(out, "1004", "Missing.csv", 2, "MIS_START")


def test_rule_1005_end_not_a_date(tmp_path, monkeypatch):
    out = dfe_rule_case(tmp_path, monkeypatch, ["903102,03/09/2007,M,21/07/2023,22/13/2023"])
    assert names_rule(out, "1005", "Missing.csv", 2, "MIS_END")


def test_each_rule_only_where_it_applies(tmp_path, monkeypatch):
    """The full return passes every rule; rows elsewhere in a failing return are not blamed."""
    out = dfe_rule_case(tmp_path, monkeypatch, ["903101,14/02/2008,M,02/05/2023,03/05/2023",
                                                "903102,03/09/2007,M,21/07/2023,20/07/2023"])
    assert "row 2" not in out and names_rule(out, "567", "Missing.csv", 3, "MIS_END")


def test_bad_collection_year(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    result = cli("ssda903", FULL, "--out", tmp_path / "o", "--la-code", LA, "--collection-year", "next year")
    assert result.exit_code == 2 and "--collection-year" in result.output


def test_report_section_states_what_the_return_cannot_answer(full, tmp_path):
    from analysis.importers.report import limits_section

    out, _ = full
    section = limits_section(out)
    assert section["title"] == "What this source cannot answer"
    assert "imported from an SSDA903 return" in section["html"]
    assert "<strong>rhis</strong>: the return holds no return home interviews" in section["html"]
    assert "<strong>episodes.police_risk</strong>" in section["html"] and "never as 0" in section["html"]
    assert limits_section(tmp_path) is None and limits_section(None) is None   # not an imported dataset


@pytest.mark.slow
def test_full_return_goes_to_a_report_with_x_not_zero(full, tmp_path):
    """A 903 return has no RHIs or police grades: the report runs, and what it cannot supply reads x."""
    import pandas as pd

    from analysis.run.batch import run_batch

    out, _ = full
    record = run_batch(out, tmp_path / "run", all_only=True, jobs=1, progress=False)
    assert record["summary"]["failed"] == [], record["summary"]["failed"]
    flow = pd.read_csv(tmp_path / "run" / "all" / "tables" / "record_flow.csv", dtype=str,
                       keep_default_na=False).set_index("stage")["count"]
    assert flow["RHI rows read"] == "x" and flow["risk-coded episodes"] == "x"
    assert flow["notified episodes"] not in ("x", "0")
    html = (tmp_path / "run" / "all" / "report.html").read_text()
    assert "not available in this source" in html and "never as 0" in html
