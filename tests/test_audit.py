"""The audit of published figures: verdicts on A Safer Return, and hand-built cases for each check."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from analysis.audit import (CONSISTENT, IMPOSSIBLE, INCONSISTENT, NOT_TESTABLE, OVERLAP, audit_reference,
                            inconsistent_figures, parse_words, possible_counts, rounds_to)
from analysis.cli import app
from analysis.compare import load_reference

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
    row = verdict(asr, "cohorts of RHI children", "parts vs whole")
    assert row["verdict"] == OVERLAP and "by at least 9" in row["reason"]


def test_medium_and_low_can_add_up_at_the_printed_precision(asr):
    # 92.5% of 1,490 must be 1,378; 4% allows 53 to 67: 1,378 + 61 = 1,439, so the split is possible.
    assert verdict(asr, "medium or low = medium + low", "parts vs whole")["verdict"] == CONSISTENT
    assert verdict(asr, "police risk of risk-coded episodes", "parts vs whole")["verdict"] == CONSISTENT


def test_children_figure_on_an_episode_population_uses_the_children(asr):
    row = verdict(asr, "high_children_missing_more_than_once", "count vs percentage")
    assert row["verdict"] == CONSISTENT and "of 42" in row["printed"]       # 23/42 = 54.8%


def test_every_other_testable_figure_passes(asr):
    assert set(inconsistent_figures(REFERENCE)) == {"high_share_of_coded"}
    grim = asr[asr["check"] == "GRIM"]
    assert (grim["verdict"] == IMPOSSIBLE).sum() == 0
    assert verdict(asr, "cse_victim", "GRIM")["verdict"] == CONSISTENT            # 14% of 214: 29 or 30
    assert verdict(asr, "children_missing_from_care", "GRIM")["verdict"] == NOT_TESTABLE


# --- the checks by hand ----------------------------------------------------------------------------

def test_rounding_modes_exactly_at_half():
    assert rounds_to(1, 8, 13, 0)                       # 12.5 -> 13 half up
    assert not rounds_to(1, 8, 13, 0, "half_even")      # 12.5 -> 12 half to even
    assert rounds_to(1, 8, 12, 0, "half_even")
    assert possible_counts(33, 7, 0) == []              # 2/7 = 28.6%, 3/7 = 42.9%
    assert possible_counts(92.5, 1490, 1) == [1378]


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


def test_parts_that_cannot_add_up():
    ref = {"populations": {"risk_coded_episodes": {"unit": "episodes", "n": 10}},
           "figures": [{"id": "high_share_of_coded", "population": "risk_coded_episodes", "pct": 10},
                       {"id": "medium_share_of_coded", "population": "risk_coded_episodes", "pct": 50},
                       {"id": "low_share_of_coded", "population": "risk_coded_episodes", "pct": 20}]}
    row = verdict(audit_reference(ref), "police risk of risk-coded episodes", "parts vs whole")
    assert row["verdict"] == INCONSISTENT and row["possible"] == "parts sum to 8"


def test_words_against_numbers():
    assert parse_words("one in four")[0] == pytest.approx(0.25)
    assert parse_words("half")[0] == pytest.approx(0.5)
    assert parse_words("most of them") is None
    ref = hand([{"id": "w", "population": "whole", "pct": 40, "words": "one in four"},
                {"id": "v", "population": "whole", "pct": 30, "words": "one in four"}])
    table = audit_reference(ref)
    assert verdict(table, "w", "words vs number")["verdict"] == INCONSISTENT
    assert verdict(table, "v", "words vs number")["verdict"] == CONSISTENT   # 1/4 +- 1/8 covers 30%


def test_cli_table_json_and_clean_errors(tmp_path):
    runner = CliRunner()
    path = tmp_path / "ref.yaml"
    path.write_text(yaml.safe_dump(REFERENCE))
    result = runner.invoke(app, ["audit-figures", str(path), "--json"])
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert any(c["figure"] == "high_share_of_coded" and c["verdict"] == INCONSISTENT for c in out["checks"])
    text = runner.invoke(app, ["audit-figures", str(path)]).output
    assert "high_share_of_coded" in text and "words" in text
    bad = tmp_path / "bad.yaml"
    bad.write_text("figures: [\n  {id: a, pct: 3\n")
    for target, expected in ((bad, "not valid YAML"), (tmp_path / "missing.yaml", "no such file")):
        result = runner.invoke(app, ["audit-figures", str(target)])
        assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output
    nofig = tmp_path / "nofig.yaml"
    nofig.write_text("populations: {}\n")
    assert "'figures' list" in runner.invoke(app, ["audit-figures", str(nofig)]).output
