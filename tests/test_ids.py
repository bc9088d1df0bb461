"""Identifiers are compared ignoring case and surrounding spaces (docs/data-contract.md, "Identifiers").

Hand-built datasets where a case-sensitive reading gives a different answer: a repeated episode written
``ep00001`` and ``EP00001`` is one episode written twice (an error naming both rows, not two episodes
counted), and a link or a child written in another case is the same record.
"""

from __future__ import annotations

import pytest
from builders import child, disc, episode, frames, link, load, rhi, write
from typer.testing import CliRunner

from analysis.cli import app
from analysis.disclosure import Disclosure
from analysis.definitions.figures import compute_figures
from analysis.definitions.populations import Params, Populations
from analysis.errors import DatasetError
from analysis.importers import run_import
from analysis.importers.pseudonymise import ENV_VAR, Pseudonymiser

KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"
runner = CliRunner()


def two_episodes(first_id: str, second_id: str) -> dict:
    return dict(children=[child("c1")],
                episodes=[episode(first_id, "c1", "2017-08-01 20:00"), episode(second_id, "c1", "2017-08-01 20:00")])


def test_an_episode_repeated_in_another_case_is_an_error_naming_both_rows(tmp_path):
    with pytest.raises(DatasetError) as err:
        load(tmp_path / "d", **two_episodes("ep00001", "EP00001"))
    [problem] = err.value.problems
    assert str(problem) == ("episodes.csv, row 3, column episode_id: value 'EP00001': expected each episode_id once: "
                            "row 2 has 'ep00001', the same id once case is ignored (ids are compared ignoring case "
                            "and surrounding spaces)")


def test_an_exact_repeat_names_both_rows_too(tmp_path):
    with pytest.raises(DatasetError) as err:
        load(tmp_path / "d", **two_episodes("ep00001", "ep00001"))
    assert "row 3, column episode_id: value 'ep00001': expected each episode_id once: row 2 has the same id" \
        in str(err.value.problems[0])


def test_surrounding_spaces_are_not_part_of_an_id(tmp_path):
    with pytest.raises(DatasetError) as err:
        load(tmp_path / "d", **two_episodes("ep00001", "  ep00001 "))
    assert "row 2 has the same id" in str(err.value.problems[0])


@pytest.mark.parametrize("table, column", [("children", "child_id"), ("rhis", "rhi_id")])
def test_children_and_rhis_are_unique_ignoring_case_too(tmp_path, table, column):
    tables = dict(children=[child("c1"), child("C1")] if table == "children" else [child("c1")],
                  rhis=[rhi("r1", "c1"), rhi("R1", "c1")] if table == "rhis" else [])
    with pytest.raises(DatasetError) as err:
        load(tmp_path / "d", **tables)
    assert any(p.source == f"{table}.csv" and p.row == 3 and p.column == column
               and "row 2 has" in p.expected for p in err.value.problems)


def linked(case) -> dict:
    """One child, one in-scope episode, one completed RHI with a disclosure; ``case`` spells the mentions."""
    return dict(children=[child("c1")],
                episodes=[episode("e1", case("c1"), "2017-08-01 20:00")],
                rhis=[rhi("r1", case("c1"), completed_at="2017-08-03 10:00")],
                links=[link(case("r1"), case("e1"))], disclosures=[disc(case("r1"), "cse_victim")])


def test_links_in_another_case_are_the_same_records(tmp_path):
    same = load(tmp_path / "same", **linked(str))
    other = load(tmp_path / "other", **linked(str.upper))     # C1, R1, E1 where the tables define c1, r1, e1
    for ds in (same, other):
        pop = Populations(ds, Params())
        assert len(pop.in_scope) == 1 and len(pop.rhis) == 1 and len(pop.children) == 1
        assert pop.prevalence("cse_victim") == (1, 1)
    assert set(other.rhi_episodes["episode_id"]) == {"e1"}     # written as the defining row spells it
    a = compute_figures(same, Params(), control=Disclosure(False, 5))["figures"]
    b = compute_figures(other, Params(), control=Disclosure(False, 5))["figures"]
    assert {k: (f["count"], f["denominator"]) for k, f in a.items()} == \
        {k: (f["count"], f["denominator"]) for k, f in b.items()}


def test_a_case_sensitive_reading_would_count_the_child_twice(tmp_path):
    """Two episodes of one child, the second naming it in capitals: one child with a repeat episode."""
    ds = load(tmp_path / "d", children=[child("c1")],
              episodes=[episode("e1", "c1", "2017-08-01 20:00"), episode("e2", "C1", "2017-09-01 20:00")])
    profile = Populations(ds, Params()).in_scope_profile
    assert profile["child_id"].nunique() == 1 and list(profile["repeat"]) == [False, True]


def test_the_cli_reports_a_case_duplicate_with_both_rows(tmp_path):
    folder = write(tmp_path / "d", **two_episodes("ep00001", "EP00001"))
    result = runner.invoke(app, ["validate", str(folder)])
    assert result.exit_code == 1 and "row 3, column episode_id" in result.output and "row 2 has 'ep00001'" \
        in result.output


# --- imports: a source id in another case is the same person ----------------------------------

def test_pseudonyms_ignore_case_and_surrounding_spaces():
    p = Pseudonymiser(KEY.encode())
    assert p.one("person", "yp-0001") == p.one("person", " YP-0001 ") == p.one("person", "YP-0001")
    assert p.one("person", "YP-0001") != p.one("person", "YP-0002")


def test_a_provider_export_naming_a_child_in_another_case_imports_one_child(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.setenv(ENV_VAR, KEY)
    root = Path(__file__).resolve().parents[1]
    export = root / "examples" / "provider_export_example.csv"
    mapping = root / "src" / "analysis" / "templates" / "provider_mapping_example.yaml"
    lines = export.read_text().splitlines()
    assert lines[3].startswith("YP-0002,")                   # Ben's second interview
    lines[3] = "yp-0002" + lines[3][len("YP-0002"):]
    edited = tmp_path / "export.csv"
    edited.write_text("\n".join(lines) + "\n")
    ds, _ = run_import("provider", export, tmp_path / "a", mapping=mapping)
    ds2, _ = run_import("provider", edited, tmp_path / "b", mapping=mapping)
    assert len(ds2.children) == len(ds.children) == 5
    assert sorted(ds2.rhis["child_id"]) == sorted(ds.rhis["child_id"])
