"""Rules whose boundary no test used to sit on, each worked by hand on a dataset where the wrong rule gives
a different number (issue 29: each of these mutations survived, or was caught only by data calibrated to the
study's own figures):

- DfE 903 rule 586: a missing period may not start on the child's date of birth (only after it);
- a child's age in whole years on the birthday itself (born 2005-09-01: 18 on 2023-09-01, not 17);
- a child's status among all missing children: looked after ranks above open to services.

And the boundaries of docs/definitions.md that a survey of one-line mutations found no hand-worked test
on (each mutation now fails a test here): 15 or more episodes (exactly 15 counts), an RHI completed the
minute its episode ended (not before it), an override with full consent (counts as partial or override),
two RHIs (more than one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from builders import child, episode, load
from typer.testing import CliRunner

from analysis.cli import app
from analysis.dataset.validate import SET_ASIDE_ADULT, age_in_years
from analysis.definitions.figures import compute_figures
from analysis.definitions.populations import Params, Populations
from analysis.disclosure import Disclosure
from analysis.importers.pseudonymise import ENV_VAR

KEY = "9f591fcac152c058f016d7f2211af836ee066cb125b056fef3fc099e7a849b52"
FULL = Path(__file__).parent / "fixtures" / "import" / "ssda903" / "full"
runner = CliRunner()


# --- DfE 903 rule 586 --------------------------------------------------------------------------

def import_903(tmp_path, monkeypatch, missing_row: str):
    """The full fixture's Header and Episodes with one Missing row (903102: in care from 01/06/2023)."""
    monkeypatch.setenv(ENV_VAR, KEY)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("Header.csv", "Episodes.csv"):
        shutil.copy(FULL / name, src / name)
    (src / "Missing.csv").write_text("CHILD,DOB,MISSING,MIS_START,MIS_END\n" + missing_row + "\n")
    return runner.invoke(app, ["import", "ssda903", str(src), "--out", str(tmp_path / "out"), "--la-code",
                               "E09000002"])


def test_rule_586_refuses_a_start_on_the_date_of_birth(tmp_path, monkeypatch):
    # DOB (in the Missing row) 21/07/2023 and MIS_START 21/07/2023: "on or before" the date of birth.
    result = import_903(tmp_path, monkeypatch, "903102,21/07/2023,M,21/07/2023,22/07/2023")
    assert result.exit_code == 1
    assert "Missing.csv, row 2, column MIS_START: value '21/07/2023'" in result.output
    assert "[DfE 903 rule 586]" in result.output


def test_rule_586_accepts_a_start_the_day_after_the_date_of_birth(tmp_path, monkeypatch):
    result = import_903(tmp_path, monkeypatch, "903102,20/07/2023,M,21/07/2023,22/07/2023")
    assert "rule 586" not in result.output
    assert result.exit_code == 0, result.output


# --- age on the birthday -----------------------------------------------------------------------

def test_age_in_whole_years_changes_on_the_birthday_itself():
    born = pd.Series(pd.to_datetime(["2005-09-01"] * 3))
    when = pd.Series(pd.to_datetime(["2023-08-31 23:59", "2023-09-01 00:00", "2023-09-02 00:00"]))
    assert list(age_in_years(born, when)) == [17, 18, 18]


def test_an_episode_on_the_18th_birthday_is_set_aside_and_one_the_day_before_is_not(tmp_path):
    ds = load(tmp_path / "d", children=[child("k1", dob="2005-09-01")],
              episodes=[episode("before", "k1", "2023-08-31 20:00"), episode("on", "k1", "2023-09-01 08:00")])
    eps = ds.episodes.set_index("episode_id")
    assert list(eps["age"]) == [17, 18]
    assert pd.isna(eps.loc["before", "set_aside"]) and eps.loc["on", "set_aside"] == SET_ASIDE_ADULT
    assert list(Populations(ds, Params()).notified["episode_id"]) == ["before"]


def test_age_bands_change_on_the_11th_and_14th_birthdays(tmp_path):
    # Born 2006-09-01: 10 the day before the 11th birthday, 11 on it; 13 the day before the 14th, 14 on it.
    ds = load(tmp_path / "d", children=[child("k1", dob="2006-09-01")],
              episodes=[episode("a", "k1", "2017-08-31 20:00"), episode("b", "k1", "2017-09-01 20:00"),
                        episode("c", "k1", "2020-08-31 20:00"), episode("d", "k1", "2020-09-01 20:00")])
    profile = Populations(ds, Params()).in_scope_profile.set_index("episode_id")
    assert profile["age_band"].to_dict() == {"a": "10 or under", "b": "11-13", "c": "11-13", "d": "14-16"}


# --- looked after above open to services ------------------------------------------------------

def test_a_child_both_looked_after_and_open_to_services_counts_as_looked_after(tmp_path):
    """All missing children (every notified episode): a child's status is the most involved one.

    X: an episode while a child in need (open to services), then one while looked after. Y: child in need
    only. So X is looked after and Y open to services: 1 of the 2 missing children was looked after; X's two
    episodes make the looked-after missing children with two or more episodes 1 of 1, and the other missing
    children with two or more 0 of 1. Ranking open to services first would give 0 of 2, 0 of 0 and 1 of 2.
    """
    ds = load(tmp_path / "d", children=[child("X"), child("Y")],
              episodes=[episode("x1", "X", "2017-08-01 20:00", legal="child_in_need"),
                        episode("x2", "X", "2017-09-01 20:00", legal="looked_after"),
                        episode("y1", "Y", "2017-08-05 20:00", legal="child_in_need")])
    figures = compute_figures(ds, Params(), control=Disclosure(False, 5))["figures"]
    found = {k: (figures[k]["count"], figures[k]["denominator"])
             for k in ("children_missing_from_care", "lac_missing_2_plus", "other_missing_2_plus")}
    assert found == {"children_missing_from_care": (1, 2), "lac_missing_2_plus": (1, 1),
                     "other_missing_2_plus": (0, 1)}


