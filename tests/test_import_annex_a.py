"""rhi import annex-a: Ofsted Annex A List 8 as councils send it, and what it can (and cannot) answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analysis.cli import app
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "import" / "annex_a"))
import build_workbook as wbk  # noqa: E402

runner = CliRunner()
KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"
LA = "E09000002"
L8 = wbk.LISTS["List 8"]
MISSING_COL, ABSENT_COL, OFFERED_COL, ACCEPTED_COL = L8[-6], L8[-5], L8[-4], L8[-3]
FIRST = 5  # sheet row of the first child (title, guidance, group labels and header above)


def cli(*args):
    return runner.invoke(app, [*map(str, args)])


def read(out: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{table}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv(ENV_VAR, KEY)
    return Pseudonymiser(KEY.encode())


@pytest.fixture
def imported(tmp_path, key):
    book = wbk.build(tmp_path / "annex_a.xlsx")
    out = tmp_path / "out"
    result = cli("import", "annex-a", book, "--out", out, "--la-code", LA)
    assert result.exit_code == 0, result.output
    return out, result.output


def row_of(table, key, cid):
    return table.set_index("child_id").loc[key.one("person", cid)]


# --- reading the workbook ------------------------------------------------------------------------


def test_list8_read_with_title_rows_merged_header_and_codes(imported, key):
    out, output = imported
    t = read(out, "annex_a_children")
    assert len(t) == 12 and set(t["la_code"]) == {LA}
    first = row_of(t, key, "800101")
    assert (first["sex"], first["legal_status"], first["legal_status_group"]) == ("female", "C2", "care order")
    assert (first["placement_type"], first["placement_group"], first["placement_provider"]) == ("U6", "foster care", "PR4")
    assert (first["placement_location"], first["missing_episodes"], first["absent_episodes"]) == ("out", "4", "1")
    assert (first["rhi_offered"], first["rhi_accepted"], first["uasc"]) == ("true", "true", "false")
    assert row_of(t, key, "800102")["uasc"] == "true" and row_of(t, key, "800102")["rhi_accepted"] == "false"
    assert row_of(t, key, "800106")["sex"] == "unknown"                 # c) Not stated/recorded
    assert row_of(t, key, "800112")["rhi_offered"] == ""                # c) Unknown: not recorded, never "no"
    assert row_of(t, key, "800111")["missing_episodes"] == ""           # blank stays blank, never 0
    assert row_of(t, key, "800110")["legal_status_group"] == "other legal status"     # J1: youth justice
    # 12 months ending on the latest date List 8 records (a social work visit on 20/03/2024)
    assert set(t["period_end"]) == {"2024-03-20"} and set(t["period_start"]) == {"2023-03-21"}
    assert "hidden column(s) read like the others: Placement postcode, Allocated Worker" in output


def test_dates_typed_as_text_and_age_at_leaving_care(imported, key):
    out, _ = imported
    children = read(out, "children")
    assert row_of(children, key, "800103")["date_of_birth"] == "2009-06-21"   # typed 21/06/2009
    assert row_of(children, key, "800101")["date_of_birth"] == "2008-03-14"   # an Excel date cell
    t = read(out, "annex_a_children")
    # left care 14/02/2024 aged 17 (born 05/11/2006): age on leaving, not at the end of the period
    assert row_of(t, key, "800105")["age"] == "17" and row_of(t, key, "800105")["age_band"] == "17"
    assert row_of(t, key, "800109")["age_band"] == "10 or under"


def test_no_child_id_postcode_or_worker_in_outputs(imported):
    out, _ = imported
    text = "".join(p.read_text() for p in out.iterdir() if p.is_file())
    for secret in ("800101", "800112", "ZZ9 9ZZ", "A Worker"):
        assert secret not in text
    report = json.loads((out / "import_report.json").read_text())
    dropped = {d["column"]: d["why"] for d in report["dropped_columns"]}
    assert dropped["Placement postcode"].startswith("identifies") and dropped["Allocated Worker"].startswith("identifies")
    for name in ("police_risk", "rhis", "disclosures", "episodes"):
        assert name in report["unavailable"]


def test_guidance_row_under_the_header_and_a_hidden_column_range(tmp_path, key):
    def edit(ws):
        ws.insert_rows(FIRST)   # a row of hints under the header, as some templates have
        ws.cell(FIRST, wbk.column_of("Date of Birth")).value = "dd/mm/yyyy"
        ws.cell(FIRST, wbk.column_of(OFFERED_COL)).value = "a) Yes / b) No"
        ws.column_dimensions.group("B", "C", hidden=True)   # Gender and Ethnicity hidden as one range
    book = wbk.build(tmp_path / "a.xlsx", edit=edit)
    result = cli("import", "annex-a", book, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 0, result.output
    assert f"row(s) {FIRST} under the header have no Child Unique ID" in result.output
    assert "hidden column(s) read like the others: Gender, Ethnicity" in result.output
    assert len(read(tmp_path / "o", "annex_a_children")) == 12
    assert row_of(read(tmp_path / "o", "annex_a_children"), key, "800101")["sex"] == "female"


def test_headers_worded_differently(tmp_path, key):
    def edit(ws):
        for old, new in ((MISSING_COL, "No. of times missing in last 12 months"),
                         (ABSENT_COL, "Number of absences episodes (last 12 months)"),
                         (OFFERED_COL, "Offered a return home interview after last missing episode?"),
                         (ACCEPTED_COL, "Return home interview accepted?"),
                         ("Child's Legal Status", "Legal status"), ("Gender", "Sex")):
            ws.cell(4, wbk.column_of(old)).value = new
    book = wbk.build(tmp_path / "a.xlsx", edit=edit)
    result = cli("import", "annex-a", book, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 0, result.output
    first = row_of(read(tmp_path / "o", "annex_a_children"), key, "800101")
    assert (first["missing_episodes"], first["absent_episodes"], first["rhi_offered"], first["rhi_accepted"],
            first["legal_status"], first["sex"]) == ("4", "1", "true", "true", "C2", "female")


def test_excel_serial_number_dates(tmp_path, key):
    def edit(ws):
        ws.cell(FIRST, wbk.column_of("Date of Birth")).value = 39521    # 14/03/2008 as a bare serial number
    book = wbk.build(tmp_path / "a.xlsx", edit=edit)
    assert cli("import", "annex-a", book, "--out", tmp_path / "o", "--la-code", LA).exit_code == 0
    assert row_of(read(tmp_path / "o", "children"), key, "800101")["date_of_birth"] == "2008-03-14"


def test_plain_words_and_codes_accepted(tmp_path, key):
    def edit(ws):
        ws.cell(FIRST, wbk.column_of("Gender")).value = "Female"
        ws.cell(FIRST, wbk.column_of("Child's Legal Status")).value = "Full care order"
        ws.cell(FIRST, wbk.column_of("Placement Type")).value = "U6"
        ws.cell(FIRST, wbk.column_of("Placement Location")).value = "Out"
        ws.cell(FIRST, wbk.column_of(OFFERED_COL)).value = "Y"
    book = wbk.build(tmp_path / "a.xlsx", edit=edit)
    result = cli("import", "annex-a", book, "--out", tmp_path / "o", "--la-code", LA)
    assert result.exit_code == 0, result.output
    first = row_of(read(tmp_path / "o", "annex_a_children"), key, "800101")
    assert (first["sex"], first["legal_status"], first["placement_type"], first["placement_location"],
            first["rhi_offered"]) == ("female", "C2", "U6", "out", "true")


# --- faults: every one named by file, sheet, row and column; nothing written ------------------------


def faulty(tmp_path, edit):
    book = wbk.build(tmp_path / "annex_a.xlsx", edit=edit)
    out = tmp_path / "o"
    result = cli("import", "annex-a", book, "--out", out, "--la-code", LA)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not out.exists()
    return result.output


def test_bad_values_named_by_sheet_row_and_column(tmp_path):
    def edit(ws):
        ws.cell(FIRST, wbk.column_of("Child's Legal Status")).value = "X9: nonsense"
        ws.cell(FIRST + 1, wbk.column_of("Placement Type")).value = "somewhere nice"
        ws.cell(FIRST + 2, wbk.column_of("Date of Birth")).value = "31/02/2009"
        ws.cell(FIRST + 3, wbk.column_of(MISSING_COL)).value = "lots"
        ws.cell(FIRST + 4, wbk.column_of("Gender")).value = "e) Robot"
        ws.cell(FIRST + 5, wbk.column_of(OFFERED_COL)).value = "maybe"
    output = faulty(tmp_path, edit)
    where = "annex_a.xlsx, sheet List 8, row"
    assert f"{where} {FIRST}, column Child's Legal Status: value 'X9: nonsense'" in output
    assert f"{where} {FIRST + 1}, column Placement Type: value 'somewhere nice'" in output
    assert f"{where} {FIRST + 2}, column Date of Birth: value '31/02/2009'" in output
    assert f"{where} {FIRST + 3}, column {MISSING_COL}: value 'lots'" in output
    assert f"{where} {FIRST + 4}, column Gender: value 'e) Robot'" in output
    assert f"{where} {FIRST + 5}, column {OFFERED_COL}: value 'maybe'" in output


def test_accepted_but_not_offered_and_offered_without_missing(tmp_path):
    def edit(ws):
        ws.cell(FIRST, wbk.column_of(OFFERED_COL)).value = "b) No"            # accepted stays a) Yes
        ws.cell(FIRST + 3, wbk.column_of(OFFERED_COL)).value = "a) Yes"       # 800104 has 0 missing episodes
    output = faulty(tmp_path, edit)
    assert f"row {FIRST}, column {ACCEPTED_COL}: value 'a) Yes'" in output
    assert f"row {FIRST + 3}, column {OFFERED_COL}: value 'a) Yes'" in output


def test_duplicate_child_and_blank_id(tmp_path):
    def edit(ws):
        ws.cell(FIRST + 1, 1).value = "800101"
        ws.cell(FIRST + 2, 1).value = None
    output = faulty(tmp_path, edit)
    assert f"row {FIRST + 1}, column Child Unique ID: value '800101'" in output
    assert f"row {FIRST + 2}, column Child Unique ID" in output


def test_missing_column_named(tmp_path):
    def edit(ws):
        ws.cell(4, wbk.column_of(OFFERED_COL)).value = "Interview?"
    output = faulty(tmp_path, edit)
    assert "sheet List 8, row 4, column Was the child offered a Return Interview" in output


def test_no_list8_sheet_and_hidden_list8(tmp_path, key):
    def rename(ws):
        ws.title = "Children in care"
    output = faulty(tmp_path, rename)
    assert "a sheet named 'List 8'" in output and "'List 7'" in output

    def hide(ws):
        ws.sheet_state = "hidden"
    (tmp_path / "annex_a.xlsx").unlink()
    assert "List 8 is hidden" in faulty(tmp_path, hide)


def test_not_a_workbook_and_bad_la_code(tmp_path, key):
    bad = tmp_path / "annex_a.xlsx"
    bad.write_text("not a workbook")
    result = cli("import", "annex-a", bad, "--out", tmp_path / "o")
    assert result.exit_code == 1 and "annex_a.xlsx" in result.output and "Traceback" not in result.output
    book = wbk.build(tmp_path / "good.xlsx")
    result = cli("import", "annex-a", book, "--out", tmp_path / "o", "--la-code", "Barking")
    assert result.exit_code == 2 and "--la-code" in result.output


# --- what Annex A can answer -----------------------------------------------------------------------


def analysed(out, suppress):
    from analysis.definitions.annex_a import figures
    from analysis.disclosure import Disclosure

    return figures(out, Disclosure(suppress, 5))


def rows(result, table, **match):
    return [r for r in result["tables"][table] if all(r[k] == v for k, v in match.items())]


def test_counts_per_child_and_repeat_missing(imported):
    out, _ = imported
    r = analysed(out, suppress=False)
    dist = {x["episodes_per_child"]: x["children"] for x in rows(r, "annex_a_episodes_per_child", episodes="missing")}
    assert dist == {"0": 3, "1": 2, "2-4": 4, "5-9": 1, "10 or more": 1, "not recorded": 1}
    absent = {x["episodes_per_child"]: x["children"] for x in rows(r, "annex_a_episodes_per_child", episodes="absent")}
    assert absent == {"0": 6, "1": 2, "2-4": 3, "5-9": 0, "10 or more": 0, "not recorded": 1}
    once, more = r["tables"]["annex_a_repeat_missing"]
    assert (once["count"], once["denominator"]) == (8, 11) and (more["count"], more["denominator"]) == (6, 8)


def test_rhi_offered_and_accepted_by_breakdown(imported):
    out, _ = imported
    r = analysed(out, suppress=False)
    (everyone,) = r["tables"]["annex_a_rhi"]
    # offered: 6 yes, 1 no, 1 unknown among 8 missing children; accepted: 3 of the 5 offered with an answer
    assert (everyone["children_missing"], everyone["offered"], everyone["offer_recorded"]) == (8, 6, 7)
    assert (everyone["offer_not_recorded"], everyone["accepted"], everyone["accept_recorded"]) == (1, 3, 5)
    assert everyone["offered_pct"] == 85.7 and everyone["accepted_pct"] == 60.0
    (out_la,) = rows(r, "annex_a_rhi_by", breakdown="placed in or out of the authority", level="out of the authority")
    assert (out_la["offered"], out_la["offer_recorded"], out_la["accepted"], out_la["accept_recorded"]) == (5, 5, 2, 4)
    (s20,) = rows(r, "annex_a_rhi_by", breakdown="legal status", level="section 20")
    assert (s20["offered"], s20["offer_recorded"], s20["offered_pct"]) == (1, 2, 50.0)
    for breakdown in ("legal status", "placement type", "placed in or out of the authority", "age band", "sex",
                      "unaccompanied asylum-seeking child"):
        assert sum(x["offered"] for x in rows(r, "annex_a_rhi_by", breakdown=breakdown)) == 6
        assert sum(x["offer_recorded"] for x in rows(r, "annex_a_rhi_by", breakdown=breakdown)) == 7


def test_small_counts_suppressed_and_limits_stated(imported):
    out, _ = imported
    r = analysed(out, suppress=True)
    (everyone,) = r["tables"]["annex_a_rhi"]
    assert everyone["offered"] == "c" and everyone["offered_pct"] == "c"
    once = r["tables"]["annex_a_repeat_missing"][0]
    assert once["count"] == "c" and once["pct"] == "c"
    text = " ".join(r["cannot_answer"]).lower()
    for limit in ("police risk", "disclos", "72 hours"):
        assert limit in text
    for table in r["tables"].values():                 # nothing about police grades or disclosures as numbers
        for row in table:
            assert not any("police" in str(k) or "disclos" in str(k) for k in row)


def test_larger_list_shows_counts_and_hides_what_would_reveal_a_small_one(tmp_path, key):
    children = [(f"9{i:05d}",) + c[1:] for i, c in enumerate(wbk.CHILDREN * 6)]
    extra = ("d) Neither", wbk.D(2009, 1, 1), "b) No", "C2: FCO", "f) U6: Foster placement - not FFA",
             "b) PR1 - Own provision", "a) In", 1, 0, "a) Yes", "a) Yes", None)
    children += [("990001",) + extra, ("990002",) + extra]   # two children of the sex 'neither': a small level
    book = wbk.build(tmp_path / "big.xlsx", children=children)
    assert cli("import", "annex-a", book, "--out", tmp_path / "o", "--la-code", LA).exit_code == 0
    r = analysed(tmp_path / "o", suppress=True)
    once = r["tables"]["annex_a_repeat_missing"][0]
    assert once["denominator"] == 68
    (other,) = rows(r, "annex_a_rhi_by", breakdown="sex", level="other")
    assert other["offered"] == "c" and other["offer_recorded"] == "c" and other["offered_pct"] == "c"
    for table in r["tables"].values():                       # no count from 1 to 4 is shown anywhere
        for row in table:
            for k, v in row.items():
                assert not (isinstance(v, int) and 0 < v < 5 and k not in ("pct", "offered_pct", "accepted_pct")), (k, row)
    # 'other' hidden alone would be the total less female, male and unknown: another level is hidden too
    others = [x for x in rows(r, "annex_a_rhi_by", breakdown="sex") if x["level"] != "other"]
    assert any(x["offered"] == "c" for x in others) or r["tables"]["annex_a_rhi"][0]["offered"] == "c"
    unsuppressed = analysed(tmp_path / "o", suppress=False)
    assert unsuppressed["tables"]["annex_a_repeat_missing"][0]["count"] == 50
    (other,) = rows(unsuppressed, "annex_a_rhi_by", breakdown="sex", level="other")
    assert (other["offered"], other["offer_recorded"]) == (2, 2)


def test_dfe_comparison_same_year(imported):
    from analysis.reference.dfe import missing_rates

    out, _ = imported
    r = analysed(out, suppress=False)
    local, dfe = r["tables"]["annex_a_dfe_comparison"]
    assert (local["children_missing"], local["children_looked_after"]) == (8, 11)
    _, rates = missing_rates(2024)
    published = rates[rates["la_code"] == LA].iloc[0]
    assert (dfe["children_missing"], dfe["children_looked_after"]) == (int(published["count"]),
                                                                      int(published["denominator"]))
    assert "31 March 2024" in dfe["source"] and "overlap but differ" in r["dfe_comparison_note"]


def test_dfe_comparison_without_la_code_is_stated_not_zero(tmp_path, key):
    book = wbk.build(tmp_path / "a.xlsx")
    assert cli("import", "annex-a", book, "--out", tmp_path / "o").exit_code == 0
    r = analysed(tmp_path / "o", suppress=False)
    local, dfe = r["tables"]["annex_a_dfe_comparison"]
    assert dfe["children_missing"] is None and dfe["pct"] is None
    assert "--la-code" in r["dfe_comparison_note"]


def test_rhi_figures_command(imported):
    out, _ = imported
    result = cli("figures", out)
    assert result.exit_code == 0, result.output
    assert "Ofsted Annex A, List 8" in result.output and "cannot answer" in result.output
    assert "Police risk grading" in result.output and "Traceback" not in result.output
    data = json.loads(cli("figures", out, "--json", "--no-suppress").output)
    assert data["tables"]["annex_a_repeat_missing"][1]["count"] == 6


def test_bad_annex_a_table_named(imported):
    out, _ = imported
    t = read(out, "annex_a_children")
    t.loc[2, "missing_episodes"] = "three"
    t.to_csv(out / "annex_a_children.csv", index=False)
    for command in ("figures", "validate"):
        result = cli(command, out)
        assert result.exit_code == 1 and "annex_a_children.csv, row 4, column missing_episodes" in result.output


def test_validate_checks_and_names_the_annex_a_table(imported):
    out, _ = imported
    result = cli("validate", out)
    assert result.exit_code == 0 and "annex_a_children.csv (Ofsted Annex A, List 8) is valid: 12 children" in result.output


# --- file to report ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_workbook_to_report_with_the_batch(imported, tmp_path):
    """What make import-report FORMAT=annex-a runs: import (above), then rhi batch; only notebook 05 runs."""
    import re

    out, _ = imported
    run = tmp_path / "run"
    result = cli("batch", out, "--out", run, "--jobs", "1")
    assert result.exit_code == 0, result.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["disclosure_audit"]["ok"] and manifest["publication"]["cells"] > 50
    status = json.loads((run / "all" / "status.json").read_text())
    assert status["status"] == "ok" and status["notebooks"] == ["05_annex_a.ipynb"]
    text = re.sub(r"<[^>]+>", " ", (run / "all" / "report.html").read_text())
    assert "What Annex A cannot answer" in text and "Police risk grading" in text and "72 hours" in text
    assert "Traceback" not in text and " nan " not in text.lower()
    everything = "".join(p.read_text(errors="ignore") for p in run.rglob("*") if p.suffix in (".html", ".csv", ".json"))
    assert "800101" not in everything and "ZZ9 9ZZ" not in everything
    published = (run / "all" / "tables" / "annex_a_repeat_missing.csv").read_text()
    assert "children missing at least once,c,c,c" in published      # 8 of 11: a small table, suppressed
