"""The audit of published figures: verdicts on A Safer Return, and hand-built cases for each check."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from analysis.reference.audit import (BEYOND, CONSISTENT, IMPOSSIBLE, INCONSISTENT, NOT_TESTABLE, OVERLAP, audit_reference,
                            inconsistent_figures, parse_words, possible_counts, rounds_to)
from analysis.cli import app
from analysis.reference.compare import load_reference

REFERENCE = load_reference()


@pytest.fixture(scope="module")
def asr():
    return audit_reference(REFERENCE)


def verdict(table, figure, check):
    rows = table[(table["figure"] == figure) & (table["check"] == check)]
    assert len(rows) == 1, (figure, check)
    return rows.iloc[0]


# --- A Safer Return --------------------------------------------------------------------------------

def test_high_risk_share_count_and_percentage_disagree(asr):
    row = verdict(asr, "high_share_of_coded", "count vs percentage")
    assert row["verdict"] == INCONSISTENT and "3.4%" in row["reason"]
    assert verdict(asr, "high_share_of_coded", "GRIM")["verdict"] == CONSISTENT   # 52/1490 would print 3.5%
    assert verdict(asr, "high_share_of_coded", "GRIM")["possible"] == "52"


def test_cohorts_exceed_the_children_only_by_overlap(asr):
    row = verdict(asr, "cohorts of RHI children", "parts vs whole (overlap)")
    assert row["verdict"] == OVERLAP and "by at least 9" in row["reason"]          # 80 + 88 + 55 = 223 > 214
    assert verdict(asr, "looked-after cohort printed twice", "parts vs whole (sum)")["verdict"] == CONSISTENT


def test_medium_and_low_add_up_only_at_the_printed_precision(asr):
    # 92.5% of 1,490 can only be 1,378; a whole 4% allows 53 to 67, and 1,378 + 61 = 1,439: possible.
    # Read to one decimal like medium (4.0%: 59 or 60), the parts make 1,437 or 1,438, never 1,439.
    row = verdict(asr, "medium or low = medium + low", "parts vs whole (sum)")
    assert row["verdict"] == CONSISTENT and "low_share_of_coded [53 to 67]" in row["printed"]
    assert "only at the printed precision" in row["reason"] and "1437 to 1438, not 1439" in row["reason"]
    row = verdict(asr, "police risk of risk-coded episodes", "parts vs whole (sum)")
    assert row["verdict"] == CONSISTENT and "not 1490" in row["reason"]


def test_population_sizes_agree_with_each_other(asr):
    row = verdict(asr, "notified = risk-coded + no risk code", "parts vs whole (sum)")
    assert row["verdict"] == CONSISTENT and "no_risk_code_share [414 to 432]" in row["printed"]   # 431 = 22.4%
    for name in ("risk-coded = medium or low + high", "risk-coded populations = medium/low + high",
                 "medium or low episodes printed twice", "high-risk episodes printed twice"):
        assert verdict(asr, name, "parts vs whole (sum)")["verdict"] == CONSISTENT, name
    assert verdict(asr, "cohorts of high-risk episodes", "parts vs whole (sum)")["possible"] == "51"   # 21 + 22 + 8


def test_high_risk_children_missing_more_than_once_count_other_episodes(asr):
    # 42 children had the 51 high-risk episodes: at most 9 of them can have had two, yet 23 "went missing more than once".
    row = verdict(asr, "high-risk children missing more than once", "parts vs whole (repeats)")
    assert row["verdict"] == BEYOND and "at most 9" in row["reason"]
    row = verdict(asr, "repeat medium/low episodes", "parts vs whole (repeats)")
    assert row["verdict"] == CONSISTENT and row["possible"] == "914 to 928"           # 64% of 1,439; 1,439 - 511 = 928


def test_children_figure_on_an_episode_population_uses_the_children(asr):
    row = verdict(asr, "high_children_missing_more_than_once", "count vs percentage")
    assert row["verdict"] == CONSISTENT and "of 42" in row["printed"]       # 23/42 = 54.8%


def test_every_other_testable_figure_passes(asr):
    assert set(inconsistent_figures(REFERENCE)) == {"high_share_of_coded"}
    failing = asr[~asr["verdict"].isin([CONSISTENT, NOT_TESTABLE])]
    assert sorted(failing["figure"]) == sorted(["high_share_of_coded", "cohorts of RHI children",
                                                "high-risk children missing more than once"])
    assert verdict(asr, "cse_victim", "GRIM")["verdict"] == CONSISTENT            # 14% of 214: 29/214 = 13.6% to 31/214 = 14.5%
    assert verdict(asr, "cse_victim", "GRIM")["possible"] == "29, 30, 31"
    row = verdict(asr, "children_missing_from_care", "GRIM")
    assert row["verdict"] == NOT_TESTABLE and "denominator unknown" in row["reason"]
    assert (asr["verdict"] == NOT_TESTABLE).sum() == 10


def test_the_audit_uses_numbers_not_comments(tmp_path):
    # The shared copy and the packaged copy differ only in their comments; the audits are the same.
    shared = tmp_path / "plain.yaml"
    shared.write_text(yaml.safe_dump(REFERENCE))
    key = ["figure", "check"]
    plain = audit_reference(yaml.safe_load(shared.read_text())).sort_values(key, ignore_index=True)
    assert plain.equals(audit_reference(REFERENCE).sort_values(key, ignore_index=True))


# --- the checks by hand ----------------------------------------------------------------------------

def test_rounding_modes_exactly_at_half():
    assert rounds_to(1, 8, 13, 0)                       # 12.5 -> 13 half up
    assert not rounds_to(1, 8, 13, 0, "half_even")      # 12.5 -> 12 half to even
    assert rounds_to(1, 8, 12, 0, "half_even")
    assert possible_counts(33, 7, 0) == []              # 2/7 = 28.6%, 3/7 = 42.9%
    assert possible_counts(92.5, 1490, 1) == [1378]
    assert possible_counts(4, 1490, 0) == list(range(53, 68))      # 3.5% <= k/1490 < 4.5%
    assert possible_counts(97, 1490, 0) == list(range(1438, 1453))


def hand(figures, populations=None):
    return {"populations": populations or {"kids": {"unit": "children", "n": 7}, "whole": {"unit": "children", "n": 10}},
            "figures": figures}


def test_grim_flags_an_impossible_percentage():
    table = audit_reference(hand([{"id": "x", "population": "kids", "unit": "children", "pct": 33}]))
    row = verdict(table, "x", "GRIM")
    assert row["verdict"] == IMPOSSIBLE and row["possible"] == "29% (2/7) or 43% (3/7)"
    assert "x" in inconsistent_figures(hand([{"id": "x", "population": "kids", "unit": "children", "pct": 33}]))


def test_half_even_only_is_reported_as_such():
    ref = hand([{"id": "y", "population": "x8", "unit": "children", "pct": 12}],
               {"x8": {"unit": "children", "n": 8}})
    row = verdict(audit_reference(ref), "y", "GRIM")      # 1/8 = 12.5% prints 12 only half to even
    assert row["verdict"] == CONSISTENT and "half to even" in row["reason"]
    ref["figures"][0]["pct"] = 13                         # 12.5% prints 13 only half up
    assert "only when rounding half up" in verdict(audit_reference(ref), "y", "GRIM")["reason"]


def test_parts_that_cannot_add_up():
    ref = {"populations": {"risk_coded_episodes": {"unit": "episodes", "n": 10}},
           "figures": [{"id": "high_share_of_coded", "population": "risk_coded_episodes", "pct": 10},
                       {"id": "medium_share_of_coded", "population": "risk_coded_episodes", "pct": 50},
                       {"id": "low_share_of_coded", "population": "risk_coded_episodes", "pct": 20}]}
    row = verdict(audit_reference(ref), "police risk of risk-coded episodes", "parts vs whole (sum)")
    assert row["verdict"] == INCONSISTENT and row["possible"] == "8"


def test_overlap_that_falls_short_and_subsets_larger_than_their_whole():
    ref = {"populations": {"rhi_children": {"unit": "children", "n": 20}, "rhi_episodes_all": {"n": 10},
                           "rhi_episodes_medium_low": {"n": 12}},
           "figures": [{"id": "cohort_looked_after", "population": "rhi_children", "count": 5},
                       {"id": "cohort_open_to_services", "population": "rhi_children", "count": 5},
                       {"id": "cohort_not_known", "population": "rhi_children", "count": 5}]}
    table = audit_reference(ref)
    assert verdict(table, "cohorts of RHI children", "parts vs whole (overlap)")["verdict"] == INCONSISTENT  # 15 < 20
    row = verdict(table, "medium/low RHI episodes among all RHI episodes", "parts vs whole (within)")
    assert row["verdict"] == INCONSISTENT and "larger than its whole (10)" in row["reason"]
    ref["populations"]["kids"] = {"unit": "episodes", "n": 3, "children": 4}
    assert verdict(audit_reference(ref), "kids", "children within episodes")["verdict"] == IMPOSSIBLE


@pytest.mark.parametrize("words, low, high", [
    ("one in four", 20, 30), ("1 in 4", 20, 30), ("Two in five", 35, 45), ("half", 45, 55),
    ("nearly one in four", 20, 25), ("almost two in three", 61.67, 66.67), ("just over a third", 33.33, 38.33),
    ("fewer than one in four", 0, 25), ("over half", 50, 100), ("around one in eight", 7.5, 17.5)])
def test_words_are_read_as_a_range(words, low, high):
    meaning = parse_words(words)
    assert float(meaning.low * 100) == pytest.approx(low, abs=0.01)
    assert float(meaning.high * 100) == pytest.approx(high, abs=0.01)


def test_words_against_numbers():
    assert parse_words("one in four")[0] == pytest.approx(0.25)
    assert parse_words("most of them") is None and parse_words("five in four") is None
    ref = hand([{"id": "w", "population": "whole", "pct": 41, "words": "one in four"},      # the report's oddity
                {"id": "v", "population": "whole", "pct": 30, "words": "one in four"},      # 25 + 5 points
                {"id": "u", "population": "whole", "pct": 30, "words": "nearly one in four"},
                {"id": "t", "population": "whole", "pct": 20, "words": "fewer than one in four"},
                {"id": "s", "population": "whole", "pct": 50, "words": "most of them"}],
               {"whole": {"unit": "children", "n": 100}})
    table = audit_reference(ref)
    row = verdict(table, "w", "words vs number")
    assert row["verdict"] == INCONSISTENT and "20.0% to 30.0%" in row["reason"]
    assert verdict(table, "v", "words vs number")["verdict"] == CONSISTENT
    assert verdict(table, "u", "words vs number")["verdict"] == INCONSISTENT
    assert verdict(table, "t", "words vs number")["verdict"] == CONSISTENT
    assert verdict(table, "s", "words vs number")["verdict"] == NOT_TESTABLE
    assert set(inconsistent_figures(ref)) == {"w", "u"}


def test_cli_table_json_and_clean_errors(tmp_path):
    runner = CliRunner()
    path = tmp_path / "ref.yaml"
    path.write_text(yaml.safe_dump(REFERENCE))
    result = runner.invoke(app, ["audit-figures", str(path), "--json"])
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert any(c["figure"] == "high_share_of_coded" and c["verdict"] == INCONSISTENT for c in out["checks"])
    assert "74 of 74 percentages have no 'words' field" in out["notes"][0]
    result = runner.invoke(app, ["audit-figures", str(path)])
    assert result.exit_code == 0 and "high_share_of_coded" in result.output and "'words' field" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("figures: [\n  {id: a, pct: 3\n")
    for target, expected in ((bad, "not valid YAML"), (tmp_path / "missing.yaml", "no such file"),
                             (tmp_path, "a folder, not a YAML file")):
        result = runner.invoke(app, ["audit-figures", str(target)])
        assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output
    nofig = tmp_path / "nofig.yaml"
    nofig.write_text("populations: {}\n")
    assert "'figures' list" in runner.invoke(app, ["audit-figures", str(nofig)]).output
    text_pct = tmp_path / "text.yaml"
    text_pct.write_text("figures:\n  - {id: a, population: p, pct: 'about 30'}\n")
    result = runner.invoke(app, ["audit-figures", str(text_pct)])
    assert result.exit_code == 1 and "figure a: pct must be a number" in result.output and "Traceback" not in result.output


def test_the_audit_runs_once_per_reference_content_and_hands_out_copies():
    """A batch kernel asks for the same reference's inconsistencies in every report: the answer is kept per
    content, so a changed reference is audited afresh and a caller changing its answer changes no other's."""
    import copy

    from analysis.reference.audit import inconsistent_figures
    from analysis.reference.compare import audit_inconsistencies

    reference = load_reference()
    first = audit_inconsistencies(reference)
    assert first == inconsistent_figures(reference) and "high_share_of_coded" in first
    first.clear()
    assert audit_inconsistencies(reference) == inconsistent_figures(reference)
    fixed = copy.deepcopy(reference)
    figure = next(f for f in fixed["figures"] if f["id"] == "high_share_of_coded")
    figure["pct"] = 3.4                                    # 51 of 1,490 is 3.4%: no longer inconsistent
    assert "high_share_of_coded" not in audit_inconsistencies(fixed)
    assert "high_share_of_coded" in audit_inconsistencies(reference)