@pytest.mark.parametrize("first, second", [("looked_after", "child_protection"), ("early_help", "looked_after")])
def test_the_order_of_the_episodes_does_not_change_the_status(tmp_path, first, second):
    ds = load(tmp_path / "d", children=[child("X")],
              episodes=[episode("x1", "X", "2017-08-01 20:00", legal=first),
                        episode("x2", "X", "2017-09-01 20:00", legal=second)])
    figures = compute_figures(ds, Params(), control=Disclosure(False, 5))["figures"]
    assert (figures["children_missing_from_care"]["count"], figures["children_missing_from_care"]["denominator"]) \
        == (1, 1)


# --- other boundaries of docs/definitions.md no test sat on ------------------------------------

def test_children_with_15_or_more_episodes_include_a_child_with_exactly_15(tmp_path):
    """H has 15 in-scope episodes, L 14: children with 15 or more are 1 of 2, their episodes 15 of 29."""
    episodes = [episode(f"h{i}", "H", f"2017-{1 + i // 28:02d}-{1 + i % 28:02d} 08:00") for i in range(15)]
    episodes += [episode(f"l{i}", "L", f"2017-{1 + i // 28:02d}-{1 + i % 28:02d} 09:00") for i in range(14)]
    ds = load(tmp_path / "d", children=[child("H"), child("L")], episodes=episodes)
    figures = compute_figures(ds, Params(), control=Disclosure(False, 5))["figures"]
    assert (figures["children_with_15_plus_episodes"]["count"],
            figures["children_with_15_plus_episodes"]["denominator"]) == (1, 2)
    assert (figures["episodes_of_children_with_15_plus"]["count"],
            figures["episodes_of_children_with_15_plus"]["denominator"]) == (15, 29)


def test_an_rhi_completed_the_minute_its_episode_ended_is_not_set_aside(tmp_path):
    """Soft rule: an RHI completed *before* the episode it addresses ended sets that link aside; at the same
    minute it is not before."""
    from builders import link, rhi

    ds = load(tmp_path / "d", children=[child("k1")],
              episodes=[episode("at", "k1", "2017-08-01 20:00", end="2017-08-02 10:00"),
                        episode("early", "k1", "2017-09-01 20:00", end="2017-09-02 10:00")],
              rhis=[rhi("r_at", "k1", completed_at="2017-08-02 10:00"),
                    rhi("r_early", "k1", completed_at="2017-09-02 09:59")],
              links=[link("r_at", "at"), link("r_early", "early")])
    kept = ds.rhi_episodes.set_index("rhi_id")["set_aside"]
    assert pd.isna(kept["r_at"]) and kept["r_early"] == "RHI completed before the episode it addresses ended"


def test_consent_partial_or_override_counts_an_override_with_full_consent(tmp_path):
    """Three RHI episodes: consent all + overridden (counts), partial (counts), all and not overridden (does
    not): 2 of 3. Without the override the first would not count (1 of 3)."""
    from builders import link, rhi

    ds = load(tmp_path / "d", children=[child("k1"), child("k2"), child("k3")],
              episodes=[episode("e1", "k1", "2017-08-01 20:00"), episode("e2", "k2", "2017-08-01 20:00"),
                        episode("e3", "k3", "2017-08-01 20:00")],
              rhis=[rhi("r1", "k1", completed_at="2017-08-04 10:00", consent_to_share="all",
                        confidentiality_overridden="yes"),
                    rhi("r2", "k2", completed_at="2017-08-04 10:00", consent_to_share="partial"),
                    rhi("r3", "k3", completed_at="2017-08-04 10:00", consent_to_share="all",
                        confidentiality_overridden="no")],
              links=[link("r1", "e1"), link("r2", "e2"), link("r3", "e3")])
    figure = compute_figures(ds, Params(), control=Disclosure(False, 5))["figures"]["consent_partial_or_override"]
    assert (figure["count"], figure["denominator"]) == (2, 3)


def test_children_with_more_than_one_rhi_include_a_child_with_exactly_two(tmp_path):
    """k1 has two in-scope RHIs, k2 one: 1 of 2 children."""
    from builders import link, rhi

    ds = load(tmp_path / "d", children=[child("k1"), child("k2")],
              episodes=[episode("a", "k1", "2017-08-01 20:00"), episode("b", "k1", "2017-09-01 20:00"),
                        episode("c", "k2", "2017-08-01 20:00")],
              rhis=[rhi("r1", "k1", completed_at="2017-08-04 10:00"), rhi("r2", "k1", completed_at="2017-09-04 10:00"),
                    rhi("r3", "k2", completed_at="2017-08-04 10:00")],
              links=[link("r1", "a"), link("r2", "b"), link("r3", "c")])
    figure = compute_figures(ds, Params(), control=Disclosure(False, 5))["figures"]["children_more_than_one_rhi"]
    assert (figure["count"], figure["denominator"]) == (1, 2)
